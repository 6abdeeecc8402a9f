"""Sequence tagging (part of speech, named entities) with a bidirectional RNN and an optional CRF.

`SequenceTagger` is the many-to-many aligned shape: one tag per token, each read from both
directions of the sentence. The Keras model is end to end: it takes tokens as strings (a
`[batch, length]` string tensor padded with `""`), looks them up with two
`rnnkit.data.TextVectorizer` layers (lower-cased words; characters with their case, for unknown
words), runs `keras.layers.Bidirectional` over `rnnkit.layers.LSTM`/`GRU` and scores tags with a
`rnnkit.layers.CRF` (Viterbi decoding) or a softmax.

Chunk tags (`B-PER`, ...) are handled by `rnnkit._entities`: the scheme of the training tags
is detected (IO, IOB1, BIO, BIOES) or given, the model may learn another one (`train_scheme`),
and predictions are always returned in the scheme of the training tags. Entity scores equal
`seqeval`'s.
"""

from __future__ import annotations

import math
import time
import unicodedata
import warnings
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from rnnkit import data as rdata
from rnnkit import layers as rlayers
from rnnkit import metrics as _entities
from rnnkit.checks import (
    as_text_list,
    as_token_lists,
    check_bool,
    check_callbacks,
    check_choice,
    check_embeddings_path,
    check_fraction,
    check_number,
    check_positive_int,
)
from rnnkit.training import Task

_CELLS = ("lstm", "gru")
_CHAR_FEATURES = ("cnn", "lstm", None)
_PREFIX_CODES = {"O": 0, "B": 1, "I": 2, "E": 3, "S": 4}
_WHITESPACE = "\t\n\v\f\r"


# ----------------------------------------------------------------------------- tokenisation
#
# `tokenize_with_offsets` (Python, for `predict_entities`) and `_tf_tokenize` (TensorFlow, for
# the exported raw-sentence signature) split text the same way: whitespace (ASCII controls
# \t\n\v\f\r and every Unicode space separator, category Z*) separates tokens; a token is a
# run of letters, digits, combining marks (categories L*, N*, M*) and "_", or any other single
# character (punctuation, symbols, emoji); a "@" or "#" right before a word starts that word,
# and "http://" or "https://" starts a token that runs to the next space, so @mentions,
# #hashtags and links stay whole, as in tweet corpora (WNUT). The test suite checks that the
# two agree.

_TF_SPACES = r"[\t\n\v\f\r\p{Z}]+"
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


def _tf_tokenize(texts: tf.Tensor) -> tf.Tensor:
    """Tokenises `[B]` strings like `tokenize_with_offsets`: `[B, T]` tokens padded with `""`."""
    spaced = tf.strings.regex_replace(texts, _TF_SPACES, " ")
    spaced = tf.strings.regex_replace(spaced, _TF_SINGLE, r" \1 ")
    return _at_least_one_column(tf.strings.split(spaced).to_tensor(""))


def _at_least_one_column(tokens: tf.Tensor) -> tf.Tensor:
    # A batch of empty sentences still runs through the model (as one padding column).
    missing = tf.maximum(0, 1 - tf.shape(tokens)[1])
    return tf.pad(tokens, [[0, 0], [0, missing]], constant_values="")


# ----------------------------------------------------------------------------- layers


