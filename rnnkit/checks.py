"""Argument validators shared by layers, data, models, training and the pipeline facades.

Every check names the argument in backticks, says what was expected and what was received,
and raises `ValueError` for a bad value or `TypeError` for a bad type. Checks that convert
(`as_text_list`, `as_token_lists`, `as_labels`, `as_tagged_sentences`, `as_images`,
`as_reference_lists`, `check_rate`) return the converted value.

Example:
>>> from rnnkit import checks
>>> checks.is_int(3, minimum=1), checks.is_int(True)
(True, False)
>>> checks.as_text_list(("a", b"b"), "texts")
['a', 'b']
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Hashable, Iterable, Sequence
from typing import Any

__all__ = [
    "as_images",
    "as_labels",
    "as_reference_lists",
    "as_tagged_sentences",
    "as_text_list",
    "as_token_lists",
    "check_bool",
    "check_callbacks",
    "check_choice",
    "check_embeddings_path",
    "check_fraction",
    "check_learning_rate",
    "check_number",
    "check_positive_int",
    "check_rate",
    "check_same_length",
    "check_seed",
    "check_units",
    "check_vocabulary_size",
    "is_int",
]


def is_int(value: Any, minimum: int | None = None) -> bool:
    """Whether `value` is an integer (Python or NumPy, not a bool), and at least `minimum`.

    Example:
    >>> is_int(3, minimum=1), is_int(0, minimum=1), is_int(True), is_int(2.0)
    (True, False, False, False)
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        return False
    return minimum is None or value >= minimum


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def as_text_list(values: Any, name: str) -> list[str]:
    """Validates a 1-D collection of strings (list, tuple, NumPy array, pandas Series).

    `bytes` items are decoded as UTF-8; an item that is not valid UTF-8 is refused with its
    index (`texts[3]`).
    """
    if isinstance(values, str | bytes):
        raise TypeError(
            f"`{name}` must be a list of strings, got a single {type(values).__name__}; "
            f"wrap it in a list: [{values!r:.40}]."
        )
    if hasattr(values, "tolist") and not isinstance(values, list):  # NumPy arrays, pandas Series
        values = values.tolist()
    if values is None or not isinstance(values, Iterable):
        raise TypeError(
            f"`{name}` must be a list, tuple, NumPy array or pandas Series of strings, got "
            f"{type(values).__name__}."
        )
    out = []
    for i, value in enumerate(values):
        if isinstance(value, bytes):
            try:
                value = value.decode("utf-8")
            except UnicodeDecodeError as err:
                raise ValueError(
                    f"`{name}[{i}]` is not valid UTF-8 ({err.reason} at byte {err.start}); "
                    "decode it with the right encoding first."
                ) from None
        if not isinstance(value, str):
            raise TypeError(
                f"`{name}[{i}]` must be a string, got {type(value).__name__} ({value!r:.60}); "
                "convert missing values (None/NaN) to strings or drop them first."
            )
        out.append(value)
    return out


def as_images(images: Any, name: str) -> Any:
    """Validates RGB images: a `uint8` array `[N, H, W, 3]` or a list of equal-shaped `[H, W, 3]`.

    Returns the `np.ndarray`; a wrong rank or channel count, a zero height or width, or
    images of different shapes are a `ValueError`, another dtype a `TypeError`.

    Example:
    >>> import numpy as np
    >>> as_images([np.zeros((2, 3, 3), np.uint8)], "images").shape
    (1, 2, 3, 3)
    """
    import numpy as np

    if isinstance(images, list | tuple):
        shapes = {np.shape(x) for x in images}
        if len(shapes) > 1:
            raise ValueError(
                f"`{name}` holds images of different shapes {sorted(shapes)[:3]}: resize them "
                "to one size first (e.g. `rnnkit.data.load_images(paths, size)`)."
            )
        images = np.stack([np.asarray(x) for x in images]) if images else np.zeros((0, 1, 1, 3))
    if not isinstance(images, np.ndarray):
        raise TypeError(f"`{name}` must be a uint8 array of images, got {type(images).__name__}.")
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(
            f"`{name}` must have shape [N, height, width, 3] (RGB), got {images.shape}; for one "
            "image pass `image[None]`, for grey images `np.repeat(images[..., None], 3, -1)`."
        )
    if images.dtype != np.uint8:
        raise TypeError(
            f"`{name}` must be uint8 (0-255), got {images.dtype}; for floats in [0, 1] pass "
            "`(images * 255).round().astype('uint8')`."
        )
    if 0 in images.shape[1:3]:
        raise ValueError(f"`{name}` has zero height or width ({images.shape}).")
    return images


