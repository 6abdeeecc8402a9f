"""Fully-connected recurrence: `SimpleRNNCell` and the fused `SimpleRNN` layer."""

import keras
from keras import ops

from rnnkit.layers._rnn import _FusedCell, _FusedRNN


@keras.saving.register_keras_serializable(package="rnnkit")
class SimpleRNNCell(_FusedCell):
    """One step `h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)`.

    Weight-compatible with `keras.layers.SimpleRNNCell`: `kernel` `(input_dim, units)`,
    `recurrent_kernel` `(units, units)`, `bias` `(units,)`.

    Args:
        units: Positive integer, size of the state.
        activation: Activation of the new state. Default `"tanh"`.
        use_bias: Whether there is a bias. Default `True`.
        kernel_initializer: Initializer of `kernel`. Default `"glorot_uniform"`.
        recurrent_initializer: Initializer of `recurrent_kernel`. Default `"orthogonal"`.
        bias_initializer: Initializer of `bias`. Default `"zeros"`.
        kernel_regularizer: Regularizer of `kernel`.
        recurrent_regularizer: Regularizer of `recurrent_kernel`.
        bias_regularizer: Regularizer of `bias`.
        kernel_constraint: Constraint of `kernel`.
        recurrent_constraint: Constraint of `recurrent_kernel`.
        bias_constraint: Constraint of `bias`.
        dropout: Fraction in [0, 1] of the inputs to drop in training. Default 0.
        recurrent_dropout: Fraction in [0, 1] of the recurrent state to drop in training.
            Default 0.
        seed: Seed of the dropout masks.

    Call arguments:
        inputs: `(batch, features)` tensor.
        states: `[h]` (or `h`), a `(batch, units)` tensor.
        training: Whether dropout applies.

    Returns:
        `(h, [h])` (or `(h, h)` when `states` was a bare tensor).

    Example:

    >>> import numpy as np, keras
    >>> layer = keras.layers.RNN(SimpleRNNCell(4))
    >>> tuple(layer(np.ones((2, 3, 5), "float32")).shape)
    (2, 4)
    """

    _gates = 1

    def __init__(
        self,
        units,
        activation="tanh",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        **kwargs,
    ):
        super().__init__(
            units,
            activation=activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint,
            dropout=dropout,
            recurrent_dropout=recurrent_dropout,
            seed=seed,
            **kwargs,
        )
        self.state_size = units

    def build(self, input_shape):
        super().build(input_shape)
        self._add_kernels(input_shape[-1])
        if self.use_bias:
            self._add_bias((self.units,), self.bias_initializer)
        else:
            self.bias = None

    # Keras's SimpleRNNCell applies any non-zero rate, 1 included.
    def _input_dropout_applies(self, training):
        return bool(training) and self.dropout > 0.0

    def _recurrent_dropout_applies(self, training):
        return bool(training) and self.recurrent_dropout > 0.0

    def _project_inputs(self, inputs, training=False):
        masks = self._input_masks(inputs, training)
        return self._project(inputs, self.kernel, self.bias, masks)

    def _step_function(self, h0, training=False):
        recurrent_kernel = ops.convert_to_tensor(self.recurrent_kernel)
        masks = self._recurrent_masks(h0, training)
        activation = self.activation

        def step(x, states):
            h = activation(x + self._recurrent_matmul(states[0], recurrent_kernel, masks))
            return h, [h]

        return step


@keras.saving.register_keras_serializable(package="rnnkit")
class SimpleRNN(_FusedRNN):
    """Fully-connected RNN layer, a drop-in for `keras.layers.SimpleRNN`.

    Same arguments, weights and numbers as `keras.layers.SimpleRNN`; the input projection of
    all time steps is one matmul outside the time loop (measured against Keras in
    benchmarks/layers.py).

    Args:
        units: Positive integer, size of the state.
        activation: Activation of the new state. Default `"tanh"`.
        use_bias: Whether there is a bias. Default `True`.
        kernel_initializer: Initializer of `kernel`. Default `"glorot_uniform"`.
        recurrent_initializer: Initializer of `recurrent_kernel`. Default `"orthogonal"`.
        bias_initializer: Initializer of `bias`. Default `"zeros"`.
        kernel_regularizer: Regularizer of `kernel`.
        recurrent_regularizer: Regularizer of `recurrent_kernel`.
        bias_regularizer: Regularizer of `bias`.
        activity_regularizer: Regularizer of the layer's output.
        kernel_constraint: Constraint of `kernel`.
        recurrent_constraint: Constraint of `recurrent_kernel`.
        bias_constraint: Constraint of `bias`.
        dropout: Fraction in [0, 1] of the inputs to drop in training. Default 0.
        recurrent_dropout: Fraction in [0, 1] of the recurrent state to drop in training.
        return_sequences: Return the whole output sequence instead of the last output.
        return_state: Also return the final state.
        go_backwards: Process the sequence backwards and return the reversed sequence.
        stateful: Carry the final state of each batch over to the next batch.
        unroll: Unroll the time loop in the graph instead of using a graph loop.
        seed: Seed of the dropout masks.

    Call arguments:
        sequences: `(batch, timesteps, features)` tensor.
        initial_state: Optional `(batch, units)` tensor (or a list holding it).
        mask: Optional `(batch, timesteps)` boolean tensor; `False` steps are skipped.
        training: Whether dropout applies.

    Returns:
        `(batch, units)` or, with `return_sequences`, `(batch, timesteps, units)`; with
        `return_state`, a list `[output, h]`.

    Example:

    >>> import numpy as np
    >>> layer = SimpleRNN(4)
    >>> tuple(layer(np.ones((2, 3, 5), "float32")).shape)
    (2, 4)
    """

    def __init__(
        self,
        units,
        activation="tanh",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        seed=None,
        **kwargs,
    ):
        cell = SimpleRNNCell(
            units,
            activation=activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint,
            dropout=dropout,
            recurrent_dropout=recurrent_dropout,
            seed=seed,
            dtype=kwargs.get("dtype"),
            trainable=kwargs.get("trainable", True),
            name="simple_rnn_cell",
        )
        super().__init__(
            cell,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            stateful=stateful,
            unroll=unroll,
            activity_regularizer=activity_regularizer,
            **kwargs,
        )
