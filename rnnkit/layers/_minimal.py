"""Minimal GRU and LSTM (Feng et al., 2024, "Were RNNs All We Needed?", arXiv 2410.01201).

Their gates read only the input, never the previous state, so a step is the linear recurrence

    h_t = a_t * h_{t-1} + b_t

with `a_t`, `b_t` computed from `x_t` alone. A layer therefore computes every gate of every
time step with one matmul, and the only sequential part left is that elementwise recurrence
(`_linear_scan`), whose gradient is the same recurrence run backwards. The cells run one step
(`h = a * h + b`) for token-by-token generation and compute the same numbers.

    MinGRU:  z_t = sigmoid(x_t W_z + b_z),  h~_t = act(x_t W_h + b_h)
             h_t = (1 - z_t) * h_{t-1} + z_t * h~_t
    MinLSTM: f_t = sigmoid(x_t W_f + b_f),  i_t = sigmoid(x_t W_i + b_i),  h~_t = act(x_t W_h + b_h)
             h_t = f_t / (f_t + i_t) * h_{t-1} + i_t / (f_t + i_t) * h~_t

`act` is the identity by default, as in the paper. Masked steps (padding) use `a_t = 1`,
`b_t = 0`: the state passes through unchanged, as in every Keras recurrent layer.
"""

import keras
import tensorflow as tf
from keras import ops

from rnnkit.checks import check_rate, check_units
from rnnkit.layers._rnn import DropoutRNNCell, _FusedRNN, _matmul_last


class _MinimalCell(keras.layers.Layer, DropoutRNNCell):
    """Base of the minimal cells: `h = a(x) * h + b(x)`, one state.

    Subclasses set `_gates` (how many `units`-wide blocks the kernel has) and implement
    `_coefficients(projected) -> (a, b)`.
    """

    _gates = 2

    def __init__(
        self,
        units,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        **kwargs,
    ):
        check_units(units)
        if recurrent_dropout:
            raise ValueError(
                f"`recurrent_dropout` must be 0 for `{type(self).__name__}`: its gates do not "
                f"read the state, so there is no recurrent input to drop. Received: "
                f"recurrent_dropout={recurrent_dropout!r}. Use `dropout` (on the inputs)."
            )
        super().__init__(**kwargs)
        self.units = units
        self.activation = keras.activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)
        self.kernel_constraint = keras.constraints.get(kernel_constraint)
        self.bias_constraint = keras.constraints.get(bias_constraint)
        self.dropout = check_rate(dropout, "dropout")
        self.recurrent_dropout = 0.0
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed=seed)
        self.state_size = units
        self.output_size = units

    def build(self, input_shape):
        super().build(input_shape)
        self.kernel = self.add_weight(
            shape=(input_shape[-1], self.units * self._gates),
            name="kernel",
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                shape=(self.units * self._gates,),
                name="bias",
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )

    def _project_inputs(self, inputs, training=False):
        """`inputs @ kernel + bias` for inputs of rank 2 or 3, with the input dropout mask."""
        if training and 0.0 < self.dropout < 1.0:
            step = inputs if len(inputs.shape) == 2 else inputs[0]
            mask = self.get_dropout_mask(step)
            if len(inputs.shape) == 3:
                mask = ops.expand_dims(mask, 0)  # time-major: one mask for every step
            inputs = inputs * mask
        x = _matmul_last(inputs, self.kernel)
        return x if self.bias is None else x + self.bias

    def _coefficients(self, projected):
        raise NotImplementedError

    def call(self, inputs, states, training=False):
        nested = isinstance(states, (list, tuple))
        h = states[0] if nested else states
        a, b = self._coefficients(self._project_inputs(inputs, training=training))
        h = a * h + b
        return h, ([h] if nested else h)

    def get_initial_state(self, batch_size=None):
        return [ops.zeros((batch_size, self.units), dtype=self.compute_dtype)]

    def get_config(self):
        config = {
            "units": self.units,
            "activation": keras.activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": keras.regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": keras.constraints.serialize(self.kernel_constraint),
            "bias_constraint": keras.constraints.serialize(self.bias_constraint),
            "dropout": self.dropout,
            "seed": self.seed,
        }
        return {**super().get_config(), **config}


