"""Word features from characters: a character CNN or BiLSTM per token, plus word-shape flags."""

from collections.abc import Sequence

import keras
from keras import ops

from rnnkit.checks import check_choice, check_positive_int
from rnnkit.layers._registry import RECURRENT_LAYERS

_KINDS = ("cnn", "lstm")


@keras.saving.register_keras_serializable(package="rnnkit")
class CharacterWordEncoder(keras.layers.Layer):
    """Encodes each token from its characters: `[B, T, C]` char ids -> `[B, T, units]`.

    Padding characters (id 0) are ignored exactly (their embeddings are zeroed before the
    convolution and they are left out of the max; the recurrent encoder masks them), so a
    token's features do not depend on how long the other tokens of its batch are.

    With `char_classes` (one class per character id, see `character_classes`), it also
    appends `NUM_SHAPE_FEATURES` word-shape indicators to each token's features: first letter
    upper case, all letters upper case, an upper-case letter after the first character, all
    lower case, has a digit, only digits, no letter or digit, starts with "@", starts with "#".

    Args:
        vocabulary_size: number of character ids.
        kind: `"cnn"` (convolution + max over characters) or `"lstm"` (final states of a
            character BiLSTM).
        embedding_dim: character embedding size.
        units: output features per token (before the shape features).
        kernel_size: convolution width for `"cnn"`.
        cell: the recurrent layer for `kind="lstm"`, a name in `RECURRENT_LAYERS`.
        char_classes: optional list of `vocabulary_size` ints (0 padding/reserved, 1 upper
            case, 2 other letter, 3 digit, 4 other, 5 "@", 6 "#") for the shape features.
        seed: seed of the initialisers.
        **kwargs: base `keras.layers.Layer` arguments.

    Example:
    >>> import numpy as np
    >>> layer = CharacterWordEncoder(10, kind="cnn", embedding_dim=3, units=4, seed=0)
    >>> layer(np.array([[[2, 3, 0], [4, 0, 0]]])).shape
    TensorShape([1, 2, 4])
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
        check_choice(kind, "kind", _KINDS)
        check_choice(cell, "cell", list(RECURRENT_LAYERS))
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
            rnn = RECURRENT_LAYERS[cell]
            self.encoder = keras.layers.Bidirectional(
                rnn(units // 2, kernel_initializer=keras.initializers.GlorotUniform(seed=seed)),
                name="char_rnn",
            )

    @staticmethod
    def character_classes(vocabulary: Sequence[str]) -> list[int]:
        """The `char_classes` of a character vocabulary, for the shape features.

        Args:
            vocabulary: the character vocabulary (`TextVectorizer.get_vocabulary()`; the
                first four entries are reserved).

        Returns:
            One int per character: 0 reserved, 1 upper case, 2 other letter, 3 digit,
            5 "@", 6 "#", 4 anything else.

        Example:
        >>> CharacterWordEncoder.character_classes(["", "[UNK]", "[S]", "[E]", "A", "b", "7", "#"])
        [0, 0, 0, 0, 1, 2, 3, 6]
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

    def build(self, input_shape):
        self.embedding.build((None, None))
        self.encoder.build((None, None, self.embedding_dim))

    def call(self, char_ids):
        shape = ops.shape(char_ids)
        tokens = shape[0] * shape[1]
        flat = ops.reshape(char_ids, (tokens, shape[2]))
        # Without a character (a batch of empty tokens) or a token (an empty batch), one
        # padding column or token is added (and cut off below): TensorFlow's loops and
        # convolutions refuse zero steps. Other inputs run unchanged.
        width = ops.maximum(shape[2], 1)
        flat = ops.concatenate([flat, ops.zeros((tokens, width - shape[2]), flat.dtype)], axis=1)
        flat = ops.concatenate(
            [flat, ops.zeros((ops.maximum(1 - tokens, 0), width), flat.dtype)], axis=0
        )
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
        return ops.reshape(h[:tokens], (shape[0], shape[1], self.output_units))

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


# Files saved before the layer moved into rnnkit name it `TaggerCharEncoder`; Keras finds a layer's
# weights in a file by its class name, so the old name is a class (for loading them only).
@keras.saving.register_keras_serializable(package="rnnkit")
class TaggerCharEncoder(CharacterWordEncoder):
    """`CharacterWordEncoder` under its old name, so that `.keras` files saved with it still load."""
