"""A convolutional image encoder: a feature grid as memory, with a bridge to a decoder's states."""

from __future__ import annotations

import os

import keras
import numpy as np
from keras import ops

from rnnkit.checks import check_bool, check_choice, check_rate, check_units, is_int
from rnnkit.layers import recurrent_layer, state_count

_RESCALE = {"unit": (1 / 255, 0.0), "symmetric": (2 / 255, -1.0), "raw": (1.0, 0.0)}


def _application_names() -> list[str]:
    return sorted(
        name
        for name in dir(keras.applications)
        if name[:1].isupper() and callable(getattr(keras.applications, name))
    )


def _check_size(image_size):
    if not (
        isinstance(image_size, tuple | list)
        and len(image_size) == 2
        and all(is_int(v, minimum=1) for v in image_size)
    ):
        raise ValueError(
            f"`image_size` must be a pair `(height, width)` of positive ints, got {image_size!r}."
        )
    return int(image_size[0]), int(image_size[1])


@keras.saving.register_keras_serializable(package="rnnkit")
class ImageEncoder(keras.layers.Layer):
    """Images -> memory (the backbone's feature grid), no mask, and a decoder's initial states.

    Images (`uint8` or float in 0-255, any height and width) are resized to `image_size` in
    the graph, scaled (`rescale`) and run through the backbone: by default a small CNN of
    `filters` blocks (3x3 convolution, batch normalisation, ReLU; 2x2 max-pooling between
    blocks, so the grid is `image_size / 2 ** (len(filters) - 1)`). Each cell of the feature
    grid, projected to `units` and added to a learned embedding of its position (attention
    over a grid has no notion of "next" otherwise), is one memory vector; per decoder layer a
    `tanh` bridge from the grid's mean gives the initial states. This is the encoder contract
    of `rnnkit.models.EncoderDecoder`: `call(images)` returns `(memory, None, states)`.

    Args:
        image_size: `(height, width)` images are resized to.
        backbone: `"cnn"` (the built-in CNN), the name of a `keras.applications` model (built
            with `include_top=False` and random weights: nothing is downloaded), or a Keras
            model from images `[B, H, W, 3]` to a feature map `[B, h, w, C]` (or `[B, S, C]`).
        weights: a weights file of the backbone (`backbone.load_weights(weights)`, e.g. a
            `.weights.h5` a user saved), loaded when the encoder is made; None: as built.
        filters: filters of each block of the built-in CNN.
        units: size of the memory vectors.
        decoder_units: units of the decoder's layers (the bridges' outputs).
        num_layers: decoder layers to make initial states for.
        cell: the decoder's recurrent layer name (how many states each layer has).
        freeze_encoder: keep the backbone's weights fixed (the projection, position
            embedding and bridges still train).
        rescale: pixel scaling before the backbone: `"unit"` (0-1), `"symmetric"` (-1 to 1,
            e.g. MobileNetV2) or `"raw"` (0-255, for backbones that scale inside, e.g.
            EfficientNet, MobileNetV3).
        dropout: dropout on the memory vectors.
        grid_rnn: a recurrent layer name (`rnnkit.layers.RECURRENT_LAYERS`): a bidirectional
            layer of `units // 2` per direction reads the grid cells column by column, left
            to right, so each memory vector also knows what lies before and after it (which
            digit of a string it is); None: the projected cells as they are.
        **kwargs: base `keras.layers.Layer` arguments.

    Example:
    >>> encoder = ImageEncoder((8, 12), filters=(4, 8), units=6, decoder_units=5)
    >>> memory, mask, states = encoder(np.zeros((2, 16, 16, 3), "uint8"))
    >>> tuple(memory.shape), mask, tuple(states[0][0].shape)
    ((2, 24, 6), None, (2, 5))
    """

    def __init__(
        self,
        image_size=(32, 32),
        backbone="cnn",
        weights=None,
        filters=(32, 64, 128),
        units=128,
        decoder_units=256,
        num_layers=1,
        cell="gru",
        freeze_encoder=False,
        rescale="unit",
        dropout=0.0,
        grid_rnn=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.image_size = _check_size(image_size)
        if not (
            isinstance(filters, tuple | list)
            and filters
            and all(is_int(f, minimum=1) for f in filters)
        ):
            raise ValueError(
                f"`filters` must be a non-empty list of positive ints, got {filters!r}."
            )
        check_units(units)
        check_units(decoder_units, example="decoder_units=256")
        if not is_int(num_layers, minimum=1):
            raise ValueError(f"`num_layers` must be a positive integer, got {num_layers!r}.")
        check_bool(freeze_encoder, "freeze_encoder")
        check_choice(rescale, "rescale", list(_RESCALE))
        if weights is not None and not os.path.isfile(os.fspath(weights)):
            raise FileNotFoundError(
                f"`weights` {os.fspath(weights)!r} is not a file: pass the path of a weights "
                "file saved with `model.save_weights(...)`, or None."
            )
        self.filters = [int(f) for f in filters]
        self.units = int(units)
        self.decoder_units = int(decoder_units)
        self.num_layers = int(num_layers)
        self.cell = cell
        self.state_count = state_count(cell)
        self.freeze_encoder = bool(freeze_encoder)
        self.rescale = rescale
        self.dropout = check_rate(dropout, "dropout")
        self.backbone_name = backbone if isinstance(backbone, str) else None
        self.backbone = self._make_backbone(backbone)
        if weights is not None:
            self.backbone.load_weights(os.fspath(weights))
        self.backbone.trainable = not self.freeze_encoder
        self.projection = keras.layers.Dense(self.units, name="projection")
        self.bridges = [
            [
                keras.layers.Dense(self.decoder_units, activation="tanh", name=f"bridge_{i}_{j}")
                for j in range(self.state_count)
            ]
            for i in range(self.num_layers)
        ]
        self.dropout_layer = keras.layers.Dropout(self.dropout, name="dropout")
        self.grid_rnn = grid_rnn
        self.grid_layer = None
        if grid_rnn is not None:
            rnn = recurrent_layer(grid_rnn, name="grid_rnn")
            self.grid_layer = keras.layers.Bidirectional(
                rnn(max(1, self.units // 2), return_sequences=True), name="grid_rnn"
            )

    def _make_backbone(self, backbone):
        height, width = self.image_size
        if isinstance(backbone, dict):
            backbone = keras.saving.deserialize_keras_object(backbone)
        if isinstance(backbone, keras.Model):
            return backbone
        if backbone == "cnn":
            layers = [keras.Input((height, width, 3))]
            for i, filters in enumerate(self.filters):
                if i:
                    layers.append(keras.layers.MaxPooling2D(2, padding="same"))
                layers += [
                    keras.layers.Conv2D(filters, 3, padding="same", use_bias=False),
                    keras.layers.BatchNormalization(momentum=0.9),
                    keras.layers.ReLU(),
                ]
            return keras.Sequential(layers, name="cnn")
        names = _application_names()
        if not isinstance(backbone, str) or backbone not in names:
            raise ValueError(
                f"`backbone` must be 'cnn', a keras.applications name ({', '.join(names)}) or "
                f"a keras.Model, got {backbone!r}."
            )
        application = getattr(keras.applications, backbone)
        return application(include_top=False, weights=None, input_shape=(height, width, 3))

    def build(self, input_shape=None):
        # Every sublayer makes its weights on a tiny batch (Keras calls this when loading).
        if not self.projection.built:
            self._grid = self._grid_size()
            self.positions = self.add_weight(
                shape=(self._grid, self.units),
                initializer=keras.initializers.RandomNormal(stddev=0.1),
                name="positions",
            )
            self.call(self.example_inputs())
        self.built = True

    def grid_shape(self):
        """The feature grid behind the memory: `(h, w)` (memory row `i * w + j` is cell
        `(i, j)`), or `(S,)` for a backbone that outputs a sequence."""
        shape = self.backbone.compute_output_shape((1, *self.image_size, 3))
        if len(shape) not in (3, 4) or any(d is None for d in shape[1:]):
            raise ValueError(
                f"`backbone` must map images to a feature map [B, h, w, C] or [B, S, C] of "
                f"fixed size, but gives {shape} for {self.image_size} images."
            )
        return tuple(int(d) for d in shape[1:-1])

    def _grid_size(self):
        return int(np.prod(self.grid_shape()))

    def preprocess(self, images):
        """Images `[B, H, W, 3]` (0-255) -> resized and scaled floats `[B, height, width, 3]`."""
        if len(images.shape) != 4 or images.shape[-1] not in (None, 3):
            raise ValueError(
                f"`images` must have shape [batch, height, width, 3] (RGB), got shape "
                f"{tuple(images.shape)}."
            )
        x = ops.image.resize(ops.cast(images, "float32"), self.image_size, antialias=True)
        scale, offset = _RESCALE[self.rescale]
        return ops.cast(x * scale + offset, self.compute_dtype)

    def call(self, images, training=False):
        features = self.backbone(self.preprocess(images), training=training)
        features = ops.reshape(features, (ops.shape(features)[0], -1, features.shape[-1]))
        memory = self.projection(features) + ops.cast(self.positions, self.compute_dtype)
        if self.grid_layer is not None:
            memory = self._read_grid(memory, training)
        memory = self.dropout_layer(memory, training=training)
        pooled = ops.mean(memory, axis=1)
        states = tuple(tuple(bridge(pooled) for bridge in bridges) for bridges in self.bridges)
        return memory, None, states

    def _read_grid(self, memory, training):
        grid = self.grid_shape()
        if len(grid) == 1:
            return self.grid_layer(memory, training=training)
        # Column by column, left to right (as text is read), back in row-major order after.
        height, width = grid
        x = ops.reshape(memory, (-1, height, width, memory.shape[-1]))
        x = ops.reshape(ops.transpose(x, (0, 2, 1, 3)), (-1, width * height, x.shape[-1]))
        x = self.grid_layer(x, training=training)
        x = ops.transpose(ops.reshape(x, (-1, width, height, x.shape[-1])), (0, 2, 1, 3))
        return ops.reshape(x, (-1, height * width, x.shape[-1]))

    def example_inputs(self):
        """A tiny batch of images that builds every weight."""
        return ops.zeros((1, *self.image_size, 3), dtype="uint8")

    def compute_output_spec(self, images, training=False):
        batch = images.shape[0]
        width = self.units if self.grid_layer is None else 2 * max(1, self.units // 2)
        memory = keras.KerasTensor((batch, self._grid_size(), width), dtype=self.compute_dtype)
        state = keras.KerasTensor((batch, self.decoder_units), dtype=self.compute_dtype)
        return memory, None, tuple((state,) * self.state_count for _ in range(self.num_layers))

    def get_config(self):
        backbone = self.backbone_name
        if backbone is None:
            backbone = keras.saving.serialize_keras_object(self.backbone)
        config = {
            "image_size": list(self.image_size),
            "backbone": backbone,
            # The backbone's weights travel with the model's own (a `.keras` file).
            "weights": None,
            "filters": list(self.filters),
            "units": self.units,
            "decoder_units": self.decoder_units,
            "num_layers": self.num_layers,
            "cell": self.cell,
            "freeze_encoder": self.freeze_encoder,
            "rescale": self.rescale,
            "dropout": self.dropout,
            "grid_rnn": self.grid_rnn,
        }
        return {**super().get_config(), **config}