def as_reference_lists(values: Any, name: str) -> list[list[str]]:
    """Validates one text (`str`) or several (a list of `str`) per example; returns lists.

    Example:
    >>> as_reference_lists(["a cat", ["a dog", "one dog"]], "captions")
    [['a cat'], ['a dog', 'one dog']]
    """
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise TypeError(f"`{name}` must be a list with one text or a list of texts per example.")
    out = []
    for i, item in enumerate(values):
        texts = [item] if isinstance(item, str) else item
        texts = list(texts) if isinstance(texts, Iterable) else None
        if not texts or not all(isinstance(t, str) and t.strip() for t in texts):
            raise ValueError(
                f"`{name}[{i}]` must be a non-empty text or a non-empty list of texts, got "
                f"{item!r:.80}."
            )
        out.append(texts)
    return out


def as_token_lists(values: Any, name: str) -> list[list[str]]:
    """Validates a collection of token lists (each a list of strings)."""
    if isinstance(values, str | bytes):
        raise TypeError(f"`{name}` must be a list of token lists, got a single string.")
    if hasattr(values, "tolist") and not isinstance(values, list):
        values = values.tolist()
    if values is None or not isinstance(values, Iterable):
        raise TypeError(f"`{name}` must be a list of token lists, got {type(values).__name__}.")
    out = []
    for i, tokens in enumerate(values):
        if isinstance(tokens, str | bytes):
            raise TypeError(
                f"`{name}[{i}]` must be a list of tokens, got a string ({tokens!r:.60}); "
                "split it into tokens first."
            )
        out.append(as_text_list(tokens, f"{name}[{i}]"))
    return out


def as_labels(values: Any, name: str) -> list:
    """Validates a 1-D collection of class labels (hashable values; NaN refused).

    NumPy arrays and pandas Series give plain Python values (`np.int64(1)` becomes `1`);
    object arrays keep their very objects.

    Example:
    >>> as_labels(("pos", "neg"), "labels")
    ['pos', 'neg']
    >>> as_labels([1.0, float("nan")], "labels")
    Traceback (most recent call last):
    ...
    ValueError: `labels[1]` is NaN: a missing label is not a class; drop the example or give it a label.
    """
    if isinstance(values, str | bytes):
        raise TypeError(
            f"`{name}` must be a list of labels, got a single string: wrap it in a list."
        )
    if hasattr(values, "tolist") and not isinstance(values, list):
        values = values.tolist()
        if not isinstance(values, list):
            raise TypeError(f"`{name}` must be a list of labels, got a scalar ({values!r:.60}).")
    if values is None or not isinstance(values, Iterable):
        raise TypeError(f"`{name}` must be a list of labels, got {type(values).__name__}.")
    values = list(values)
    for i, value in enumerate(values):
        if not isinstance(value, Hashable):
            raise TypeError(
                f"`{name}[{i}]` must be hashable (str, int, ...), got {type(value).__name__} "
                f"({value!r:.60})."
            )
        if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral):
            if math.isnan(value):
                raise ValueError(
                    f"`{name}[{i}]` is NaN: a missing label is not a class; drop the example "
                    "or give it a label."
                )
    return values


