"""The attentional recurrent decoder shared by translation and captioning."""

from __future__ import annotations

import keras
from keras import ops

from rnnkit.checks import check_choice, check_rate, check_units, is_int
from rnnkit.layers._attention import BahdanauAttention, LuongAttention
from rnnkit.layers._registry import recurrent_layer, state_count

_ATTENTIONS = ("luong", "bahdanau")
# The data pipeline's padding id (rnnkit.data.PAD_ID); layers do not import rnnkit.data.
_PAD = 0


@keras.saving.register_keras_serializable(package="rnnkit")
class AttentionDecoder(keras.layers.Layer):
    """Recurrent decoder with attention over a memory (Luong et al., 2015).

    Embeddings of the previous tokens, `num_layers` recurrent layers started from the given
    states, then attention with the top state as query over the memory (an encoder's
    outputs), an attentional vector `tanh(W [context; state])` and a projection to the
    vocabulary. Because the attention sits after the recurrence, teacher forcing (`call`)
    computes the attention of all target positions at once, and each decoding step (`step`)
    is one cell step per layer, one attention query and one output projection.

    Args:
        vocabulary_size: size of the target vocabulary (the softmax's width).
        cell: recurrent layer name from `rnnkit.layers.RECURRENT_LAYERS` (`"gru"`, `"lstm"`).
        units: units of every recurrent layer.
        embedding_dim: size of the target word vectors.
        num_layers: stacked recurrent layers.
        attention: `"luong"` (multiplicative, `general` score) or `"bahdanau"` (additive).
        dropout: dropout on the embeddings and on the attentional vector.
        tie_embeddings: use the embedding matrix as the output projection (plus a bias); the
            attentional vector then has `embedding_dim` units.
        **kwargs: base `keras.layers.Layer` arguments.

    Call arguments:
        target_in: int `[B, T]` previous tokens (teacher forcing), right-padded with 0.
        memory: `[B, S, D]` encoder outputs.
        attention_mask: bool `[B, S]` (True for real positions) or None.
        initial_states: one tuple of `state_count` tensors `[B, units]` per layer.
        training: dropout on or off.

    Returns (`call`): `(logits [B, T, vocabulary_size], attention weights [B, T, S])`.

    Example:
    >>> decoder = AttentionDecoder(10, units=4, embedding_dim=3)
    >>> memory = keras.ops.ones((2, 5, 4))
    >>> states = ((keras.ops.zeros((2, 4)),),)
    >>> logits, weights = decoder(keras.ops.ones((2, 3), "int32"), memory, None, states)
    >>> tuple(logits.shape), tuple(weights.shape)
    ((2, 3, 10), (2, 3, 5))
    >>> keys = decoder.project_keys(memory)
    >>> logits, states, weights = decoder.step(keras.ops.ones((2,), "int32"), states, memory, keys)
    >>> tuple(logits.shape)
    (2, 10)
    """

    def __init__(
        self,
        vocabulary_size,
        cell="gru",
        units=256,
        embedding_dim=128,
        num_layers=1,
        attention="luong",
        dropout=0.0,
        tie_embeddings=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not is_int(vocabulary_size, minimum=2):
            raise ValueError(f"`vocabulary_size` must be an integer >= 2, got {vocabulary_size!r}.")
        check_units(units)
        check_units(embedding_dim, example="embedding_dim=128")
        if not is_int(num_layers, minimum=1):
            raise ValueError(f"`num_layers` must be a positive integer, got {num_layers!r}.")
        check_choice(attention, "attention", _ATTENTIONS)
        rnn = recurrent_layer(cell, name="cell")
        self.vocabulary_size = int(vocabulary_size)
        self.cell = cell
        self.units = int(units)
        self.embedding_dim = int(embedding_dim)
        self.num_layers = int(num_layers)
        self.attention = attention
        self.dropout = check_rate(dropout, "dropout")
        self.tie_embeddings = bool(tie_embeddings)
        self.state_count = state_count(cell)
        # Unit-variance word vectors (as in PyTorch), not Keras's uniform(-0.05, 0.05): with
        # those, states and the attention's gradients start so small that Adam (its epsilon)
        # barely moves the attention (docs/experiments/translation.md).
        self.embedding = keras.layers.Embedding(
            self.vocabulary_size,
            self.embedding_dim,
            embeddings_initializer=keras.initializers.RandomNormal(stddev=1.0),
            mask_zero=True,
            name="target_embedding",
        )
        self.recurrent_layers = [
            rnn(self.units, return_sequences=True, return_state=True, name=f"decoder_{cell}_{i}")
            for i in range(self.num_layers)
        ]
        if attention == "luong":
            self.attention_layer = LuongAttention("general", name="attention")
        else:
            self.attention_layer = BahdanauAttention(self.units, name="attention")
        # Tied: the output layer is the embedding matrix (plus a bias), so the attentional
        # vector has the embedding size and the softmax works on `embedding_dim` inputs.
        self.attentional = keras.layers.Dense(
            self.embedding_dim if self.tie_embeddings else self.units,
            activation="tanh",
            use_bias=False,
            name="attentional",
        )
        self.output_layer = None
        if not self.tie_embeddings:
            self.output_layer = keras.layers.Dense(self.vocabulary_size, name="logits")
        self.dropout_layer = keras.layers.Dropout(self.dropout, name="dropout")

    def build(self, *args, **kwargs):
        if self.tie_embeddings:
            self.output_bias = self.add_weight(
                shape=(self.vocabulary_size,), initializer="zeros", name="output_bias"
            )
        self.built = True

    def project_keys(self, memory):
        """The attention's projection of `memory`, computed once per decoded sequence."""
        return self.attention_layer.project_keys(memory)

    def output_weights(self):
        """The output projection as `(kernel [V, D], bias [V])`."""
        if self.output_layer is not None:
            return ops.transpose(self.output_layer.kernel), self.output_layer.bias
        return self.embedding.embeddings, self.output_bias

    def logits(self, attentional):
        """Logits `[..., V]` of attentional vectors `[..., D]`."""
        if self.output_layer is not None:
            return self.output_layer(attentional)
        embeddings = ops.cast(self.embedding.embeddings, attentional.dtype)
        # One 2-D matmul (an einsum over "...d,vd" measured 20x slower to train).
        flat = ops.reshape(attentional, (-1, attentional.shape[-1]))
        logits = ops.matmul(flat, ops.transpose(embeddings)) + self.output_bias
        return ops.reshape(logits, (*ops.shape(attentional)[:-1], self.vocabulary_size))

    def _attentional_vector(self, query, context, training=False):
        attentional = self.attentional(ops.concatenate([context, query], axis=-1))
        return self.dropout_layer(attentional, training=training)

    def vectors(self, target_in, memory, attention_mask, initial_states, training=False):
        """Teacher-forced attentional vectors `[B, T, D]` (the softmax's inputs) and weights."""
        x = self.dropout_layer(self.embedding(target_in), training=training)
        target_mask = ops.not_equal(target_in, _PAD)
        for layer, layer_states in zip(self.recurrent_layers, initial_states, strict=True):
            x = layer(x, initial_state=list(layer_states), mask=target_mask, training=training)[0]
        context, weights = self.attention_layer(x, memory, mask=attention_mask)
        return self._attentional_vector(x, context, training), weights

    def call(self, target_in, memory, attention_mask=None, initial_states=None, training=False):
        attentional, weights = self.vectors(
            target_in, memory, attention_mask, initial_states, training
        )
        return self.logits(attentional), weights

    def step(self, tokens, states, memory, projected_keys, attention_mask=None, training=False):
        """One decoding step: `tokens [N]` -> `(logits [N, V], new states, weights [N, S])`."""
        # A plain lookup: the Embedding layer would attach a padding mask the cells do not take.
        x = ops.take(self.embedding.embeddings, tokens, axis=0)
        x = self.dropout_layer(x, training=training)
        new_states = []
        for layer, layer_states in zip(self.recurrent_layers, states, strict=True):
            x, cell_states = layer.cell(x, list(layer_states), training=training)
            new_states.append(tuple(cell_states))
        context, weights = self.attention_layer(
            x, memory, projected_keys=projected_keys, mask=attention_mask
        )
        logits = self.logits(self._attentional_vector(x, context, training))
        return logits, tuple(new_states), weights

    def compute_output_spec(self, target_in, memory, attention_mask=None, initial_states=None, **_):
        batch, steps = target_in.shape[0], target_in.shape[1]
        return (
            keras.KerasTensor((batch, steps, self.vocabulary_size), dtype=self.compute_dtype),
            keras.KerasTensor((batch, steps, memory.shape[1]), dtype=self.compute_dtype),
        )

    def get_config(self):
        config = {
            "vocabulary_size": self.vocabulary_size,
            "cell": self.cell,
            "units": self.units,
            "embedding_dim": self.embedding_dim,
            "num_layers": self.num_layers,
            "attention": self.attention,
            "dropout": self.dropout,
            "tie_embeddings": self.tie_embeddings,
        }
        return {**super().get_config(), **config}