@keras.saving.register_keras_serializable(package="rnnkit")
class MinGRUCell(_MinimalCell):
    """One step of the minimal GRU: `h = (1 - z) * h + z * act(x W_h + b_h)`, `z = sigmoid(x W_z + b_z)`.

    The weights are `kernel` `(input_dim, 2 * units)` and `bias` `(2 * units,)`, gates in the
    order update `z`, candidate `h~`. There is no recurrent kernel: the gates read only `x`.

    Args:
        units: Positive integer, size of the state.
        activation: Activation of the candidate state. Default `None` (the identity, as in
            the paper).
        use_bias: Whether the gates have a bias. Default `True`.
        kernel_initializer: Initializer of `kernel`. Default `"glorot_uniform"`.
        bias_initializer: Initializer of `bias`. Default `"zeros"`.
        kernel_regularizer: Regularizer of `kernel`.
        bias_regularizer: Regularizer of `bias`.
        kernel_constraint: Constraint of `kernel`.
        bias_constraint: Constraint of `bias`.
        dropout: Fraction in [0, 1] of the inputs to drop in training. Default 0.
        recurrent_dropout: Must be 0 (accepted so that code written for `GRUCell` runs).
        seed: Seed of the dropout mask.

    Call arguments:
        inputs: `(batch, features)` tensor.
        states: `[h]` (or `h`), a `(batch, units)` tensor.
        training: Whether dropout applies.

    Returns:
        `(h, [h])` (or `(h, h)` when `states` was a bare tensor).

    Example:

    >>> import numpy as np, keras
    >>> cell = MinGRUCell(4)
    >>> h, [state] = cell(np.ones((2, 5), "float32"), [np.zeros((2, 4), "float32")])
    >>> tuple(h.shape)
    (2, 4)
    """

    _gates = 2

    def _coefficients(self, projected):
        p_z, p_h = ops.split(projected, 2, axis=-1)
        z = ops.sigmoid(p_z)
        return 1.0 - z, z * self.activation(p_h)


@keras.saving.register_keras_serializable(package="rnnkit")
class MinLSTMCell(_MinimalCell):
    """One step of the minimal LSTM: `h = f' * h + i' * act(x W_h + b_h)`.

    `f = sigmoid(x W_f + b_f)`, `i = sigmoid(x W_i + b_i)`, normalised to `f' = f / (f + i)`
    and `i' = i / (f + i)` (the paper's length-independent form). One state, `h`. The weights
    are `kernel` `(input_dim, 3 * units)` and `bias` `(3 * units,)`, gates in the order
    forget `f`, input `i`, candidate `h~`.

    Args:
        units: Positive integer, size of the state.
        activation: Activation of the candidate state. Default `None` (the identity).
        use_bias: Whether the gates have a bias. Default `True`.
        kernel_initializer: Initializer of `kernel`. Default `"glorot_uniform"`.
        bias_initializer: Initializer of `bias`. Default `"zeros"`.
        kernel_regularizer: Regularizer of `kernel`.
        bias_regularizer: Regularizer of `bias`.
        kernel_constraint: Constraint of `kernel`.
        bias_constraint: Constraint of `bias`.
        dropout: Fraction in [0, 1] of the inputs to drop in training. Default 0.
        recurrent_dropout: Must be 0 (accepted so that code written for `LSTMCell` runs).
        seed: Seed of the dropout mask.

    Call arguments:
        inputs: `(batch, features)` tensor.
        states: `[h]` (or `h`), a `(batch, units)` tensor.
        training: Whether dropout applies.

    Returns:
        `(h, [h])` (or `(h, h)` when `states` was a bare tensor).

    Example:

    >>> import numpy as np, keras
    >>> layer = keras.layers.RNN(MinLSTMCell(4))
    >>> tuple(layer(np.ones((2, 3, 5), "float32")).shape)
    (2, 4)
    """

    _gates = 3

    def _coefficients(self, projected):
        p_f, p_i, p_h = ops.split(projected, 3, axis=-1)
        f, i = ops.sigmoid(p_f), ops.sigmoid(p_i)
        total = f + i
        return f / total, (i / total) * self.activation(p_h)


