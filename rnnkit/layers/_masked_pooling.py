"""Pooling of `[B, T, D]` sequences over their real (unmasked) steps only."""

import keras
import numpy as np
from keras import ops

from rnnkit.checks import check_choice

_MODES = ("mean_max", "mean", "max")


@keras.saving.register_keras_serializable(package="rnnkit")
class MaskedPooling1D(keras.layers.Layer):
    """Pools `[B, T, D]` sequences over the real (unmasked) steps only.

    Padding never changes the result, so a text gets the same vector whatever it is batched
    with. A sequence with no real step pools to zeros.

    Args:
        mode: `"mean_max"` (mean and max concatenated, `[B, 2D]`), `"mean"` or `"max"`
            (`[B, D]`).
        **kwargs: base `keras.layers.Layer` arguments.

    Call arguments:
        inputs: `[B, T, D]` floats.
        mask: optional `[B, T]` booleans, True at real steps (Keras passes it on).

    Example:
    >>> import numpy as np
    >>> x = np.array([[[1.0], [3.0], [99.0]]], "float32")
    >>> mask = np.array([[True, True, False]])
    >>> MaskedPooling1D("mean_max")(x, mask=mask).numpy().tolist()
    [[2.0, 3.0]]
    """

    def __init__(self, mode="mean_max", **kwargs):
        super().__init__(**kwargs)
        check_choice(mode, "mode", _MODES)
        self.mode = mode
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            mask = ops.ones(ops.shape(inputs)[:2], dtype="bool")
        real = ops.expand_dims(ops.cast(mask, "bool"), -1)
        weights = ops.cast(real, inputs.dtype)
        count = ops.sum(weights, axis=1)
        outputs = []
        if self.mode in ("mean_max", "mean"):
            total = ops.sum(ops.where(real, inputs, ops.zeros_like(inputs)), axis=1)
            outputs.append(total / ops.maximum(count, 1.0))
        if self.mode in ("mean_max", "max"):
            lowest = ops.full_like(inputs, float(np.finfo(np.float32).min))
            peak = ops.max(ops.where(real, inputs, lowest), axis=1)
            outputs.append(ops.where(count > 0, peak, ops.zeros_like(peak)))
        return outputs[0] if len(outputs) == 1 else ops.concatenate(outputs, axis=-1)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        width = input_shape[-1] * (2 if self.mode == "mean_max" else 1)
        return (input_shape[0], width)

    def get_config(self):
        config = {"mode": self.mode}
        return {**super().get_config(), **config}
