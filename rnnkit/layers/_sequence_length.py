"""Truncation of right-padded token ids to a longest length, keeping at least one step."""

import keras
from keras import ops

from rnnkit.checks import check_positive_int


@keras.saving.register_keras_serializable(package="rnnkit")
class SequenceLength(keras.layers.Layer):
    """Truncates right-padded token ids `[B, T]` to at most `max_length` steps, at least one.

    An empty batch of texts (`T == 0`) becomes one padding column, so recurrent layers never
    see zero time steps (its mask is all False and masked pooling returns zeros).

    Args:
        max_length: the longest sequence kept; longer ones lose their tail.
        **kwargs: base `keras.layers.Layer` arguments.

    Example:
    >>> import numpy as np
    >>> SequenceLength(2)(np.array([[5, 6, 7]])).numpy().tolist()
    [[5, 6]]
    >>> SequenceLength(2)(np.zeros((1, 0), "int32")).numpy().tolist()
    [[0]]
    """

    def __init__(self, max_length, **kwargs):
        super().__init__(**kwargs)
        check_positive_int(max_length, "max_length")
        self.max_length = int(max_length)

    def call(self, ids):
        batch, steps = ops.shape(ids)[0], ops.shape(ids)[1]
        keep = ops.minimum(ops.maximum(steps, 1), self.max_length)
        padding = ops.zeros((batch, 1), dtype=ids.dtype)
        return ops.concatenate([ids, padding], axis=1)[:, :keep]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], None)

    def get_config(self):
        config = {"max_length": self.max_length}
        return {**super().get_config(), **config}