def as_tagged_sentences(
    token_lists: Any,
    tag_lists: Any | None,
    token_name: str = "token_lists",
    tag_name: str = "tag_lists",
) -> tuple[list[list[str]], list[list[str]] | None]:
    """Validates tokenised sentences and (unless `tag_lists` is None) one tag per token.

    Every token must hold a non-space character; with tags, there must be at least one
    sentence and as many tags as tokens in each.

    Returns:
        `(tokens, tags)` as lists of lists of `str` (`tags` None when not given).

    Example:
    >>> as_tagged_sentences([["Ann", "ran"]], [["B-PER", "O"]])
    ([['Ann', 'ran']], [['B-PER', 'O']])
    >>> as_tagged_sentences([["Ann", " "]], None)
    Traceback (most recent call last):
    ...
    ValueError: `token_lists[0][1]` is ' ': tokens must hold at least one non-space character. Drop empty tokens before tagging.
    """
    tokens = as_token_lists(token_lists, token_name)
    for i, sentence in enumerate(tokens):
        for j, token in enumerate(sentence):
            if not token.strip():
                raise ValueError(
                    f"`{token_name}[{i}][{j}]` is {token!r}: tokens must hold at least one "
                    "non-space character. Drop empty tokens before tagging."
                )
    if tag_lists is None:
        return tokens, None
    tags = as_token_lists(tag_lists, tag_name)
    if len(tokens) != len(tags):
        raise ValueError(
            f"`{token_name}` and `{tag_name}` must hold the same number of sentences, got "
            f"{len(tokens)} and {len(tags)}."
        )
    if not tokens:
        raise ValueError(f"`{token_name}` is empty: pass at least one sentence.")
    for i, (sentence, sentence_tags) in enumerate(zip(tokens, tags, strict=True)):
        if len(sentence) != len(sentence_tags):
            raise ValueError(
                f"Sentence {i}: `{token_name}[{i}]` has {len(sentence)} tokens but "
                f"`{tag_name}[{i}]` has {len(sentence_tags)} tags; give one tag per token."
            )
    return tokens, tags


def check_same_length(a: Sequence, b: Sequence, name_a: str, name_b: str) -> None:
    """Two collections of the same, non-zero length."""
    if len(a) != len(b):
        raise ValueError(
            f"`{name_a}` and `{name_b}` must have the same length, got {len(a)} and {len(b)}."
        )
    if len(a) == 0:
        raise ValueError(f"`{name_a}` is empty: pass at least one example.")


def check_choice(value: Any, name: str, choices: Sequence[Any]) -> Any:
    """One of `choices`; returns it."""
    try:
        ok = value in choices
    except TypeError:  # unhashable values against a set
        ok = False
    if not ok:
        raise ValueError(f"`{name}` must be one of {list(choices)}, got {value!r}.")
    return value


def check_positive_int(value: Any, name: str, *, allow_none: bool = False) -> None:
    """A positive integer (or None, with `allow_none`)."""
    if value is None and allow_none:
        return
    if not is_int(value, minimum=1):
        extra = " or None" if allow_none else ""
        raise ValueError(f"`{name}` must be a positive integer{extra}, got {value!r}.")


def check_units(units: Any, example: str = "units=64") -> None:
    """The size of a layer's hidden state: a positive integer."""
    if not is_int(units, minimum=1):
        raise ValueError(
            f"`units` must be a positive integer. Received: units={units!r}. "
            f"Pass the size of the hidden state, e.g. `{example}`."
        )


def check_fraction(
    value: Any, name: str, *, upper_inclusive: bool = False, lower_inclusive: bool = True
) -> float:
    """A number in [0, 1) (bounds as set); returns it as a float."""
    ok = _is_real(value) and not math.isnan(value)
    ok = ok and (0.0 <= value if lower_inclusive else 0.0 < value)
    ok = ok and (value <= 1.0 if upper_inclusive else value < 1.0)
    if not ok:
        low = "[" if lower_inclusive else "("
        high = "]" if upper_inclusive else ")"
        raise ValueError(f"`{name}` must be a number in {low}0, 1{high}, got {value!r}.")
    return float(value)