class _MinimalRNN(_FusedRNN):
    """Runs a `_MinimalCell` over a sequence: one matmul, then `_linear_scan`."""

    def __init__(self, cell, **kwargs):
        if kwargs.get("unroll"):
            raise ValueError(
                f"`unroll` must be False for `{type(self).__name__}`: it has no step loop to "
                "unroll (the whole sequence is one matmul and an elementwise scan)."
            )
        super().__init__(cell, **kwargs)

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if keras.tree.is_nested(mask):
            mask = mask[0]
        cell = self.cell
        inputs = ops.transpose(sequences, (1, 0, 2))
        if mask is not None:
            mask = ops.expand_dims(ops.transpose(ops.cast(mask, "bool"), (1, 0)), -1)
        if self.go_backwards:
            inputs = ops.flip(inputs, axis=0)
            if mask is not None:
                mask = ops.flip(mask, axis=0)
        a, b = cell._coefficients(cell._project_inputs(inputs, training=training))
        if mask is not None:
            a = ops.where(mask, a, ops.ones_like(a))
            b = ops.where(mask, b, ops.zeros_like(b))
        h0 = ops.cast(initial_state[0], a.dtype)
        hs = _linear_scan(a, b, h0)
        return self._format_outputs([hs[-1]], hs, mask)

    def get_config(self):
        config = super().get_config()
        config.pop("unroll", None)
        return config


def _layer_docstring(name, cell, gates):
    return f"""The minimal {name} layer (Feng et al., 2024): one matmul for every gate of every step.

    Its gates read only the inputs, so a training step is one `(batch * steps, features) @
    (features, {gates} * units)` matmul and an elementwise scan over time, with no matmul in
    the time loop (benchmarks/layers.py measures it against `keras.layers.{name.split()[-1]}`).
    The parallel run gives the same numbers as `{cell}` stepped token by token
    (`layer.cell(x_t, [h])`), which is how decoders generate.

    Args:
        units: Positive integer, size of the state.
        activation: Activation of the candidate state. Default `None` (the identity).
        use_bias: Whether the gates have a bias. Default `True`.
        kernel_initializer: Initializer of `kernel`. Default `"glorot_uniform"`.
        bias_initializer: Initializer of `bias`. Default `"zeros"`.
        kernel_regularizer: Regularizer of `kernel`.
        bias_regularizer: Regularizer of `bias`.
        activity_regularizer: Regularizer of the layer's output.
        kernel_constraint: Constraint of `kernel`.
        bias_constraint: Constraint of `bias`.
        dropout: Fraction in [0, 1] of the inputs to drop in training (one mask per
            sequence). Default 0.
        recurrent_dropout: Must be 0: there is no recurrent input.
        seed: Seed of the dropout mask.
        return_sequences: Return the whole output sequence instead of the last output.
        return_state: Also return the final state.
        go_backwards: Process the sequence backwards and return the reversed sequence.
        stateful: Carry the final state of each batch over to the next batch.

    Call arguments:
        sequences: `(batch, timesteps, features)` tensor.
        initial_state: Optional `(batch, units)` tensor (or a list holding it).
        mask: Optional `(batch, timesteps)` boolean tensor; `False` steps keep the state.
        training: Whether dropout applies.

    Returns:
        `(batch, units)` or, with `return_sequences`, `(batch, timesteps, units)`; with
        `return_state`, a list `[output, h]`.
    """


