"""Long Short-Term Memory: `LSTMCell` and the fused `LSTM` layer."""

import keras
from keras import ops

from rnnkit.layers._rnn import _FusedCell, _FusedRNN


@keras.saving.register_keras_serializable(package="rnnkit")
class LSTMCell(_FusedCell):
    """One step of a Long Short-Term Memory, weight-compatible with `keras.layers.LSTMCell`.

    The weights are `kernel` `(input_dim, 4 * units)`, `recurrent_kernel` `(units, 4 * units)`
    and `bias` `(4 * units,)`, with the gates in Keras's order: input, forget, cell, output.
    So `cell.set_weights(keras_cell.get_weights())` gives identical numbers.

    Args:
        units: Positive integer, size of the hidden and carry states.
        activation: Activation of the cell candidate and of the output. Default `"tanh"`.
        recurrent_activation: Activation of the input, forget and output gates.
            Default `"sigmoid"`.
        use_bias: Whether the gates have a bias. Default `True`.
        kernel_initializer: Initializer of `kernel`. Default `"glorot_uniform"`.
        recurrent_initializer: Initializer of `recurrent_kernel`. Default `"orthogonal"`.
        bias_initializer: Initializer of `bias`. Default `"zeros"`.
        unit_forget_bias: If `True`, the forget-gate part of the bias is initialised to
            ones (and the rest with `bias_initializer`). Default `True`.
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
        states: `[h, c]`, two `(batch, units)` tensors.
        training: Whether dropout applies.

    Returns:
        `(h, [h, c])`, the output and the new states.

    Example:

    >>> import numpy as np, keras
    >>> layer = keras.layers.RNN(LSTMCell(4))
    >>> tuple(layer(np.ones((2, 3, 5), "float32")).shape)
    (2, 4)
    """

    _gates = 4
    _placement_training = "in_loop"
    _placement_inference = "in_loop"

    def __init__(
        self,
        units,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        unit_forget_bias=True,
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
        self.recurrent_activation = keras.activations.get(recurrent_activation)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.state_size = [units, units]

    def build(self, input_shape):
        super().build(input_shape)
        self._add_kernels(input_shape[-1])
        if not self.use_bias:
            self.bias = None
            return
        if self.unit_forget_bias:
            units, base = self.units, self.bias_initializer

            def initializer(_, *args, **kwargs):
                return ops.concatenate(
                    [
                        base((units,), *args, **kwargs),
                        keras.initializers.get("ones")((units,), *args, **kwargs),
                        base((units * 2,), *args, **kwargs),
                    ]
                )

        else:
            initializer = self.bias_initializer
        self._add_bias((self.units * 4,), initializer)

    def _project_inputs(self, inputs, training=False):
        masks = self._input_masks(inputs, training)
        return self._project(inputs, self.kernel, self.bias, masks)

    def _step_function(self, h0, training=False):
        recurrent_kernel = ops.convert_to_tensor(self.recurrent_kernel)
        masks = self._recurrent_masks(h0, training)
        activation, gate_activation = self.activation, self.recurrent_activation

        def step(x, states):
            h, c = states
            z = x + self._recurrent_matmul(h, recurrent_kernel, masks)
            z_i, z_f, z_c, z_o = ops.split(z, 4, axis=-1)
            c = gate_activation(z_f) * c + gate_activation(z_i) * activation(z_c)
            h = gate_activation(z_o) * activation(c)
            return h, [h, c]

        return step

    def get_config(self):
        config = {
            "recurrent_activation": keras.activations.serialize(self.recurrent_activation),
            "unit_forget_bias": self.unit_forget_bias,
        }
        return {**super().get_config(), **config}


@keras.saving.register_keras_serializable(package="rnnkit")
class LSTM(_FusedRNN):
    """Long Short-Term Memory layer, a drop-in for `keras.layers.LSTM`.

    Same arguments, weights and numbers as `keras.layers.LSTM`, at Keras's speed on CPU
    (benchmarks/layers.py): each step's input projection runs inside the time loop, where it
    overlaps the recurrent chain.

    Args:
        units: Positive integer, size of the hidden and carry states.
        activation: Activation of the cell candidate and of the output. Default `"tanh"`.
        recurrent_activation: Activation of the gates. Default `"sigmoid"`.
        use_bias: Whether the gates have a bias. Default `True`.
        kernel_initializer: Initializer of `kernel`. Default `"glorot_uniform"`.
        recurrent_initializer: Initializer of `recurrent_kernel`. Default `"orthogonal"`.
        bias_initializer: Initializer of `bias`. Default `"zeros"`.
        unit_forget_bias: If `True`, the forget-gate bias starts at one. Default `True`.
        kernel_regularizer: Regularizer of `kernel`.
        recurrent_regularizer: Regularizer of `recurrent_kernel`.
        bias_regularizer: Regularizer of `bias`.
        activity_regularizer: Regularizer of the layer's output.
        kernel_constraint: Constraint of `kernel`.
        recurrent_constraint: Constraint of `recurrent_kernel`.
        bias_constraint: Constraint of `bias`.
        dropout: Fraction in [0, 1] of the inputs to drop in training. Default 0.
        recurrent_dropout: Fraction in [0, 1] of the recurrent state to drop in training.
        seed: Seed of the dropout masks.
        return_sequences: Return the whole output sequence instead of the last output.
        return_state: Also return the final states `h` and `c`.
        go_backwards: Process the sequence backwards and return the reversed sequence.
        stateful: Carry the final states of each batch over to the next batch.
        unroll: Unroll the time loop in the graph instead of using a graph loop.

    Call arguments:
        sequences: `(batch, timesteps, features)` tensor.
        initial_state: Optional `[h, c]`, two `(batch, units)` tensors.
        mask: Optional `(batch, timesteps)` boolean tensor; `False` steps are skipped.
        training: Whether dropout applies.

    Returns:
        `(batch, units)` or, with `return_sequences`, `(batch, timesteps, units)`; with
        `return_state`, a list `[output, h, c]`.

    Example:

    >>> import numpy as np
    >>> layer = LSTM(4, return_sequences=True)
    >>> tuple(layer(np.ones((2, 3, 5), "float32")).shape)
    (2, 3, 4)
    """

    def __init__(
        self,
        units,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        unit_forget_bias=True,
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        **kwargs,
    ):
        cell = LSTMCell(
            units,
            activation=activation,
            recurrent_activation=recurrent_activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer,
            unit_forget_bias=unit_forget_bias,
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
            name="lstm_cell",
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

    @property
    def recurrent_activation(self):
        return self.cell.recurrent_activation

    @property
    def unit_forget_bias(self):
        return self.cell.unit_forget_bias
