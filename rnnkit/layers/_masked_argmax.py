"""Per-step class ids from scores: argmax over the last axis, 0 at masked steps."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="rnnkit")
class MaskedArgmax(keras.layers.Layer):
    """Class ids from per-step scores `[B, T, K]`: argmax over the last axis, 0 where masked.

    The mask passes through, so padded steps stay marked as padding.

    Args:
        **kwargs: base `keras.layers.Layer` arguments.

    Example:
    >>> import numpy as np
    >>> scores = np.array([[[0.1, 0.9], [0.8, 0.2], [0.0, 5.0]]], "float32")
    >>> MaskedArgmax()(scores, mask=np.array([[True, True, False]])).numpy().tolist()
    [[1, 0, 0]]
    """

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


# Files saved before the layer moved into rnnkit name it `TaggerArgmax`; Keras finds a layer's
# weights in a file by its class name, so the old name is a class (for loading them only).
@keras.saving.register_keras_serializable(package="rnnkit")
class TaggerArgmax(MaskedArgmax):
    """`MaskedArgmax` under its old name, so that `.keras` files saved with it still load."""
