"""Word dropout: in training, word ids become the unknown-word id at random."""

import keras
from keras import ops

from rnnkit.checks import check_fraction


@keras.saving.register_keras_serializable(package="rnnkit")
class WordDropout(keras.layers.Layer):
    """In training, replaces word ids by the unknown-word id at random.

    A model then learns to handle words it has never seen from their characters and
    context. Words from `rare_from_id` on (with a vocabulary sorted by frequency: the words
    seen once) are replaced with probability `rare_rate`, other words with `rate`. Padding
    (id 0) and the unknown id itself are never touched; outside training the layer is the
    identity.

    Args:
        rate: probability of replacing a word id.
        rare_rate: probability of replacing the id of a rare word.
        rare_from_id: the first id of the rare words (None: no rare words).
        oov_id: the id of unknown words.
        seed: seed of the random draws.
        **kwargs: base `keras.layers.Layer` arguments.

    Example:
    >>> import numpy as np
    >>> layer = WordDropout(1.0, seed=0)
    >>> layer(np.array([[0, 1, 5, 7]]), training=True).numpy().tolist()
    [[0, 1, 1, 1]]
    >>> layer(np.array([[0, 1, 5, 7]])).numpy().tolist()
    [[0, 1, 5, 7]]
    """

    def __init__(self, rate, rare_rate=0.0, rare_from_id=None, oov_id=1, seed=None, **kwargs):
        super().__init__(**kwargs)
        check_fraction(rate, "rate", upper_inclusive=True)
        check_fraction(rare_rate, "rare_rate", upper_inclusive=True)
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


# Files saved before the layer moved into rnnkit name it `TaggerWordDropout`; Keras finds a layer's
# weights in a file by its class name, so the old name is a class (for loading them only).
@keras.saving.register_keras_serializable(package="rnnkit")
class TaggerWordDropout(WordDropout):
    """`WordDropout` under its old name, so that `.keras` files saved with it still load."""
