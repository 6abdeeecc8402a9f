"""A bidirectional recurrent text encoder with a bridge to a decoder's initial states."""

from __future__ import annotations

import keras
from keras import ops

from rnnkit.checks import check_rate, check_units, is_int
from rnnkit.layers import recurrent_layer, state_count

_PAD = 0  # rnnkit.data.PAD_ID


@keras.saving.register_keras_serializable(package="rnnkit")
class TextEncoder(keras.layers.Layer):
    """Token ids -> memory, mask and a decoder's initial states.

    Embeddings, `num_layers` bidirectional recurrent layers (each over the previous one's
    outputs), and per layer a `tanh` bridge from the final forward and backward states to the
    initial states of the matching decoder layer. This is the encoder contract of
    `rnnkit.models.EncoderDecoder`: `call(ids)` returns `(memory, mask, initial_states)`.

    Args:
        vocabulary_size: size of the source vocabulary (id 0 is padding).
        cell: recurrent layer name (`rnnkit.layers.RECURRENT_LAYERS`), also the decoder's.
        units: units per direction of every layer (memory has `2 * units` features).
        embedding_dim: size of the word vectors.
        num_layers: stacked bidirectional layers (and decoder layers bridged to).
        decoder_units: units of the decoder's layers (the bridges' outputs).
        dropout: dropout on the embeddings.
        max_length: inputs longer than this many tokens are truncated; None keeps them.
        **kwargs: base `keras.layers.Layer` arguments.

    Example:
    >>> encoder = TextEncoder(20, units=3, embedding_dim=4, decoder_units=5)
    >>> memory, mask, states = encoder(keras.ops.array([[4, 5, 0]]))
    >>> tuple(memory.shape), mask.numpy().tolist(), tuple(states[0][0].shape)
    ((1, 3, 6), [[True, True, False]], (1, 5))
    """

    def __init__(
        self,
        vocabulary_size,
        cell="gru",
        units=128,
        embedding_dim=128,
        num_layers=1,
        decoder_units=256,
        dropout=0.0,
        max_length=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not is_int(vocabulary_size, minimum=2):
            raise ValueError(f"`vocabulary_size` must be an integer >= 2, got {vocabulary_size!r}.")
        check_units(units)
        check_units(decoder_units, example="decoder_units=256")
        check_units(embedding_dim, example="embedding_dim=128")
        if not is_int(num_layers, minimum=1):
            raise ValueError(f"`num_layers` must be a positive integer, got {num_layers!r}.")
        if max_length is not None and not is_int(max_length, minimum=1):
            raise ValueError(
                f"`max_length` must be a positive integer or None, got {max_length!r}."
            )
        rnn = recurrent_layer(cell, name="cell")
        self.vocabulary_size = int(vocabulary_size)
        self.cell = cell
        self.units = int(units)
        self.embedding_dim = int(embedding_dim)
        self.num_layers = int(num_layers)
        self.decoder_units = int(decoder_units)
        self.dropout = check_rate(dropout, "dropout")
        self.max_length = max_length
        self.state_count = state_count(cell)
        # Unit-variance word vectors: see AttentionDecoder.
        self.embedding = keras.layers.Embedding(
            self.vocabulary_size,
            self.embedding_dim,
            embeddings_initializer=keras.initializers.RandomNormal(stddev=1.0),
            mask_zero=True,
            name="source_embedding",
        )
        self.recurrent_layers = [
            keras.layers.Bidirectional(
                rnn(
                    self.units, return_sequences=True, return_state=True, name=f"encoder_{cell}_{i}"
                ),
                name=f"encoder_{i}",
            )
            for i in range(self.num_layers)
        ]
        self.bridges = [
            [
                keras.layers.Dense(self.decoder_units, activation="tanh", name=f"bridge_{i}_{j}")
                for j in range(self.state_count)
            ]
            for i in range(self.num_layers)
        ]
        self.dropout_layer = keras.layers.Dropout(self.dropout, name="dropout")

    def build(self, input_shape=None):
        # Every sublayer makes its weights on a tiny batch (Keras calls this when loading).
        if not self.embedding.built:
            self.call(self.example_inputs())
        self.built = True

    def clip(self, ids):
        """Truncates `[B, S]` ids to `max_length` steps, keeping at least one step."""
        padding = ops.zeros((ops.shape(ids)[0], 1), dtype=ids.dtype)
        ids = ops.concatenate([ids, padding], axis=1)
        steps = ops.maximum(ops.shape(ids)[1] - 1, 1)
        if self.max_length is not None:
            steps = ops.minimum(steps, self.max_length)
        return ids[:, :steps]

    def call(self, ids, training=False):
        ids = self.clip(ops.cast(ids, "int32"))
        mask = ops.not_equal(ids, _PAD)
        x = self.dropout_layer(self.embedding(ids), training=training)
        states = []
        n = self.state_count
        for layer, bridges in zip(self.recurrent_layers, self.bridges, strict=True):
            outputs = layer(x, mask=mask, training=training)
            x, finals = outputs[0], outputs[1:]
            states.append(
                tuple(
                    bridge(ops.concatenate([finals[j], finals[j + n]], axis=-1))
                    for j, bridge in enumerate(bridges)
                )
            )
        return x, mask, tuple(states)

    def generation_limit(self, ids):
        """Most tokens worth generating for these inputs: twice the source length plus 10."""
        return 2 * ops.shape(self.clip(ops.cast(ids, "int32")))[1] + 10

    def example_inputs(self):
        """A tiny batch of ids that builds every weight."""
        return ops.ones((1, 2), dtype="int32")

    def compute_output_spec(self, ids, training=False):
        batch, steps = ids.shape[0], ids.shape[1]
        if steps is not None and self.max_length is not None:
            steps = min(steps, self.max_length)
        memory = keras.KerasTensor((batch, steps, 2 * self.units), dtype=self.compute_dtype)
        mask = keras.KerasTensor((batch, steps), dtype="bool")
        state = keras.KerasTensor((batch, self.decoder_units), dtype=self.compute_dtype)
        return memory, mask, tuple((state,) * self.state_count for _ in range(self.num_layers))

    def get_config(self):
        config = {
            "vocabulary_size": self.vocabulary_size,
            "cell": self.cell,
            "units": self.units,
            "embedding_dim": self.embedding_dim,
            "num_layers": self.num_layers,
            "decoder_units": self.decoder_units,
            "dropout": self.dropout,
            "max_length": self.max_length,
        }
        return {**super().get_config(), **config}
