"""A shift of per-token tag scores towards (or away from) entity tags, before decoding."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="rnnkit")
class EntityBias(keras.layers.Layer):
    """Adds `bias` to the score of every tag but the first one (`"O"`, no entity).

    `bias` is a non-trainable scalar weight, set after training (`layer.bias.assign(x)`): a
    positive bias makes the decoder find more entities (recall up, precision down), a
    negative one fewer. With a CRF the shift is the same at every position, so it changes
    the Viterbi path only through how many tokens are entity tokens. Masks pass through.

    Args:
        **kwargs: base `keras.layers.Layer` arguments.

    Example:
    >>> import numpy as np
    >>> layer = EntityBias()
    >>> layer.build((None, None, 3))
    >>> _ = layer.bias.assign(0.5)
    >>> layer(np.zeros((1, 1, 3), "float32")).numpy().tolist()
    [[[0.0, 0.5, 0.5]]]
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


# Files saved before the layer moved into rnnkit name it `TaggerEntityBias`; Keras finds a layer's
# weights in a file by its class name, so the old name is a class (for loading them only).
@keras.saving.register_keras_serializable(package="rnnkit")
class TaggerEntityBias(EntityBias):
    """`EntityBias` under its old name, so that `.keras` files saved with it still load."""
