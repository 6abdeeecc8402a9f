"""`TextVectorizer`: strings to right-padded id tensors, in pure TensorFlow ops.

Because every step (standardise, split, look up, pad) is a TF op, the layer runs the same inside
`tf.data.Dataset.map`, inside a `keras.Model`, and inside an exported SavedModel that takes raw
strings. `adapt` reuses the very same TF tokenisation (one batched call per chunk) and counts in
Python, so the learned vocabulary always matches what `call` produces.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from rnnkit.checks import is_int
from rnnkit.data import _subwords

PAD, OOV, START, END = "", "[UNK]", "[START]", "[END]"
RESERVED = (PAD, OOV, START, END)
PAD_ID, OOV_ID, START_ID, END_ID = 0, 1, 2, 3

_LEVELS = ("word", "subword", "char")
_STANDARDIZE = ("lower_punct", "lower")
_ADAPT_CHUNK = 65536

# Unicode punctuation and symbols (`¿`, `¡`, `«`, `$`, `+`, ...): "lower_punct" puts spaces
# around each so they become tokens of their own; letters of any script stay intact.
_PUNCT = r"([\pP\pS])"
_SPACES = r"[\s\pZ\v]+"


def _lower(text: tf.Tensor) -> tf.Tensor:
    return tf.strings.lower(text, encoding="utf-8")


def _split_words(text: tf.Tensor) -> tf.RaggedTensor:
    # Every Unicode space (no-break space, ideographic space, ...) separates words.
    return tf.strings.split(tf.strings.regex_replace(text, _SPACES, " "))


@keras.saving.register_keras_serializable(package="rnnkit")
class TextVectorizer(keras.layers.Layer):
    """Maps strings to right-padded integer ids, at word, subword or character level, in the graph.

    Reserved ids are fixed: 0 is padding (`""`), 1 is out-of-vocabulary (`"[UNK]"`), 2 is
    `"[START]"` and 3 is `"[END]"`; learned tokens follow from id 4, most frequent first, ties
    broken by code-point order. Inputs may be:
    - raw strings, shape `[B]` (or a scalar): standardised, then split on Unicode whitespace;
    - pre-tokenised tokens, a `tf.RaggedTensor` of strings `[B, None]` or a dense string tensor
      `[B, T]` padded with `""`: tokens are standardised one by one and never split.

    At `level="subword"`, `adapt` learns pieces of words by byte-pair encoding (Sennrich et al.,
    2016) within `max_tokens`: frequent words stay whole, rare ones are split (`"disentería"` ->
    `"disen" "##ter" "##ía"`; `##` marks a piece that continues a word), and a word never seen
    still gets pieces instead of `[UNK]` (down to single characters; only a character never
    seen in `adapt` is `[UNK]`). `call` splits each word into the longest pieces of the
    vocabulary, left to right, in TF ops; `decode` joins the pieces back into words.

    Outputs are `int32`, right-padded with 0: `[B, T]` for words or raw strings at character
    level, `[B, T, C]` (character ids per token) for pre-tokenised input at character level.
    At subword level every position is a piece (`[B, T]` for raw strings and tokens alike).
    The vocabulary is part of `get_config()`, so `.keras` files restore it. Call `adapt` (or
    pass `vocabulary`) before using the layer in a `tf.data` pipeline or a model: graphs traced
    earlier keep the vocabulary they were traced with.

    Standardisation:
    - `"lower_punct"`: Unicode lower-casing, plus spaces around punctuation and symbols at word
      and subword level (`"¿Dónde está?"` -> `"¿ dónde está ?"`); at character level and for
      pre-tokenised input only the lower-casing applies (tokens are never split);
    - `"lower"`: Unicode lower-casing only; `None`: none;
    - a callable mapping a `tf.string` tensor to one of the same shape (register it with
      `keras.saving.register_keras_serializable` to save the layer).

    Args:
        level: `"word"`, `"subword"` or `"char"`.
        max_tokens: largest vocabulary size, the 4 reserved ids included (so it can be the
            `input_dim` of an `Embedding`); `None` keeps every token.
        min_frequency: tokens seen fewer times than this in `adapt` are out of vocabulary (at
            subword level: pairs of pieces seen fewer times are not merged, at least 2).
        standardize: `"lower_punct"`, `"lower"`, `None` or a callable (see above).
        output_sequence_length: pad or truncate every output to this many positions; `None`
            pads to the longest sequence of the batch.
        start_end: wrap every sequence in `[START]` ... `[END]` (ids 2 and 3). With
            `output_sequence_length`, tokens are truncated so both always fit.
        max_chars_per_token: for pre-tokenised input at character level, pad or truncate each
            token to this many characters; `None` pads to the longest token of the batch.
        vocabulary: a learned vocabulary to start from (a list of tokens, with or without the
            reserved tokens at its head), as returned by `get_vocabulary()`.
        **kwargs: base `keras.layers.Layer` arguments (`name`, ...).

    Example:
    >>> vec = TextVectorizer()
    >>> vec.adapt(["The cat sat.", "The dog!"])
    >>> vec.get_vocabulary()
    ['', '[UNK]', '[START]', '[END]', 'the', '!', '.', 'cat', 'dog', 'sat']
    >>> vec(tf.constant(["the dog sat", "a cat"])).numpy().tolist()
    [[4, 8, 9], [1, 7, 0]]
    >>> vec.decode([[4, 8, 9], [1, 7, 0]]).numpy().tolist()
    [b'the dog sat', b'[UNK] cat']
    """

    def __init__(
        self,
        level: str = "word",
        max_tokens: int | None = None,
        min_frequency: int = 1,
        standardize: str | Callable | None = "lower_punct",
        output_sequence_length: int | None = None,
        start_end: bool = False,
        max_chars_per_token: int | None = None,
        vocabulary: Iterable[str] | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if level not in _LEVELS:
            raise ValueError(f"`level` must be one of {list(_LEVELS)}; received {level!r}.")
        if max_tokens is not None and not is_int(max_tokens, minimum=5):
            raise ValueError(
                "`max_tokens` must be None or an int >= 5 (4 reserved ids + at least one "
                f"token); received {max_tokens!r}."
            )
        if not is_int(min_frequency):
            raise TypeError(f"`min_frequency` must be an int; received {min_frequency!r}.")
        if min_frequency < 1:
            raise ValueError(f"`min_frequency` must be >= 1; received {min_frequency}.")
        if isinstance(standardize, dict):  # a serialised callable from get_config()
            standardize = keras.saving.deserialize_keras_object(standardize)
        if not (standardize is None or standardize in _STANDARDIZE or callable(standardize)):
            raise ValueError(
                f"`standardize` must be one of {list(_STANDARDIZE)}, None or a callable; "
                f"received {standardize!r}."
            )
        minimum = 3 if start_end else 1
        for value, argument in (
            (output_sequence_length, "output_sequence_length"),
            (max_chars_per_token, "max_chars_per_token"),
        ):
            if value is not None and not is_int(value, minimum=minimum):
                raise ValueError(
                    f"`{argument}` must be None or an int >= {minimum}"
                    f"{' (room for [START] and [END])' if start_end else ''}; received {value!r}."
                )
        self.level = level
        self.max_tokens = max_tokens
        self.min_frequency = min_frequency
        self.standardize = standardize
        self.output_sequence_length = output_sequence_length
        self.start_end = bool(start_end)
        self.max_chars_per_token = max_chars_per_token
        self._convert_input_args = False
        self._allow_non_tensor_positional_args = True
        self.supports_jit = False
        self.built = True
        self._adapted = False
        self.set_vocabulary(RESERVED if vocabulary is None else vocabulary)
        self._adapted = vocabulary is not None

    # ------------------------------------------------------------------ vocabulary

    def set_vocabulary(self, vocabulary: Iterable[str]) -> None:
        """Replaces the vocabulary (reserved tokens are added at ids 0-3 when missing).

        Args:
            vocabulary: tokens in id order, e.g. from another layer's `get_vocabulary()`.
        """
        if isinstance(vocabulary, str):
            raise TypeError("`vocabulary` must be a list of tokens, not a single string.")
        tokens = [t.decode("utf-8") if isinstance(t, bytes) else t for t in vocabulary]
        for token in tokens:
            if not isinstance(token, str):
                raise TypeError(f"`vocabulary` must hold strings; found {token!r}.")
        if tuple(tokens[: len(RESERVED)]) == RESERVED:
            tokens = tokens[len(RESERVED) :]
        learned = [t for t in tokens if t not in RESERVED]
        if len(learned) != len(tokens):
            misplaced = sorted({t for t in tokens if t in RESERVED})
            raise ValueError(
                f"`vocabulary` has the reserved tokens {misplaced} away from ids 0-3. Reserved "
                f"tokens {list(RESERVED)} must come first, in that order, or not at all."
            )
        if len(set(learned)) != len(learned):
            duplicates = sorted(t for t, c in Counter(learned).items() if c > 1)[:5]
            raise ValueError(f"`vocabulary` has duplicate tokens, e.g. {duplicates}.")
        self._vocabulary = (*RESERVED, *learned)
        self._longest_piece = _subwords.longest_piece(learned)
        self._adapted = True
        keys = tf.constant(list(self._vocabulary), dtype=tf.string)
        values = tf.range(len(self._vocabulary), dtype=tf.int64)
        self._table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(keys, values), default_value=OOV_ID
        )

    def get_vocabulary(self) -> list[str]:
        """Returns the tokens in id order; the first four are `["", "[UNK]", "[START]", "[END]"]`."""
        return list(self._vocabulary)

    @property
    def vocabulary_size(self) -> int:
        """Number of ids, reserved ones included (the `input_dim` of an `Embedding`)."""
        return len(self._vocabulary)

    def adapt(self, data: Any, batch_size: int = _ADAPT_CHUNK) -> None:
        """Learns the vocabulary from texts or pre-tokenised sentences.

        Args:
            data: raw strings (list, tuple, NumPy array, pandas Series, `tf.Tensor`), token
                lists (`list[list[str]]`, `tf.RaggedTensor`), or a `tf.data.Dataset` of
                strings (scalar elements, or batches `[B]`) or of token batches `[B, T]`.
            batch_size: how many texts are tokenised per TensorFlow call.
        """
        counts: Counter = Counter()
        for chunk in self._adapt_chunks(data, batch_size):
            values, pretokenised, _ = self._prepare(chunk)
            units = self._words(values, pretokenised)
            counts.update(units.flat_values.numpy().tolist())
        for reserved in RESERVED:
            counts.pop(reserved.encode("utf-8"), None)
        if self.level == "subword":
            self._adapt_subwords(counts)
            return
        ranked = sorted(
            ((token.decode("utf-8"), count) for token, count in counts.items()),
            key=lambda item: (-item[1], item[0]),
        )
        learned = [token for token, count in ranked if count >= self.min_frequency]
        if self.max_tokens is not None:
            learned = learned[: self.max_tokens - len(RESERVED)]
        self.set_vocabulary(learned)

    def _adapt_subwords(self, counts: Counter) -> None:
        words = {token.decode("utf-8"): count for token, count in counts.items()}
        size = None if self.max_tokens is None else self.max_tokens - len(RESERVED)
        self.set_vocabulary(_subwords.learn_subwords(words, size, self.min_frequency))
        # Ids in order of falling frequency of use (as for words): segment every distinct
        # word once with the graph op that `call` uses and count its pieces.
        distinct = list(words)
        pieces = Counter()
        for start in range(0, len(distinct), _ADAPT_CHUNK):
            chunk = distinct[start : start + _ADAPT_CHUNK]
            ids = self._segment(tf.constant(chunk))
            for word, row in zip(chunk, ids.numpy().tolist(), strict=True):
                for piece in row:
                    pieces[piece] += words[word]
        ranked = sorted(
            range(len(RESERVED), len(self._vocabulary)),
            key=lambda i: (-pieces[i], self._vocabulary[i]),
        )
        self.set_vocabulary([self._vocabulary[i] for i in ranked])

    def _segment(self, words: tf.Tensor) -> tf.RaggedTensor:
        return _subwords.segment(words, self._table, self._longest_piece, len(RESERVED))

    def _adapt_chunks(self, data: Any, batch_size: int) -> Iterable[Any]:
        if isinstance(data, tf.data.Dataset):
            spec = data.element_spec
            if not isinstance(spec, tf.TensorSpec | tf.RaggedTensorSpec) or spec.dtype != tf.string:
                raise TypeError(
                    "`data` must be a tf.data.Dataset of strings (texts or tokens); its elements "
                    f"are {spec}. Map it to the text first, e.g. `ds.map(lambda x, y: x)`."
                )
            # Rank 1 elements are read as batches of texts; batch token lists before adapting.
            if spec.shape.rank == 0:
                data = data.batch(batch_size)
            yield from data
            return
        if isinstance(data, tf.Tensor | tf.RaggedTensor):
            yield data
            return
        if hasattr(data, "tolist") and not isinstance(data, list):  # NumPy, pandas
            data = data.tolist()
        if isinstance(data, str | bytes) or not isinstance(data, Iterable):
            raise TypeError(
                "`data` must be a list of strings, a list of token lists, a tensor or a "
                f"tf.data.Dataset; received {type(data).__name__}."
            )
        data = list(data)
        if not data:
            raise ValueError("`data` is empty: nothing to learn a vocabulary from.")
        for start in range(0, len(data), batch_size):
            chunk = data[start : start + batch_size]
            if isinstance(chunk[0], list | tuple):
                yield _ragged_tokens(chunk)
            else:
                yield tf.constant(_as_text_list(chunk, start))

    # ------------------------------------------------------------------ graph ops

    def _standardize_text(self, text: tf.Tensor, split_punctuation: bool) -> tf.Tensor:
        if self.standardize is None:
            return text
        if callable(self.standardize):
            return self.standardize(text)
        text = _lower(text)
        if self.standardize == "lower_punct" and split_punctuation:
            text = tf.strings.regex_replace(text, _PUNCT, r" \1 ")
        return text

    def _prepare(self, inputs: Any) -> tuple[Any, bool, bool]:
        """Returns (strings or tokens, is_pretokenised, was_scalar)."""
        if isinstance(inputs, tf.RaggedTensor):
            if inputs.dtype != tf.string or inputs.shape.rank != 2:
                raise TypeError(
                    "A ragged input must be tokens: tf.string of shape [batch, None]; received "
                    f"{inputs.dtype.name} of shape {inputs.shape}."
                )
            return inputs, True, False
        if isinstance(inputs, list | tuple):
            if inputs and isinstance(inputs[0], list | tuple):
                return _ragged_tokens(inputs), True, False
            inputs = tf.constant(_as_text_list(inputs, 0), dtype=tf.string, shape=[len(inputs)])
        elif isinstance(inputs, str | bytes | np.ndarray):
            inputs = tf.constant(inputs, dtype=tf.string)
        inputs = tf.convert_to_tensor(inputs)
        if inputs.dtype != tf.string:
            raise TypeError(
                f"TextVectorizer expects tf.string input; received {inputs.dtype.name} of shape "
                f"{inputs.shape}. Pass raw strings [batch] or tokens [batch, length]."
            )
        rank = inputs.shape.rank
        if rank == 0:
            return inputs[tf.newaxis], False, True
        if rank == 1:
            return inputs, False, False
        if rank == 2:
            return tf.RaggedTensor.from_tensor(inputs, padding=""), True, False
        raise ValueError(
            "TextVectorizer expects raw strings of shape [batch] or tokens of shape "
            f"[batch, length]; received shape {inputs.shape}."
        )

    def tokenize(self, inputs: Any) -> tf.RaggedTensor:
        """Standardises and splits like `call`, returning the string units before lookup.

        Args:
            inputs: raw strings `[B]` or tokens `[B, None]` (see the class docstring).

        Returns:
            `tf.RaggedTensor` of strings: words `[B, None]` at word level; pieces `[B, None]` at
            subword level (`[UNK]` for a character never seen in `adapt`); characters
            `[B, None]` (raw strings) or `[B, None, None]` (tokens) at character level.
        """
        values, pretokenised, _ = self._prepare(inputs)
        return self._units(values, pretokenised)

    def _units(self, values: Any, pretokenised: bool) -> tf.RaggedTensor:
        if self.level != "subword":
            return self._words(values, pretokenised)
        ids = self._piece_ids(values, pretokenised)
        vocabulary = tf.constant(list(self._vocabulary), dtype=tf.string)
        return tf.ragged.map_flat_values(tf.gather, vocabulary, ids)

    def _piece_ids(self, values: Any, pretokenised: bool) -> tf.RaggedTensor:
        """Piece ids `[B, None]` (int64) at subword level: each word split, the rows joined."""
        words = self._words(values, pretokenised)
        return words.with_flat_values(self._segment(words.flat_values)).merge_dims(1, 2)

    def _words(self, values: Any, pretokenised: bool) -> tf.RaggedTensor:
        """Words (or characters at `level="char"`) before any subword split."""
        if pretokenised:
            tokens = tf.ragged.map_flat_values(self._standardize_text, values, False)
            if self.level == "char":
                return tf.strings.unicode_split(tokens, "UTF-8")
            return tokens
        if self.level == "char":
            return tf.strings.unicode_split(self._standardize_text(values, False), "UTF-8")
        return _split_words(self._standardize_text(values, True))

    def _call_scalar(self, text: tf.Tensor) -> tf.Tensor:
        # One string (the usual `tf.data.Dataset.map` element): dense ops only, a few times
        # faster per element than the ragged batch path, with identical ids.
        if self.level == "subword":
            return self.call(text[tf.newaxis])[0]
        if self.level == "char":
            units = tf.strings.unicode_split(self._standardize_text(text, False), "UTF-8")
        else:
            spaced = tf.strings.regex_replace(self._standardize_text(text, True), _SPACES, " ")
            units = tf.strings.split(spaced)
        ids = tf.cast(self._table.lookup(units), tf.int32)
        length = self.output_sequence_length
        if self.start_end:
            if length is not None:
                ids = ids[: length - 2]
            ids = tf.concat([[START_ID], ids, [END_ID]], axis=0)
        if length is not None:
            ids = ids[:length]
            ids = tf.pad(ids, [[0, length - tf.shape(ids)[0]]], constant_values=PAD_ID)
            ids = tf.ensure_shape(ids, [length])
        return ids

    def call(self, inputs):
        if isinstance(inputs, tf.Tensor) and inputs.dtype == tf.string and inputs.shape.rank == 0:
            return self._call_scalar(inputs)
        values, pretokenised, scalar = self._prepare(inputs)
        if self.level == "subword":  # the split already gives ids
            ids = tf.cast(self._piece_ids(values, pretokenised), tf.int32)
        else:
            units = self._units(values, pretokenised)
            ids = tf.cast(tf.ragged.map_flat_values(self._table.lookup, units), tf.int32)
        length = self.output_sequence_length
        if self.level == "char" and pretokenised:
            if self.start_end:
                raise ValueError(
                    "`start_end=True` has no meaning for character ids per token "
                    "(pre-tokenised input at `level='char'`); use it at word level."
                )
            if self.max_chars_per_token is not None:
                ids = ids[:, :, : self.max_chars_per_token]
            output = ids.to_tensor(
                default_value=PAD_ID, shape=[None, length, self.max_chars_per_token]
            )
        else:
            if self.start_end:
                if length is not None:
                    ids = ids[:, : length - 2]
                rows = ids.nrows(out_type=tf.int64)
                start = tf.RaggedTensor.from_tensor(tf.fill([rows, 1], START_ID))
                end = tf.RaggedTensor.from_tensor(tf.fill([rows, 1], END_ID))
                ids = tf.concat([start, ids, end], axis=1)
            output = ids.to_tensor(default_value=PAD_ID, shape=[None, length])
        return output[0] if scalar else output

    def compute_output_spec(self, inputs):
        shape = tuple(inputs.shape)
        length = self.output_sequence_length
        if len(shape) == 0:
            out_shape: tuple = (length,)
        elif len(shape) == 1:
            out_shape = (shape[0], length)
        elif self.level == "char":
            out_shape = (shape[0], length, self.max_chars_per_token)
        else:
            out_shape = (shape[0], length)
        return keras.KerasTensor(out_shape, dtype="int32")

    def decode(self, ids: Any) -> tf.Tensor:
        """Turns ids back into text: tokens joined by spaces (characters joined directly; pieces
        at subword level joined into their words).

        Padding and `[START]` are dropped and each sequence stops at its first `[END]`; ids
        outside the vocabulary read as `[UNK]`. Pure TF ops, so it works in a `tf.function`.

        Args:
            ids: int ids `[B, T]` (or `[T]`), or `[B, T, C]` character ids per token.

        Returns:
            `tf.string` tensor `[B]` (a scalar for `[T]` input).
        """
        ids = tf.convert_to_tensor(ids)
        if not ids.dtype.is_integer:
            raise TypeError(f"`ids` must be integers; received {ids.dtype.name}.")
        rank = ids.shape.rank
        if rank not in (1, 2, 3):
            raise ValueError(f"`ids` must have shape [T], [B, T] or [B, T, C]; got {ids.shape}.")
        if rank == 1:
            return self.decode(ids[tf.newaxis])[0]
        ids = tf.cast(ids, tf.int32)
        size = len(self._vocabulary)
        ids = tf.where((ids >= 0) & (ids < size), ids, OOV_ID)
        vocabulary = tf.constant(list(self._vocabulary), dtype=tf.string)
        if rank == 3:
            chars = tf.ragged.boolean_mask(tf.gather(vocabulary, ids), ids != PAD_ID)
            words = tf.strings.reduce_join(chars, axis=-1)
            return tf.strings.reduce_join(
                tf.ragged.boolean_mask(words, words != ""), axis=-1, separator=" "
            )
        before_end = tf.cumsum(tf.cast(ids == END_ID, tf.int32), axis=1) == 0
        keep = before_end & (ids != PAD_ID) & (ids != START_ID)
        units = tf.ragged.boolean_mask(tf.gather(vocabulary, ids), keep)
        separator = "" if self.level == "char" else " "
        text = tf.strings.reduce_join(units, axis=-1, separator=separator)
        return _subwords.join_pieces(text) if self.level == "subword" else text

    def get_config(self):
        standardize = self.standardize
        if callable(standardize):
            standardize = keras.saving.serialize_keras_object(standardize)
        config = {
            "level": self.level,
            "max_tokens": self.max_tokens,
            "min_frequency": self.min_frequency,
            "standardize": standardize,
            "output_sequence_length": self.output_sequence_length,
            "start_end": self.start_end,
            "max_chars_per_token": self.max_chars_per_token,
            "vocabulary": list(self._vocabulary[len(RESERVED) :]) if self._adapted else None,
        }
        return {**super().get_config(), **config}


def _as_text_list(values: Iterable[Any], offset: int) -> list[str]:
    out = []
    for index, value in enumerate(values):
        if isinstance(value, bytes):
            value = value.decode("utf-8")
        if not isinstance(value, str):
            raise TypeError(
                f"Texts must be strings; item {offset + index} is {type(value).__name__} {value!r}."
            )
        out.append(value)
    return out


def _ragged_tokens(sentences: Iterable[Any]) -> tf.RaggedTensor:
    """Builds a `[B, None]` string RaggedTensor from token lists, fast (no `tf.ragged.constant`)."""
    flat: list[str] = []
    lengths: list[int] = []
    for index, sentence in enumerate(sentences):
        if isinstance(sentence, str | bytes) or not isinstance(sentence, Iterable):
            raise TypeError(
                f"Token lists must be lists of strings; item {index} is "
                f"{type(sentence).__name__} {sentence!r}."
            )
        sentence = list(sentence)
        for token in sentence:
            if not isinstance(token, str):
                raise TypeError(
                    f"Token lists must hold strings; item {index} holds "
                    f"{type(token).__name__} {token!r}."
                )
        flat.extend(sentence)
        lengths.append(len(sentence))
    return tf.RaggedTensor.from_row_lengths(
        tf.constant(flat, dtype=tf.string, shape=[len(flat)]),
        tf.constant(lengths, dtype=tf.int64, shape=[len(lengths)]),
    )