def check_rate(value: Any, name: str) -> float:
    """A dropout rate in [0, 1]; returns it as a float."""
    if not _is_real(value) or not 0 <= value <= 1:
        raise ValueError(
            f"`{name}` must be a float in [0, 1]. Received: {name}={value!r}. "
            f"Pass the fraction of units to drop, e.g. `{name}=0.2`."
        )
    return float(value)


def check_bool(value: Any, name: str) -> None:
    """True or False (NumPy booleans too)."""
    import numpy as np

    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"`{name}` must be True or False, got {value!r}.")


def check_number(value: Any, name: str, *, minimum: float = 0.0, strict: bool = True) -> None:
    """A finite real number above `minimum` (or at least `minimum` when `strict=False`)."""
    ok = _is_real(value) and math.isfinite(value)
    ok = ok and (value > minimum if strict else value >= minimum)
    if not ok:
        sign = ">" if strict else ">="
        raise ValueError(f"`{name}` must be a finite number {sign} {minimum}, got {value!r}.")


# Adam with a rate above this diverges on every model rnnkit trains (typical: 1e-4 to 1e-2).
MAX_LEARNING_RATE = 1.0


def check_learning_rate(value: Any, name: str = "learning_rate") -> float:
    """A finite learning rate in (0, 1]; returns it as a float.

    Example:
    >>> check_learning_rate(2e-3)
    0.002
    """
    if not (_is_real(value) and math.isfinite(value) and 0 < value <= MAX_LEARNING_RATE):
        raise ValueError(
            f"`{name}` must be a finite number in (0, {MAX_LEARNING_RATE:g}], got {value!r}: "
            "training diverges to NaN or garbage beyond that. Typical rates are 1e-4 to 1e-2, "
            f"e.g. `{name}=1e-3`."
        )
    return float(value)


def check_seed(value: Any, name: str = "seed") -> int | None:
    """None, or an integer seed in [0, 2**32 - 1] (what NumPy and scikit-learn accept).

    Example:
    >>> check_seed(7), check_seed(None)
    (7, None)
    """
    if value is None:
        return None
    if not is_int(value) or not 0 <= value < 2**32:
        raise ValueError(
            f"`{name}` must be None or an integer in [0, 2**32 - 1], got {value!r:.60}; "
            f"pass e.g. `{name}=0` for reproducible runs or `{name}=None`."
        )
    return int(value)


def check_callbacks(callbacks: Any) -> None:
    """None or a list of `keras.callbacks.Callback` instances."""
    import keras

    if callbacks is not None and (
        isinstance(callbacks, str | bytes)
        or not isinstance(callbacks, Iterable)
        or not all(isinstance(cb, keras.callbacks.Callback) for cb in callbacks)
    ):
        raise TypeError("`callbacks` must be a list of `keras.callbacks.Callback` instances.")


def check_embeddings_path(path: Any, name: str = "pretrained_embeddings") -> None:
    """None, or the path of an existing GloVe/word2vec text file."""
    if path is None:
        return
    if not isinstance(path, str | os.PathLike):
        raise TypeError(
            f"`{name}` must be the path of a GloVe/word2vec text file, got {type(path).__name__}."
        )
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"`{name}` {os.fspath(path)!r} does not exist; pass the path of a GloVe/word2vec "
            "text file, or None."
        )


def check_vocabulary_size(value: Any, name: str) -> None:
    """A vocabulary size: ids 0-3 are reserved, so at least 5 leaves one real word."""
    check_positive_int(value, name)
    if value < 5:
        raise ValueError(
            f"`{name}` must be >= 5 (ids 0-3 are reserved for padding, [UNK], [START] and "
            f"[END], plus at least one word), got {value}."
        )
