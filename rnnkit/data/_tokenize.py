"""A word-and-punctuation tokeniser with character offsets, and its TensorFlow twin.

`tokenize_with_offsets` (Python) and `tokenize_in_graph` (TensorFlow, for exported models)
split text the same way: whitespace (what Python's `str.isspace` calls so: the controls
\\t\\n\\v\\f\\r, \\x1c-\\x1f, \\x85 and every Unicode separator, category Z*) separates tokens; a token is a run of letters, digits, combining marks
(categories L*, N*, M*) and "_", or any other single character (punctuation, symbols, emoji);
a "@" or "#" right before a word starts that word, and "http://" or "https://" starts a token
that runs to the next space, so @mentions, #hashtags and links stay whole, as in tweet corpora
(WNUT). The test suite checks that the two agree.
"""

from __future__ import annotations

import unicodedata

import tensorflow as tf

__all__ = ["tokenize_in_graph", "tokenize_with_offsets"]

_WHITESPACE = "\t\n\v\f\r\x1c\x1d\x1e\x1f\x85"
_TF_SPACES = r"[\t\n\v\f\r\x1c-\x1f\x{85}\p{Z}]+"
_TF_SINGLE = r"(https?://[^ ]*|[@#][\p{L}\p{N}\p{M}_]+|[^\p{L}\p{N}\p{M}_ ])"
_PREFIXES = "@#"


def _char_class(char: str) -> str:
    if char in _WHITESPACE or unicodedata.category(char).startswith("Z"):
        return "space"
    if char == "_" or unicodedata.category(char)[0] in "LNM":
        return "word"
    return "single"


def tokenize_with_offsets(text: str) -> list[tuple[str, int, int]]:
    """Splits `text` into word and punctuation tokens with character offsets.

    Args:
        text: one sentence.

    Returns:
        `(token, start, end)` triples with `text[start:end] == token`.

    Example:
    >>> tokenize_with_offsets("I saw N.Y.!")
    [('I', 0, 1), ('saw', 2, 5), ('N', 6, 7), ('.', 7, 8), ('Y', 8, 9), ('.', 9, 10), ('!', 10, 11)]
    >>> [token for token, _, _ in tokenize_with_offsets("@rnnkit ships #CRF:")]
    ['@rnnkit', 'ships', '#CRF', ':']
    """
    tokens = []
    start = None
    link_end = -1
    for i, char in enumerate(text):
        if i < link_end:
            continue
        kind = _char_class(char)
        if text.startswith(("http://", "https://"), i):
            if start is not None:
                tokens.append((text[start:i], start, i))
                start = None
            link_end = i
            while link_end < len(text) and _char_class(text[link_end]) != "space":
                link_end += 1
            tokens.append((text[i:link_end], i, link_end))
            continue
        if char in _PREFIXES and i + 1 < len(text) and _char_class(text[i + 1]) == "word":
            if start is not None:
                tokens.append((text[start:i], start, i))
            start = i
            continue
        if kind == "word":
            if start is None:
                start = i
            continue
        if start is not None:
            tokens.append((text[start:i], start, i))
            start = None
        if kind == "single":
            tokens.append((char, i, i + 1))
    if start is not None:
        tokens.append((text[start:], start, len(text)))
    return tokens


def tokenize_in_graph(texts: tf.Tensor) -> tf.Tensor:
    """Tokenises `tf.string [B]` texts like `tokenize_with_offsets`, in the TensorFlow graph.

    Args:
        texts: a `tf.string` tensor of shape `[B]`.

    Returns:
        `tf.string [B, T]`: the tokens of each text, padded with `""` (`T` may be 0).

    Example:
    >>> import tensorflow as tf
    >>> tokenize_in_graph(tf.constant(["Hi, Ann!", "ok"])).numpy().tolist()
    [[b'Hi', b',', b'Ann', b'!'], [b'ok', b'', b'', b'']]
    """
    spaced = tf.strings.regex_replace(texts, _TF_SPACES, " ")
    spaced = tf.strings.regex_replace(spaced, _TF_SINGLE, r" \1 ")
    return tf.strings.split(spaced).to_tensor("")