@keras.saving.register_keras_serializable(package="rnnkit")
class TaggerCharEncoder(keras.layers.Layer):
    """Encodes each token from its characters: `[B, T, C]` char ids -> `[B, T, units]`.

    Padding characters (id 0) are ignored exactly (their embeddings are zeroed before the
    convolution and they are left out of the max; the recurrent encoder masks them), so a
    token's features do not depend on how long the other tokens of its batch are.

    With `char_classes` (one class per character id, see `char_classes`), it also appends
    `NUM_SHAPE_FEATURES` word-shape indicators to each token's features: first letter upper
    case, all letters upper case, an upper-case letter after the first character, all lower
    case, has a digit, only digits, no letter or digit, starts with "@", starts with "#".

    Args:
        vocabulary_size: number of character ids.
        kind: `"cnn"` (convolution + max over characters) or `"lstm"` (final states of a
            character BiLSTM).
        embedding_dim: character embedding size.
        units: output features per token.
        kernel_size: convolution width for `"cnn"`.
        cell: `"lstm"` or `"gru"`, the recurrent cell for `kind="lstm"`.
        char_classes: optional list of `vocabulary_size` ints (0 padding/reserved, 1 upper
            case, 2 other letter, 3 digit, 4 other, 5 "@", 6 "#") for the shape features.
        seed: seed of the initialisers.
        **kwargs: base `keras.layers.Layer` arguments.
    """

    NUM_SHAPE_FEATURES = 9

    def __init__(
        self,
        vocabulary_size,
        kind="cnn",
        embedding_dim=32,
        units=64,
        kernel_size=3,
        cell="lstm",
        char_classes=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_positive_int(vocabulary_size, "vocabulary_size")
        check_choice(kind, "kind", ("cnn", "lstm"))
        check_choice(cell, "cell", _CELLS)
        check_positive_int(units, "units")
        if kind == "lstm" and units % 2:
            raise ValueError(
                f"`units` must be even for `kind='lstm'` (half per direction), got {units}."
            )
        self.vocabulary_size = vocabulary_size
        self.kind = kind
        self.embedding_dim = embedding_dim
        self.units = units
        self.kernel_size = kernel_size
        self.cell = cell
        self.seed = seed
        if char_classes is not None:
            char_classes = [int(c) for c in char_classes]
            if len(char_classes) != vocabulary_size:
                raise ValueError(
                    f"`char_classes` must hold one class per character id ({vocabulary_size}), "
                    f"got {len(char_classes)}."
                )
        self.char_classes = char_classes
        self.output_units = units + (self.NUM_SHAPE_FEATURES if char_classes else 0)
        self.embedding = keras.layers.Embedding(
            vocabulary_size,
            embedding_dim,
            embeddings_initializer=keras.initializers.RandomUniform(-0.1, 0.1, seed=seed),
            name="char_embedding",
        )
        if kind == "cnn":
            self.encoder = keras.layers.Conv1D(
                units,
                kernel_size,
                padding="same",
                activation="relu",
                kernel_initializer=keras.initializers.GlorotUniform(seed=seed),
                name="char_conv",
            )
        else:
            rnn = rlayers.LSTM if cell == "lstm" else rlayers.GRU
            self.encoder = keras.layers.Bidirectional(
                rnn(units // 2, kernel_initializer=keras.initializers.GlorotUniform(seed=seed)),
                name="char_rnn",
            )

    def build(self, input_shape):
        self.embedding.build((None, None))
        self.encoder.build((None, None, self.embedding_dim))

    def call(self, char_ids):
        shape = ops.shape(char_ids)
        flat = ops.reshape(char_ids, (-1, shape[2]))
        mask = ops.not_equal(flat, 0)
        x = self.embedding(flat) * ops.expand_dims(ops.cast(mask, self.compute_dtype), -1)
        if self.kind == "cnn":
            h = self.encoder(x) * ops.expand_dims(ops.cast(mask, self.compute_dtype), -1)
            h = ops.max(h, axis=1)  # ReLU outputs are >= 0, so zeroed padding never wins
        else:
            h = self.encoder(x, mask=mask)
            has_chars = ops.expand_dims(ops.any(mask, axis=1), -1)
            h = ops.where(has_chars, h, ops.zeros_like(h))
        if self.char_classes is not None:
            h = ops.concatenate([h, self._shape_features(flat, mask)], axis=-1)
        return ops.reshape(h, (shape[0], shape[1], self.output_units))

    def _shape_features(self, flat, mask):
        classes = ops.take(ops.convert_to_tensor(self.char_classes, "int32"), flat)
        upper, letter = classes == 1, (classes == 1) | (classes == 2)
        digit = classes == 3
        n_upper = ops.sum(ops.cast(upper, "int32"), axis=1)
        n_letter = ops.sum(ops.cast(letter, "int32"), axis=1)
        n_digit = ops.sum(ops.cast(digit, "int32"), axis=1)
        n_chars = ops.sum(ops.cast(mask, "int32"), axis=1)
        features = [
            upper[:, 0],
            (n_letter > 0) & (n_upper == n_letter),
            ops.any(upper[:, 1:], axis=1),
            (n_letter > 0) & (n_upper == 0),
            n_digit > 0,
            (n_chars > 0) & (n_digit == n_chars),
            (n_chars > 0) & (n_letter + n_digit == 0),
            classes[:, 0] == 5,
            classes[:, 0] == 6,
        ]
        return ops.cast(ops.stack(features, axis=-1), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[1], self.output_units)

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        config = {
            "vocabulary_size": self.vocabulary_size,
            "kind": self.kind,
            "embedding_dim": self.embedding_dim,
            "units": self.units,
            "kernel_size": self.kernel_size,
            "cell": self.cell,
            "char_classes": self.char_classes,
            "seed": self.seed,
        }
        return {**super().get_config(), **config}


def char_classes(vocabulary: Sequence[str]) -> list[int]:
    """Classes of characters for `TaggerCharEncoder`'s shape features.

    Args:
        vocabulary: the character vocabulary (`TextVectorizer.get_vocabulary()`; the first
            four entries are reserved).

    Returns:
        One int per character: 0 reserved, 1 upper case, 2 other letter, 3 digit, 5 "@",
        6 "#", 4 anything else.
    """
    out = []
    for i, char in enumerate(vocabulary):
        if i < 4 or len(char) != 1:
            out.append(0)
        elif char.isupper():
            out.append(1)
        elif char.isalpha():
            out.append(2)
        elif char.isdigit():
            out.append(3)
        else:
            out.append({"@": 5, "#": 6}.get(char, 4))
    return out


@keras.saving.register_keras_serializable(package="rnnkit")
class TaggerWordDropout(keras.layers.Layer):
    """In training, replaces word ids by the unknown-word id at random.

    The model then learns to tag words it has never seen from their characters and context.
    Words seen once in training (ids from `rare_from_id` on: the vocabulary is sorted by
    frequency) are replaced with probability `rare_rate`, other words with `rate`. Padding
    (id 0) is never touched; outside training the layer is the identity.

    Args:
        rate: probability of replacing a word id.
        rare_rate: probability of replacing the id of a rare word.
        rare_from_id: the first id of the rare words (None: no rare words).
        oov_id: the id of unknown words.
        seed: seed of the random draws.
        **kwargs: base `keras.layers.Layer` arguments.
    """

    def __init__(self, rate, rare_rate=0.0, rare_from_id=None, oov_id=1, seed=None, **kwargs):
        super().__init__(**kwargs)
        check_fraction(rate, "rate")
        check_fraction(rare_rate, "rare_rate")
        self.rate = rate
        self.rare_rate = rare_rate
        self.rare_from_id = rare_from_id
        self.oov_id = oov_id
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.built = True

    def call(self, ids, training=None):
        if not training or (self.rate == 0 and self.rare_rate == 0):
            return ids
        draw = keras.random.uniform(ops.shape(ids), seed=self.seed_generator)
        threshold = ops.full(ops.shape(ids), self.rate)
        if self.rare_from_id is not None:
            threshold = ops.where(ids >= self.rare_from_id, self.rare_rate, threshold)
        drop = ops.logical_and(draw < threshold, ids > self.oov_id)
        return ops.where(drop, ops.full_like(ids, self.oov_id), ids)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = {
            "rate": self.rate,
            "rare_rate": self.rare_rate,
            "rare_from_id": self.rare_from_id,
            "oov_id": self.oov_id,
            "seed": self.seed,
        }
        return {**super().get_config(), **config}


@keras.saving.register_keras_serializable(package="rnnkit")
class TaggerArgmax(keras.layers.Layer):
    """Tag ids from per-token scores: argmax over the last axis, 0 at masked positions."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.built = True

    def call(self, scores, mask=None):
        tags = ops.cast(ops.argmax(scores, axis=-1), "int32")
        if mask is not None:
            tags = ops.where(mask, tags, ops.zeros_like(tags))
        return tags

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1])

    def compute_output_spec(self, scores, mask=None):
        return keras.KerasTensor(scores.shape[:-1], dtype="int32")

    def compute_mask(self, inputs, mask=None):
        return mask


@keras.saving.register_keras_serializable(package="rnnkit")
class TaggerEntityBias(keras.layers.Layer):
    """Shifts per-token tag scores towards (or away from) entities before decoding.

    Adds `bias` (a non-trainable scalar weight, set after training) to the score of every tag
    but the first one, `"O"` (no entity): a positive bias makes the decoder find more
    entities (recall up, precision down), a negative one fewer. With a CRF the shift is the
    same for every position, so it changes the Viterbi path only through how many tokens are
    entity tokens. Masks pass through.

    Args:
        **kwargs: base `keras.layers.Layer` arguments.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def build(self, input_shape):
        self.bias = self.add_weight(shape=(), initializer="zeros", trainable=False, name="bias")

    def call(self, scores):
        entity = ops.cast(ops.arange(ops.shape(scores)[-1]) > 0, scores.dtype)
        return scores + ops.cast(self.bias, scores.dtype) * entity

    def compute_output_shape(self, input_shape):
        return input_shape

    def compute_mask(self, inputs, mask=None):
        return mask


# ----------------------------------------------------------------------------- scheme in graph


class _SchemeConverter:
    """Converts tag ids of the model's scheme to tag strings of the output scheme, in TF.

    It applies the same rules as `rnnkit._entities.convert_scheme` position by position:
    under the lenient (conlleval) reading every non-`O` token belongs to exactly one entity,
    and whether it starts or ends one depends only on its neighbours' tags.
    """

    def __init__(self, classes: Sequence[str], source: str | None, target: str | None):
        self.classes = list(classes)
        self.source, self.target = source, target
        self.convert = source is not None and source != target
        types = ["_"]
        prefix_codes, type_codes = [], []
        for tag in self.classes:
            prefix, type_ = _entities.split_tag(tag)
            if prefix == "O":
                type_ = "_"
            if type_ not in types:
                types.append(type_)
            prefix_codes.append(_PREFIX_CODES.get(prefix, 0))
            type_codes.append(types.index(type_))
        self.types = types
        self.prefix_codes = prefix_codes
        self.type_codes = type_codes

    def __call__(self, ids: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
        ids = tf.cast(ids, tf.int32)
        if not self.convert:
            tags = tf.gather(tf.constant(self.classes, tf.string), ids)
            return tf.where(mask, tags, "")
        prefix = tf.where(mask, tf.gather(tf.constant(self.prefix_codes, tf.int32), ids), 0)
        type_ = tf.where(mask, tf.gather(tf.constant(self.type_codes, tf.int32), ids), 0)

        def shift(x, right):
            pad = tf.zeros_like(x[:, :1])
            return tf.concat([pad, x[:, :-1]], 1) if right else tf.concat([x[:, 1:], pad], 1)

        o, b, i, e, s = (tf.constant(v, tf.int32) for v in range(5))

        def starts(prev_p, p, prev_t, t):
            return (p != o) & (
                (p == b)
                | (p == s)
                | (((prev_p == e) | (prev_p == s) | (prev_p == o)) & ((p == e) | (p == i)))
                | (prev_t != t)
            )

        prev_p, prev_t = shift(prefix, True), shift(type_, True)
        next_p, next_t = shift(prefix, False), shift(type_, False)
        start = starts(prev_p, prefix, prev_t, type_)
        last = (next_p == o) | starts(prefix, next_p, type_, next_t)
        if self.target == "BIO":
            out = tf.where(start, b, i)
        elif self.target == "IO":
            out = tf.fill(tf.shape(prefix), i)
        elif self.target == "IOB1":
            out = tf.where(start & (prev_p != o) & (prev_t == type_), b, i)
        else:
            out = tf.where(start, tf.where(last, s, b), tf.where(last, e, i))
        letters = tf.gather(tf.constant(["O", "B", "I", "E", "S"]), out)
        names = tf.gather(tf.constant(self.types), type_)
        tags = tf.where(prefix == o, "O", tf.strings.join([letters, names], separator="-"))
        return tf.where(mask, tags, "")


# ----------------------------------------------------------------------------- the facade


class SequenceTagger(Task):
    """Tags every token of a sentence: part of speech, named entities, chunks.

    A bidirectional RNN (`rnnkit.layers.LSTM` or `GRU` under `keras.layers.Bidirectional`)
    reads lower-cased word embeddings and character features of each token (a character CNN
    or BiLSTM over the original casing, so unknown words are tagged from their spelling), and
    a `rnnkit.layers.CRF` (or a softmax) scores the tags.

    For entity tags the scheme of the training tags is detected (or given); the model can
    learn in another scheme (`train_scheme`, BIOES by default, which marks where entities
    end) and every prediction is returned in the scheme of the training tags. `evaluate` gives
    token accuracy and entity-level precision/recall/F1 equal to `seqeval`'s.

    Args:
        cell: `"lstm"` or `"gru"`.
        units: RNN units per direction.
        num_layers: stacked bidirectional layers.
        embedding_dim: word embedding size (ignored with `pretrained_embeddings`, whose width
            is used).
        char_features: `"cnn"`, `"lstm"` (character BiLSTM) or None (words only). Character
            features come with word-shape indicators (casing, digits; see
            `TaggerCharEncoder`).
        char_embedding_dim: character embedding size.
        char_units: character features per token.
        max_chars: characters per token the character encoder reads (longer tokens are cut).
        crf: True for a CRF output layer (Viterbi decoding), False for a per-token softmax.
        tag_scheme: scheme of the training tags: `"auto"` (detected), `"IO"`, `"IOB1"`,
            `"BIO"` (`"IOB2"`), `"BIOES"` (`"IOBES"`), or `"none"` for plain labels such as
            part-of-speech tags.
        train_scheme: the scheme the model learns for entity tags (`"BIOES"`, `"BIO"`, ...;
            None = the tags' own scheme). Ignored for plain labels.
        entity_bias: added to the score of every entity tag (against `"O"`) when decoding
            (`TaggerEntityBias`): above 0 the tagger finds more entities (recall up,
            precision down), below 0 fewer. `"auto"`: after training, the value of
            `ENTITY_BIAS_GRID` with the best entity F1 on the validation sentences (0
            without them; `tune_entity_bias` does the same on other sentences later); kept
            in `entity_bias_`. None or 0: no shift. On WNUT-16 "auto"
            changed test F1 by -0.5 to +0.6 (3 seeds, `benchmarks/tagging.py`), so it is off by
            default. Ignored for plain labels.
        pretrained_embeddings: path of a GloVe/word2vec text file (`.bz2`/`.gz` work) that
            initialises the word embeddings, e.g. `rnnkit.datasets.glove_6b_50d()`. The
            vocabulary is then the training words followed by the file's most frequent other
            words, up to `max_tokens`, so words unseen in training keep their vectors.
        max_tokens: largest word vocabulary (reserved ids included).
        min_frequency: words seen fewer times in training are unknown words.
        dropout: dropout rate on the embeddings and on the RNN outputs.
        word_dropout: probability of replacing a training word by the unknown word.
        rare_word_dropout: the same for words seen only once in training (so the unknown
            word's embedding learns from many contexts).
        epochs: most training epochs.
        batch_size: sentences per training batch.
        learning_rate: Adam learning rate.
        clipnorm: gradient clipping norm (None: no clipping).
        validation_split: fraction of the training sentences held out to choose the best
            epoch when `fit` gets no `validation_data` (0: no early stopping).
        patience: epochs without improvement of the validation score (entity F1 for entity
            tags, token accuracy otherwise) before training stops; the best epoch's weights
            are kept. None: train all epochs.
        time_budget: stop training after this many seconds (None: no limit).
        callbacks: extra Keras callbacks for `fit`.
        seed: seed of initialisation, dropout, shuffling and the validation split.
        verbose: Keras `fit` verbosity.

    Example:
    >>> tagger = SequenceTagger(units=8, embedding_dim=8, char_units=8, epochs=2, seed=0)
    >>> tokens = [["Alice", "met", "Bob"], ["Bob", "slept"]]
    >>> tags = [["B-PER", "O", "B-PER"], ["B-PER", "O"]]
    >>> tagger = tagger.fit(tokens, tags)
    >>> len(tagger.predict([["Carol", "met", "Alice"]])[0])
    3
    """

    #: The values `entity_bias="auto"` chooses from (ties go to the one nearest 0).
    ENTITY_BIAS_GRID = tuple(x / 4 for x in range(-8, 17))

    def __init__(
        self,
        *,
        cell: str = "lstm",
        units: int = 128,
        num_layers: int = 1,
        embedding_dim: int = 100,
        char_features: str | None = "lstm",
        char_embedding_dim: int = 32,
        char_units: int = 64,
        max_chars: int = 24,
        crf: bool = True,
        tag_scheme: str | None = "auto",
        train_scheme: str | None = "BIOES",
        entity_bias: float | str | None = None,
        pretrained_embeddings: str | None = None,
        max_tokens: int | None = 50000,
        min_frequency: int = 1,
        dropout: float = 0.5,
        word_dropout: float = 0.2,
        rare_word_dropout: float = 0.5,
        epochs: int = 30,
        batch_size: int = 16,
        learning_rate: float = 2e-3,
        clipnorm: float | None = 5.0,
        validation_split: float = 0.1,
        patience: int | None = 8,
        time_budget: float | None = None,
        callbacks: list | None = None,
        seed: int | None = None,
        verbose: int | str = 0,
    ):
        self.cell = cell
        self.units = units
        self.num_layers = num_layers
        self.embedding_dim = embedding_dim
        self.char_features = char_features
        self.char_embedding_dim = char_embedding_dim
        self.char_units = char_units
        self.max_chars = max_chars
        self.crf = crf
        self.tag_scheme = tag_scheme
        self.train_scheme = train_scheme
        self.entity_bias = entity_bias
        self.pretrained_embeddings = pretrained_embeddings
        self.max_tokens = max_tokens
        self.min_frequency = min_frequency
        self.dropout = dropout
        self.word_dropout = word_dropout
        self.rare_word_dropout = rare_word_dropout
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.clipnorm = clipnorm
        self.validation_split = validation_split
        self.patience = patience
        self.time_budget = time_budget
        self.callbacks = callbacks
        self.seed = seed
        self.verbose = verbose

    # -- validation -----------------------------------------------------------------------------
    def _check_params(self) -> None:
        check_choice(self.cell, "cell", _CELLS)
        for name in ("units", "num_layers", "embedding_dim", "epochs", "batch_size", "max_chars"):
            check_positive_int(getattr(self, name), name)
        check_choice(self.char_features, "char_features", _CHAR_FEATURES)
        if self.char_features is not None:
            check_positive_int(self.char_embedding_dim, "char_embedding_dim")
            check_positive_int(self.char_units, "char_units")
            if self.char_features == "lstm" and self.char_units % 2:
                raise ValueError(
                    "`char_units` must be even with `char_features='lstm'` (half per "
                    f"direction), got {self.char_units}."
                )
        check_bool(self.crf, "crf")
        if self.tag_scheme != "auto":
            _entities.normalize_scheme(self.tag_scheme, "tag_scheme")
        _entities.normalize_scheme(self.train_scheme, "train_scheme")
        bias = self.entity_bias
        if not (bias is None or isinstance(bias, str) and bias == "auto"):
            number = isinstance(bias, int | float | np.integer | np.floating)
            if isinstance(bias, bool) or not number or not math.isfinite(bias):
                raise ValueError(
                    f'`entity_bias` must be "auto", None or a finite number, got {bias!r}.'
                )
        check_positive_int(self.max_tokens, "max_tokens", allow_none=True)
        check_positive_int(self.min_frequency, "min_frequency")
        check_fraction(self.dropout, "dropout")
        check_fraction(self.word_dropout, "word_dropout")
        check_fraction(self.rare_word_dropout, "rare_word_dropout")
        check_fraction(self.validation_split, "validation_split")
        check_positive_int(self.patience, "patience", allow_none=True)
        check_number(self.learning_rate, "learning_rate")
        if self.clipnorm is not None:
            check_number(self.clipnorm, "clipnorm", strict=False)
        if self.time_budget is not None:
            check_number(self.time_budget, "time_budget")
        check_embeddings_path(self.pretrained_embeddings)
        check_callbacks(self.callbacks)

    @staticmethod
    def _check_tokens(values: Any, name: str) -> list[list[str]]:
        tokens = as_token_lists(values, name)
        for i, sentence in enumerate(tokens):
            for j, token in enumerate(sentence):
                if not token.strip():
                    raise ValueError(
                        f"`{name}[{i}][{j}]` is {token!r}: tokens must hold at least one "
                        "non-space character. Drop empty tokens before tagging."
                    )
        return tokens

    @classmethod
    def _check_pairs(
        cls, token_lists: Any, tag_lists: Any, token_name: str, tag_name: str
    ) -> tuple[list[list[str]], list[list[str]]]:
        tokens = cls._check_tokens(token_lists, token_name)
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

    # -- fitting ----------------------------------------------------------------------------------
    def fit(self, token_lists: Any, tag_lists: Any, *, validation_data: tuple | None = None):
        """Trains the tagger.

        Args:
            token_lists: training sentences, each a list of token strings.
            tag_lists: their tags, one per token.
            validation_data: optional `(token_lists, tag_lists)` used to choose the best epoch
                (otherwise `validation_split` of the training sentences is held out).

        Returns:
            self.
        """
        self._check_params()
        tokens, tags = self._check_pairs(token_lists, tag_lists, "token_lists", "tag_lists")
        scheme = (
            _entities.detect_scheme(tags)
            if self.tag_scheme == "auto"
            else _entities.normalize_scheme(self.tag_scheme, "tag_scheme")
        )
        _entities.check_scheme(tags, scheme, "tag_lists")
        model_scheme = None
        if scheme is not None:
            model_scheme = _entities.normalize_scheme(self.train_scheme) or scheme
        val_tokens = val_tags = None
        if validation_data is not None:
            if not isinstance(validation_data, tuple | list) or len(validation_data) != 2:
                raise TypeError(
                    "`validation_data` must be a pair `(token_lists, tag_lists)`, got "
                    f"{type(validation_data).__name__}."
                )
            val_tokens, val_tags = self._check_pairs(
                *validation_data, "validation_data[0]", "validation_data[1]"
            )
            _entities.check_scheme(val_tags, scheme, "validation_data[1]")
        elif self.validation_split and self.patience and len(tokens) >= 2:
            rng = np.random.default_rng(self.seed)
            order = rng.permutation(len(tokens))
            n_val = max(1, int(round(len(tokens) * self.validation_split)))
            val_idx, train_idx = order[:n_val], order[n_val:]
            val_tokens, val_tags = [tokens[i] for i in val_idx], [tags[i] for i in val_idx]
            tokens, tags = [tokens[i] for i in train_idx], [tags[i] for i in train_idx]

        model_tags = _entities.convert_scheme(tags, scheme, model_scheme)
        classes = sorted({t for sentence in model_tags for t in sentence})
        if "O" in classes:  # "O" first: padding decodes to id 0 and reads as no entity
            classes.remove("O")
            classes.insert(0, "O")
        self.scheme_ = scheme
        self.model_scheme_ = model_scheme
        self.classes_ = classes
        self._reset_runtime()

        self._seed()
        word_vectorizer = rdata.TextVectorizer(
            level="word",
            max_tokens=self.max_tokens,
            min_frequency=self.min_frequency,
            standardize="lower",
            name="word_vectorizer",
        )
        word_vectorizer.adapt(tokens)
        vectors = None
        if self.pretrained_embeddings is not None:
            # Words of the vectors file that training never saw keep their vectors.
            vectors = rdata.load_word_vectors_for(
                word_vectorizer,
                self.pretrained_embeddings,
                max_tokens=self.max_tokens,
                seed=self.seed or 0,
                verbose=False,
            )
        char_vectorizer = None
        if self.char_features is not None:
            char_vectorizer = rdata.TextVectorizer(
                level="char",
                standardize=None,
                max_chars_per_token=self.max_chars,
                name="char_vectorizer",
            )
            char_vectorizer.adapt(tokens)
        train_model, self.model_ = self._build(
            word_vectorizer,
            char_vectorizer,
            len(classes),
            _rare_from_id(word_vectorizer, tokens),
            matrix=vectors,
        )

        index = {tag: i for i, tag in enumerate(classes)}
        train_ds = self._dataset(tokens, [[index[t] for t in s] for s in model_tags], True)
        callbacks: list[keras.callbacks.Callback] = []
        if val_tokens is not None and self.patience:
            callbacks.append(_BestEpoch(self, val_tokens, val_tags, self.patience))
        callbacks += self._callbacks(
            has_validation=False,
            patience=None,
            user_callbacks=self.callbacks,
            time_budget=self.time_budget,
        )
        start = time.perf_counter()
        with warnings.catch_warnings():
            # The bucketed dataset has no known length, so Keras warns once at the end of
            # the first epoch that it "ran out of data"; that is how the epoch ends.
            warnings.filterwarnings("ignore", message="Your input ran out of data")
            history = train_model.fit(
                train_ds,
                epochs=self.epochs,
                callbacks=callbacks,
                verbose=self.verbose,
                shuffle=False,  # batch_dataset already reshuffles every epoch
            )
        self.history_ = {k: [float(v) for v in vs] for k, vs in history.history.items()}
        self._reset_runtime()
        self._set_entity_bias(0.0)
        if scheme is not None and "O" in classes and self.entity_bias is not None:
            if self.entity_bias != "auto":
                self._set_entity_bias(float(self.entity_bias))
            elif val_tokens is not None:
                self.tune_entity_bias(val_tokens, val_tags)
        self.fit_seconds_ = time.perf_counter() - start
        return self

    def tune_entity_bias(self, token_lists: Any, tag_lists: Any) -> float:
        """Sets `entity_bias_` to the `ENTITY_BIAS_GRID` value with the best F1 on these sentences.

        What `entity_bias="auto"` does with the validation sentences after training, here on
        sentences of your choice (a development set). Ties go to the value nearest 0.

        Args:
            token_lists: sentences, each a list of token strings.
            tag_lists: their reference tags, in the scheme of the training tags.

        Returns:
            The value chosen (also in `entity_bias_`; `predict`, `save` and `export` use it).
        """
        self._check_fitted()
        if self.scheme_ is None or "O" not in self.classes_:
            raise ValueError(
                'This tagger learned plain labels (no entity tags with an "O"): there is no '
                "entity bias to tune."
            )
        tokens, tags = self._check_pairs(token_lists, tag_lists, "token_lists", "tag_lists")
        _entities.check_scheme(tags, self.scheme_, "tag_lists")
        best, best_f1 = 0.0, -1.0
        for value in sorted(self.ENTITY_BIAS_GRID, key=lambda v: (abs(v), v)):
            self._set_entity_bias(value)
            f1 = _entities.entity_scores(tags, self.predict(tokens), scheme=self.scheme_)["f1"]
            if f1 > best_f1:
                best, best_f1 = value, f1
        self._set_entity_bias(best)
        return best

    def _set_entity_bias(self, value: float) -> None:
        self.model_.get_layer("entity_bias").bias.assign(value)
        self.entity_bias_ = float(value)

    def _build(
        self,
        word_vectorizer: rdata.TextVectorizer,
        char_vectorizer: rdata.TextVectorizer | None,
        num_tags: int,
        rare_from_id: int | None = None,
        *,
        matrix: np.ndarray | None = None,
    ) -> tuple[keras.Model, keras.Model]:
        # `matrix`: pretrained vectors of the word vocabulary (initial embeddings), or None.
        seed = self.seed
        tokens = keras.Input(shape=(None,), dtype="string", name="tokens")
        word_ids = word_vectorizer(tokens)
        vocabulary = word_vectorizer.get_vocabulary()
        embedding = keras.layers.Embedding(
            len(vocabulary),
            self.embedding_dim if matrix is None else matrix.shape[1],
            mask_zero=True,
            embeddings_initializer=keras.initializers.RandomUniform(-0.05, 0.05, seed=seed),
            name="word_embedding",
        )
        if self.word_dropout or self.rare_word_dropout:
            word_ids = TaggerWordDropout(
                self.word_dropout,
                rare_rate=self.rare_word_dropout,
                rare_from_id=rare_from_id,
                seed=seed,
                name="word_dropout",
            )(word_ids)
        features = [embedding(word_ids)]
        if matrix is not None:
            embedding.set_weights([matrix])
        if char_vectorizer is not None:
            char_ids = char_vectorizer(tokens)
            features.append(
                TaggerCharEncoder(
                    char_vectorizer.vocabulary_size,
                    kind=self.char_features,
                    embedding_dim=self.char_embedding_dim,
                    units=self.char_units,
                    cell=self.cell,
                    char_classes=char_classes(char_vectorizer.get_vocabulary()),
                    seed=seed,
                    name="char_encoder",
                )(char_ids)
            )
        x = features[0] if len(features) == 1 else keras.layers.Concatenate()(features)
        x = keras.layers.Dropout(self.dropout, seed=seed)(x)
        rnn = rlayers.LSTM if self.cell == "lstm" else rlayers.GRU
        for layer in range(self.num_layers):
            x = keras.layers.Bidirectional(
                rnn(
                    self.units,
                    return_sequences=True,
                    kernel_initializer=keras.initializers.GlorotUniform(seed=seed),
                    recurrent_initializer=keras.initializers.Orthogonal(seed=seed),
                ),
                name=f"bidirectional_{layer}",
            )(x)
            x = keras.layers.Dropout(self.dropout, seed=seed)(x)
        scores = keras.layers.Dense(
            num_tags,
            kernel_initializer=keras.initializers.GlorotUniform(seed=seed),
            name="tag_scores",
        )(x)
        optimizer = self._optimizer(self.learning_rate, self.clipnorm)
        if self.crf:
            crf = rlayers.CRF(num_tags, name="crf")
            potentials = crf(scores)
            train_model = keras.Model(tokens, potentials, name="sequence_tagger_train")
            train_model.compile(optimizer=optimizer, loss=crf.loss, jit_compile=False)
            tags = crf.decode(TaggerEntityBias(name="entity_bias")(potentials))
        else:
            probs = keras.layers.Activation("softmax", name="tag_probabilities")(scores)
            train_model = keras.Model(tokens, probs, name="sequence_tagger_train")
            train_model.compile(
                optimizer=optimizer,
                loss=keras.losses.SparseCategoricalCrossentropy(ignore_class=-1),
                jit_compile=False,
            )
            tags = TaggerArgmax(name="tags")(TaggerEntityBias(name="entity_bias")(scores))
        return train_model, keras.Model(tokens, tags, name="sequence_tagger")

    def _dataset(self, tokens: list[list[str]], tag_ids: list[list[int]], shuffle: bool):
        ds = tf.data.Dataset.from_tensor_slices(
            (_ragged(tokens, tf.string), _ragged(tag_ids, tf.int32))
        )
        ds = ds.map(lambda x, y: (x, y))  # ragged rows of a [B, None] slice are dense [T]
        return rdata.batch_dataset(
            ds,
            self.batch_size,
            shuffle=shuffle,
            seed=self.seed,
            padding_values=("", -1),
        )

    # -- inference --------------------------------------------------------------------------------
    def _reset_runtime(self) -> None:
        self.__dict__.pop("_converter", None)

    def _tag_tokens_graph(self, tokens: tf.Tensor) -> dict:
        """Tags `[B, T]` string tokens padded with `""` (TF ops; used by export)."""
        mask = tf.not_equal(tokens, "")
        ids = self.model_(tokens, training=False)
        tags = self._scheme_converter()(ids, mask)
        lengths = tf.reduce_sum(tf.cast(mask, tf.int32), axis=1)
        return {"tokens": tokens, "tags": tags, "lengths": lengths}

    def _scheme_converter(self) -> _SchemeConverter:
        if "_converter" not in self.__dict__:
            self._converter = _SchemeConverter(self.classes_, self.model_scheme_, self.scheme_)
        return self._converter

    def _predict_ids(self, tokens: list[list[str]], batch_size: int = 128) -> list[list[int]]:
        tag = self._graph_function(
            "tag",
            lambda model: tf.function(
                lambda x: model(x, training=False),
                input_signature=[tf.TensorSpec([None, None], tf.string)],
            ),
        )
        out: list[list[int]] = [[] for _ in tokens]
        order = sorted((i for i in range(len(tokens)) if tokens[i]), key=lambda i: len(tokens[i]))
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            width = max(len(tokens[i]) for i in chunk)
            batch = np.full((len(chunk), width), "", dtype=object)
            for row, i in enumerate(chunk):
                batch[row, : len(tokens[i])] = tokens[i]
            ids = tag(tf.constant(batch, tf.string)).numpy()
            for row, i in enumerate(chunk):
                out[i] = ids[row, : len(tokens[i])].tolist()
        return out

    def predict(self, token_lists: Any, *, batch_size: int = 128) -> list[list[str]]:
        """Tags tokenised sentences.

        Args:
            token_lists: sentences, each a list of token strings.
            batch_size: sentences per model call.

        Returns:
            One list of tags per sentence, in the scheme of the training tags.
        """
        self._check_fitted()
        tokens = self._check_tokens(token_lists, "token_lists")
        ids = self._predict_ids(tokens, batch_size)
        tags = [[self.classes_[i] for i in sentence] for sentence in ids]
        return _entities.convert_scheme(tags, self.model_scheme_, self.scheme_)

    def predict_entities(self, texts: str | Sequence[str]) -> list:
        """Finds the entities of raw text, with character offsets.

        The text is split into words and punctuation (see `tokenize_with_offsets`; the
        exported model splits the same way), tagged, and each entity is returned with
        `text[start:end] == entity["text"]`.

        Args:
            texts: one string, or a list of strings.

        Returns:
            For one string, a list of `{"text", "type", "start", "end"}` dicts; for a list,
            one such list per string.
        """
        self._check_fitted()
        if self.scheme_ is None:
            raise ValueError(
                "`predict_entities` needs entity tags (a chunk scheme such as BIO), but this "
                "tagger was trained on plain labels; use `predict` to tag tokens."
            )
        single = isinstance(texts, str)
        texts_list = as_text_list([texts] if single else texts, "texts")
        spans = [tokenize_with_offsets(text) for text in texts_list]
        tags = self.predict([[tok for tok, _, _ in s] for s in spans])
        results = []
        for text, sentence_spans, sentence_tags in zip(texts_list, spans, tags, strict=True):
            entities = []
            for type_, start, end in _entities.get_entities(sentence_tags):
                begin, finish = sentence_spans[start][1], sentence_spans[end - 1][2]
                entities.append(
                    {"text": text[begin:finish], "type": type_, "start": begin, "end": finish}
                )
            results.append(entities)
        return results[0] if single else results

    def evaluate(
        self, token_lists: Any, tag_lists: Any, *, mode: str = "default"
    ) -> dict[str, Any]:
        """Scores the tagger on tagged sentences.

        Args:
            token_lists: sentences, each a list of token strings.
            tag_lists: their reference tags, in the scheme of the training tags.
            mode: entity matching, `"default"` (as `seqeval` and conlleval) or `"strict"`
                (as `seqeval`'s `mode="strict"`; BIO and BIOES only).

        Returns:
            `{"accuracy", "precision", "recall", "f1", "per_type"}`: token accuracy, and
            entity-level micro precision/recall/F1 with per-type scores. For plain labels
            (part of speech) precision/recall/F1 are per-label token scores, macro-averaged.
        """
        self._check_fitted()
        check_choice(mode, "mode", _entities.MODES)
        tokens, tags = self._check_pairs(token_lists, tag_lists, "token_lists", "tag_lists")
        _entities.check_scheme(tags, self.scheme_, "tag_lists")
        predicted = self.predict(tokens)
        if self.scheme_ is None:
            scores = _entities.label_scores(tags, predicted)
        else:
            scores = _entities.entity_scores(tags, predicted, mode=mode, scheme=self.scheme_)
        return {
            "accuracy": _entities.token_accuracy(tags, predicted),
            "precision": scores["precision"],
            "recall": scores["recall"],
            "f1": scores["f1"],
            "per_type": scores["per_type"],
        }

    # -- persistence and export -------------------------------------------------------------------
    def _get_state(self) -> dict:
        return {
            "classes": self.classes_,
            "scheme": self.scheme_,
            "model_scheme": self.model_scheme_,
            "history": getattr(self, "history_", {}),
            "entity_bias": self.entity_bias_,
        }

    def _set_state(self, state: dict) -> None:
        self.classes_ = list(state["classes"])
        self.scheme_ = state["scheme"]
        self.model_scheme_ = state["model_scheme"]
        self.history_ = state.get("history", {})
        self.entity_bias_ = float(state["entity_bias"])
        self._reset_runtime()

    def _serving_endpoints(self) -> dict:
        def tag_text(text):
            return self._tag_tokens_graph(_tf_tokenize(text))

        def tag_tokens(tokens):
            return self._tag_tokens_graph(_at_least_one_column(tokens))

        def tag_ragged_tokens(values, row_lengths):
            ragged = tf.RaggedTensor.from_row_lengths(values, row_lengths)
            return self._tag_tokens_graph(_at_least_one_column(ragged.to_tensor("")))

        return {
            "serving_default": (tag_text, [tf.TensorSpec([None], tf.string, name="text")]),
            "tag_tokens": (tag_tokens, [tf.TensorSpec([None, None], tf.string, name="tokens")]),
            "tag_ragged_tokens": (
                tag_ragged_tokens,
                [
                    tf.TensorSpec([None], tf.string, name="values"),
                    tf.TensorSpec([None], tf.int64, name="row_lengths"),
                ],
            ),
        }


def _ragged(rows: list[list], dtype: tf.DType) -> tf.RaggedTensor:
    flat = [value for row in rows for value in row]
    values = tf.constant(flat, dtype, shape=[len(flat)])
    return tf.RaggedTensor.from_row_lengths(values, [len(row) for row in rows])


def _rare_from_id(vectorizer: rdata.TextVectorizer, tokens: list[list[str]]) -> int | None:
    """The first id of the words seen once (the vocabulary is sorted by frequency)."""
    ids = vectorizer(_ragged(tokens, tf.string)).numpy().ravel()
    counts = np.bincount(ids, minlength=vectorizer.vocabulary_size)
    rare = np.flatnonzero(counts[4:] <= 1)
    return int(rare[0]) + 4 if rare.size else None


class _BestEpoch(keras.callbacks.Callback):
    """Scores the validation sentences after each epoch, keeps the best weights, stops early.

    The score is entity F1 for entity tags and token accuracy otherwise (what the tagger is
    judged by, unlike the validation loss).
    """

    def __init__(self, tagger: SequenceTagger, tokens, tags, patience: int):
        super().__init__()
        self.tagger, self.tokens, self.tags, self.patience = tagger, tokens, tags, patience

    def on_train_begin(self, logs=None):
        self.best, self.best_weights, self.wait = -math.inf, None, 0

    def on_epoch_end(self, epoch, logs=None):
        predicted = self.tagger.predict(self.tokens)
        if self.tagger.scheme_ is None:
            score = _entities.token_accuracy(self.tags, predicted)
        else:
            score = _entities.entity_scores(self.tags, predicted)["f1"]
        if logs is not None:
            logs["val_score"] = score
        if score > self.best:
            self.best, self.wait = score, 0
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)