def _make_init(cell_cls, cell_name):
    def __init__(
        self,
        units,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        **kwargs,
    ):
        cell = cell_cls(
            units,
            activation=activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer,
            bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint,
            bias_constraint=bias_constraint,
            dropout=dropout,
            recurrent_dropout=recurrent_dropout,
            seed=seed,
            dtype=kwargs.get("dtype"),
            trainable=kwargs.get("trainable", True),
            name=cell_name,
        )
        _MinimalRNN.__init__(
            self,
            cell,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            stateful=stateful,
            activity_regularizer=activity_regularizer,
            **kwargs,
        )

    return __init__


@keras.saving.register_keras_serializable(package="rnnkit")
class MinGRU(_MinimalRNN):
    __doc__ = (
        _layer_docstring("minimal GRU", "MinGRUCell", 2)
        + """
    Example:

    >>> import numpy as np
    >>> layer = MinGRU(4, return_sequences=True)
    >>> tuple(layer(np.ones((2, 3, 5), "float32")).shape)
    (2, 3, 4)
    """
    )

    __init__ = _make_init(MinGRUCell, "min_gru_cell")


@keras.saving.register_keras_serializable(package="rnnkit")
class MinLSTM(_MinimalRNN):
    __doc__ = (
        _layer_docstring("minimal LSTM", "MinLSTMCell", 3)
        + """
    Example:

    >>> import numpy as np
    >>> output, h = MinLSTM(4, return_state=True)(np.ones((2, 3, 5), "float32"))
    >>> tuple(output.shape), tuple(h.shape)
    ((2, 4), (2, 4))
    """
    )

    __init__ = _make_init(MinLSTMCell, "min_lstm_cell")


# -- the scan ----------------------------------------------------------------------------------


def _scan_loop(a, b, h0, reverse=False):
    """`h_t = a_t * h_{t-1} + b_t` over time-major `a`, `b` (`(time, batch, units)`), from `h0`.

    With `reverse`, runs from the last step to the first (`h_t = a_t * h_{t+1} + b_t`).
    A plain `tf.while_loop` over TensorArrays: each step is two elementwise ops on
    `(batch, units)`, so the loop's per-step overhead is the cost; blocked and log-depth
    scans, which do fewer steps of larger ops, measured slower here (docs/experiments/layers.md).
    """
    steps = tf.shape(a)[0]
    a_ta = tf.TensorArray(a.dtype, size=steps).unstack(a)
    b_ta = tf.TensorArray(b.dtype, size=steps).unstack(b)
    out = tf.TensorArray(a.dtype, size=steps, element_shape=h0.shape)

    def body(i, h, out):
        t = steps - 1 - i if reverse else i
        h = a_ta.read(t) * h + b_ta.read(t)
        return i + 1, h, out.write(t, h)

    _, _, out = tf.while_loop(
        lambda i, *_: i < steps,
        body,
        (0, h0, out),
        maximum_iterations=steps,
        swap_memory=True,
    )
    return out.stack()


@tf.custom_gradient
def _linear_scan(a, b, h0):
    """All states `h_t = a_t * h_{t-1} + b_t`, `(time, batch, units)`, with a hand-written gradient.

    The gradient is the same recurrence backwards: with `g_t` the incoming gradient of `h_t`,
    the total gradient is `G_t = g_t + a_{t+1} G_{t+1}`, and `dL/db_t = G_t`,
    `dL/da_t = G_t h_{t-1}`, `dL/dh0 = a_1 G_1`. One reverse scan instead of the automatic
    gradient of the forward loop (which keeps and replays every step's TensorArray reads)
    measured about 2x faster for a training step (docs/experiments/layers.md).
    """
    hs = _scan_loop(a, b, h0)

    def grad(g):
        a_next = tf.concat([a[1:], tf.zeros_like(a[:1])], axis=0)
        total = _scan_loop(a_next, g, tf.zeros_like(h0), reverse=True)
        h_prev = tf.concat([h0[None], hs[:-1]], axis=0)
        return total * h_prev, total, a[0] * total[0]

    return hs, grad
