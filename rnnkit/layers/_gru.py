"""Gated Recurrent Unit: `GRUCell` and the fused `GRU` layer."""

import keras
from keras import ops

from rnnkit.layers._rnn import _FusedCell, _FusedRNN


@keras.saving.register_keras_serializable(package="rnnkit")
class GRUCell(_FusedCell):
    """One step of a Gated Recurrent Unit, weight-compatible with `keras.layers.GRUCell`.

    The weights are `kernel` `(input_dim, 3 * units)`, `recurrent_kernel` `(units, 3 * units)`
    and `bias`, with the gates in Keras's order: update `z`, reset `r`, candidate `h`. With
    `reset_after=True` (the default, cuDNN's convention) the bias is `(2, 3 * units)`: row 0
    is added to the input projection and row 1 to the recurrent one, and the reset gate
    multiplies the recurrent projection. With `reset_after=False` the bias is `(3 * units,)`
    and the reset gate multiplies the state before the recurrent matmul.

    Args:
        units: Positive integer, size of the state.
        activation: Activation of the candidate state. Default `"tanh"`.
        recurrent_activation: Activation of the update and reset gates. Default `"sigmoid"`.
        use_bias: Whether the gates have biases. Default `True`.
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
        reset_after: Apply the reset gate after the recurrent matmul. Default `True`.
        seed: Seed of the dropout masks.

    Call arguments:
        inputs: `(batch, features)` tensor.
        states: `[h]` (or `h`), a `(batch, units)` tensor.
        training: Whether dropout applies.

    Returns:
        `(h, [h])` (or `(h, h)` when `states` was a bare tensor).

    Example:

    >>> import numpy as np, keras
    >>> layer = keras.layers.RNN(GRUCell(4, reset_after=False))
    >>> tuple(layer(np.ones((2, 3, 5), "float32")).shape)
    (2, 4)
    """

    _gates = 3
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
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        reset_after=True,
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
        self.reset_after = bool(reset_after)
        self.state_size = units

    def build(self, input_shape):
        super().build(input_shape)
        self._add_kernels(input_shape[-1])
        if not self.use_bias:
            self.bias = None
            return
        shape = (2, 3 * self.units) if self.reset_after else (3 * self.units,)
        self._add_bias(shape, self.bias_initializer)

    def _biases(self):
        """`(input_bias, recurrent_bias)`, either of which may be None."""
        if self.bias is None:
            return None, None
        if not self.reset_after:
            return self.bias, None
        bias = ops.convert_to_tensor(self.bias)
        return bias[0], bias[1]

    def _project_inputs(self, inputs, training=False):
        masks = self._input_masks(inputs, training)
        return self._project(inputs, self.kernel, self._biases()[0], masks)

    def _step_function(self, h0, training=False):
        units = self.units
        recurrent_kernel = ops.convert_to_tensor(self.recurrent_kernel)
        recurrent_bias = self._biases()[1]
        masks = self._recurrent_masks(h0, training)
        activation, gate_activation = self.activation, self.recurrent_activation

        if self.reset_after:

            def step(x, states):
                h = states[0]
                inner = self._recurrent_matmul(h, recurrent_kernel, masks)
                if recurrent_bias is not None:
                    inner = inner + recurrent_bias
                x_z, x_r, x_h = ops.split(x, 3, axis=-1)
                i_z, i_r, i_h = ops.split(inner, 3, axis=-1)
                z = gate_activation(x_z + i_z)
                r = gate_activation(x_r + i_r)
                hh = activation(x_h + r * i_h)
                h = z * h + (1 - z) * hh
                return h, [h]

            return step

        kernel_zr = recurrent_kernel[:, : 2 * units]
        kernel_h = recurrent_kernel[:, 2 * units :]
        masks_zr, mask_h = (masks[:2], masks[2]) if isinstance(masks, list) else (masks, masks)

        def step(x, states):
            h = states[0]
            inner = self._recurrent_matmul(h, kernel_zr, masks_zr)
            x_z, x_r, x_h = ops.split(x, 3, axis=-1)
            i_z, i_r = ops.split(inner, 2, axis=-1)
            z = gate_activation(x_z + i_z)
            r = gate_activation(x_r + i_r)
            h_for_candidate = h if mask_h is None else h * mask_h
            hh = activation(x_h + ops.matmul(r * h_for_candidate, kernel_h))
            h = z * h + (1 - z) * hh
            return h, [h]

        return step

    def get_config(self):
        config = {
            "recurrent_activation": keras.activations.serialize(self.recurrent_activation),
            "reset_after": self.reset_after,
        }
        return {**super().get_config(), **config}


@keras.saving.register_keras_serializable(package="rnnkit")
class GRU(_FusedRNN):
    """Gated Recurrent Unit layer, a drop-in for `keras.layers.GRU`.

    Same arguments, weights and numbers as `keras.layers.GRU` (both `reset_after`
    conventions), at Keras's speed on CPU (benchmarks/layers.py): each step's input
    projection runs inside the time loop, where it overlaps the recurrent chain.

    Args:
        units: Positive integer, size of the state.
        activation: Activation of the candidate state. Default `"tanh"`.
        recurrent_activation: Activation of the update and reset gates. Default `"sigmoid"`.
        use_bias: Whether the gates have biases. Default `True`.
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
        seed: Seed of the dropout masks.
        return_sequences: Return the whole output sequence instead of the last output.
        return_state: Also return the final state.
        go_backwards: Process the sequence backwards and return the reversed sequence.
        stateful: Carry the final state of each batch over to the next batch.
        unroll: Unroll the time loop in the graph instead of using a graph loop.
        reset_after: Apply the reset gate after the recurrent matmul. Default `True`.

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
    >>> layer = GRU(4, return_state=True)
    >>> output, h = layer(np.ones((2, 3, 5), "float32"))
    >>> tuple(output.shape), tuple(h.shape)
    ((2, 4), (2, 4))
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
        reset_after=True,
        **kwargs,
    ):
        cell = GRUCell(
            units,
            activation=activation,
            recurrent_activation=recurrent_activation,
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
            reset_after=reset_after,
            seed=seed,
            dtype=kwargs.get("dtype"),
            trainable=kwargs.get("trainable", True),
            name="gru_cell",
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
    def reset_after(self):
        return self.cell.reset_after
