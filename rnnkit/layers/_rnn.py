"""Shared machinery of rnnkit's recurrent layers: one time loop for every cell.

A cell step is split in two parts:

* the *input projection* `x_t @ kernel + bias`, which does not depend on the state;
* the *recurrent step*, which only adds `h_{t-1} @ recurrent_kernel` and applies the gates.

Cells (`_FusedCell` subclasses) implement both parts once; their `call` (used when a cell
runs inside `keras.layers.RNN`) is just "project, then step", and the layers (`_FusedRNN`
subclasses) run the same two parts over the whole sequence. There is one implementation of
each cell's maths.

Where the projection runs is a measured choice per cell and task (`_placement_training`,
`_placement_inference`): *hoisted* is one large matmul for every step before the loop;
*in the loop* is one small matmul per step, which TensorFlow runs on the second core while
the recurrent chain runs (Keras's own approach). On this 2-core CPU the in-loop placement
was faster for LSTM and GRU in training and at inference, and hoisting for SimpleRNN, whose
step is too small to hide the input matmul. Both give the same numbers (tests), and the
layers run at Keras's speed, not faster (benchmarks/layers.py, docs/experiments/layers.md).
"""

import keras
import tensorflow as tf
from keras import ops

from rnnkit.checks import check_rate, check_units


def _dropout_cell_mixin():
    """Keras's dropout-mask mixin of its recurrent cells, found through the public `GRUCell`.

    `keras.layers.RNN` pre-creates (and afterwards clears) the per-sequence dropout masks only
    for cells that are instances of this mixin, so our cells must be instances of it to draw
    exactly the same masks, from the same seed, as Keras's own cells, inside Keras's RNN and
    inside ours. Keras does not export it, and importing `keras.src` ties rnnkit to Keras's
    private layout; the mixin is the base of every public Keras cell that provides
    `get_dropout_mask` (tests/layers/test_rnn_common.py checks that it still is).
    """
    for base in keras.layers.GRUCell.__mro__:
        if "get_dropout_mask" in vars(base) and "get_recurrent_dropout_mask" in vars(base):
            return base
    raise ImportError(
        f"keras {keras.__version__}: `keras.layers.GRUCell` no longer has a dropout-mask base "
        "class with `get_dropout_mask`; rnnkit's recurrent cells need a Keras 3 version where "
        "it does (tested with 3.15)."
    )


DropoutRNNCell = _dropout_cell_mixin()


class _FusedCell(keras.layers.Layer, DropoutRNNCell):
    """Base of rnnkit's cells: a step is `_project_inputs` followed by `_step_function`.

    Subclasses set `_gates` (how many `units`-wide blocks the kernels have) and implement
    `build`, `_project_inputs` and `_step_function`.
    """

    _gates = 1
    # Where the layer computes `x_t @ kernel` in training and at inference: "hoisted" (one
    # matmul before the time loop) or "in_loop" (see `_FusedRNN.inner_loop`); chosen per cell
    # from benchmarks/layers.py.
    _placement_training = "hoisted"
    _placement_inference = "hoisted"

    def __init__(
        self,
        units,
        *,
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
        check_units(units)
        super().__init__(**kwargs)
        self.units = units
        self.activation = keras.activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = keras.regularizers.get(recurrent_regularizer)
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)
        self.kernel_constraint = keras.constraints.get(kernel_constraint)
        self.recurrent_constraint = keras.constraints.get(recurrent_constraint)
        self.bias_constraint = keras.constraints.get(bias_constraint)
        self.dropout = check_rate(dropout, "dropout")
        self.recurrent_dropout = check_rate(recurrent_dropout, "recurrent_dropout")
        # As in Keras: with recurrent dropout, every gate gets its own input and recurrent
        # mask (Keras's "implementation 1"); otherwise one mask is shared by all gates.
        if self._gates > 1 and self.recurrent_dropout != 0.0:
            self.dropout_mask_count = self._gates
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed=seed)
        self.output_size = units

    def _add_kernels(self, input_dim):
        self.kernel = self.add_weight(
            shape=(input_dim, self.units * self._gates),
            name="kernel",
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, self.units * self._gates),
            name="recurrent_kernel",
            initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint,
        )

    def _add_bias(self, shape, initializer):
        self.bias = self.add_weight(
            shape=shape,
            name="bias",
            initializer=initializer,
            regularizer=self.bias_regularizer,
            constraint=self.bias_constraint,
        )

    # -- dropout ---------------------------------------------------------------------------

    def _input_dropout_applies(self, training):
        # Keras's gated cells skip dropout at rate 1; its SimpleRNNCell does not.
        return bool(training) and 0.0 < self.dropout < 1.0

    def _recurrent_dropout_applies(self, training):
        return bool(training) and 0.0 < self.recurrent_dropout < 1.0

    def _input_masks(self, inputs, training):
        """The input dropout mask(s) for `inputs` (rank 2 or 3), or None."""
        if not self._input_dropout_applies(training):
            return None
        step = inputs if len(inputs.shape) == 2 else inputs[0]
        masks = self.get_dropout_mask(step)
        if masks is None:
            return None
        if len(inputs.shape) == 3:
            # Time-major inputs `(time, batch, features)`: one mask for every step.
            if isinstance(masks, list):
                return [ops.expand_dims(m, 0) for m in masks]
            return ops.expand_dims(masks, 0)
        return masks

    def _recurrent_masks(self, h, training):
        if not self._recurrent_dropout_applies(training):
            return None
        return self.get_recurrent_dropout_mask(h)

    def _project(self, inputs, kernel, bias, masks):
        """`inputs @ kernel + bias` for inputs of rank 2 or 3, applying input dropout masks.

        With per-gate masks, gate `g` uses `(inputs * masks[g]) @ kernel[:, g]`.
        """
        if isinstance(masks, list):
            kernels = ops.split(kernel, self._gates, axis=1)
            parts = [_matmul_last(inputs * m, k) for m, k in zip(masks, kernels, strict=True)]
            x = ops.concatenate(parts, axis=-1)
        else:
            if masks is not None:
                inputs = inputs * masks
            x = _matmul_last(inputs, kernel)
        if bias is not None:
            x = x + bias
        return x

    def _recurrent_matmul(self, h, recurrent_kernel, masks):
        """`h @ recurrent_kernel`, applying recurrent dropout masks (per gate if a list)."""
        if isinstance(masks, list):
            kernels = ops.split(recurrent_kernel, len(masks), axis=1)
            parts = [ops.matmul(h * m, k) for m, k in zip(masks, kernels, strict=True)]
            return ops.concatenate(parts, axis=-1)
        if masks is not None:
            h = h * masks
        return ops.matmul(h, recurrent_kernel)

    # -- the cell API used by `keras.layers.RNN` -------------------------------------------

    def call(self, inputs, states, training=False):
        nested = isinstance(states, (list, tuple))
        states = list(states) if nested else [states]
        x = self._project_inputs(inputs, training=training)
        step = self._step_function(states[0], training=training)
        output, new_states = step(x, states)
        if len(new_states) == 1 and not nested:
            return output, new_states[0]
        return output, new_states

    def get_initial_state(self, batch_size=None):
        sizes = self.state_size if isinstance(self.state_size, list) else [self.state_size]
        return [ops.zeros((batch_size, d), dtype=self.compute_dtype) for d in sizes]

    def get_config(self):
        config = {
            "units": self.units,
            "activation": keras.activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": keras.initializers.serialize(self.recurrent_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": keras.regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": keras.regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": keras.constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": keras.constraints.serialize(self.recurrent_constraint),
            "bias_constraint": keras.constraints.serialize(self.bias_constraint),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
        }
        return {**super().get_config(), **config}


def _matmul_last(x, kernel):
    """`x @ kernel` over the last axis, as one 2-D matmul whatever the rank of `x`."""
    if len(x.shape) == 2:
        return ops.matmul(x, kernel)
    lead = ops.shape(x)[:-1]
    flat = ops.matmul(ops.reshape(x, (-1, x.shape[-1])), kernel)
    return ops.reshape(flat, (*lead, kernel.shape[-1]))


# None: each cell's `_placement_training` / `_placement_inference` decides where the input
# projection runs; "hoisted" or "in_loop" forces one placement for every layer traced while it
# is set (benchmarks/layers.py uses it to time both placements in one process).
_PLACEMENT = None

_CELL_ARGS = (
    "units",
    "activation",
    "recurrent_activation",
    "use_bias",
    "kernel_initializer",
    "recurrent_initializer",
    "bias_initializer",
    "unit_forget_bias",
    "kernel_regularizer",
    "recurrent_regularizer",
    "bias_regularizer",
    "kernel_constraint",
    "recurrent_constraint",
    "bias_constraint",
    "dropout",
    "recurrent_dropout",
    "reset_after",
    "seed",
)


class _FusedRNN(keras.layers.RNN):
    """Base of rnnkit's recurrent layers: runs a `_FusedCell` with the fused time loop.

    State handling (`initial_state`, `stateful`, `return_state`), dropout-mask creation and
    output formatting are inherited from `keras.layers.RNN`, so they behave exactly as in
    Keras; only the time loop (`inner_loop`) is replaced.
    """

    def __init__(self, cell, **kwargs):
        # Accepted so that code written for Keras's layers runs unchanged: every Keras
        # "implementation" computes the same numbers as our single one, and cuDNN is never used.
        # Keras 3 accepts the legacy `implementation=0` too (its own test suite passes it).
        implementation = kwargs.pop("implementation", 2)
        if implementation not in (0, 1, 2):
            raise ValueError(
                f"`implementation` must be 0, 1 or 2 (all compute the same numbers here). "
                f"Received: implementation={implementation!r}."
            )
        use_cudnn = kwargs.pop("use_cudnn", "auto")
        if use_cudnn not in ("auto", False):
            raise ValueError(
                "`use_cudnn` must be 'auto' or False: rnnkit's layers never use cuDNN. "
                f"Received: use_cudnn={use_cudnn!r}. Use `keras.layers.{type(self).__name__}` "
                "for cuDNN."
            )
        super().__init__(cell, **kwargs)
        self.input_spec = keras.layers.InputSpec(ndim=3)

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if keras.tree.is_nested(mask):
            mask = mask[0]
        cell = self.cell
        states = list(initial_state)
        # Time-major from here on; the input is transposed (not the wider projection).
        inputs = ops.transpose(sequences, (1, 0, 2))
        if mask is not None:
            mask = ops.expand_dims(ops.transpose(ops.cast(mask, "bool"), (1, 0)), -1)
        if self.go_backwards:
            inputs = ops.flip(inputs, axis=0)
            if mask is not None:
                mask = ops.flip(mask, axis=0)
        step = cell._step_function(states[0], training=training)
        placement = _PLACEMENT or (
            cell._placement_training if training else cell._placement_inference
        )
        if self.unroll or placement != "in_loop":
            # One large matmul for every step, outside the loop.
            loop_inputs = cell._project_inputs(inputs, training=training)
        else:
            # Each step projects its own input, as Keras does: the input matmuls of later steps
            # (and their gradients) run on another core while the recurrent chain runs; hoisted,
            # they run before (and after) the chain, alone. Which is faster depends on the
            # cell and the task (benchmarks/layers.py measures both: docs/experiments/layers.md).
            loop_inputs = inputs
            recurrent_step = step

            def step(x, states):
                return recurrent_step(cell._project_inputs(x, training=training), states)

        final_states, hs = _time_loop(
            step,
            loop_inputs,
            states,
            mask,
            return_sequences=self.return_sequences,
            unroll=self.unroll,
        )
        return self._format_outputs(final_states, hs, mask)

    def _format_outputs(self, final_states, hs, mask):
        """Keras's outputs at masked steps, from the sequence of (masked) states `hs`.

        Keras carries the previous *output*, which starts at zeros, while the state starts at
        `initial_state`: once a sample has seen an unmasked step they coincide, before that the
        output is zero. With `zero_output_for_mask` (set by `Bidirectional` when returning
        sequences) the output at every masked step is zero.
        """
        if self.return_sequences:
            if mask is not None:
                if self.zero_output_for_mask:
                    keep = mask
                else:
                    keep = ops.cumsum(ops.cast(mask, "int32"), axis=0) > 0
                hs = ops.where(keep, hs, ops.zeros_like(hs))
            outputs = ops.transpose(hs, (1, 0, 2))
            last_output = outputs[:, -1]
        else:
            last_output = final_states[0]
            if mask is not None:
                if self.zero_output_for_mask:
                    keep = mask[-1]
                else:
                    keep = ops.any(mask, axis=0)
                last_output = ops.where(keep, last_output, ops.zeros_like(last_output))
            outputs = ops.expand_dims(last_output, 1)
        return last_output, outputs, final_states

    # Keras's LSTM/GRU/SimpleRNN expose the cell's arguments on the layer.
    @property
    def units(self):
        return self.cell.units

    @property
    def activation(self):
        return self.cell.activation

    @property
    def use_bias(self):
        return self.cell.use_bias

    @property
    def kernel_initializer(self):
        return self.cell.kernel_initializer

    @property
    def recurrent_initializer(self):
        return self.cell.recurrent_initializer

    @property
    def bias_initializer(self):
        return self.cell.bias_initializer

    @property
    def kernel_regularizer(self):
        return self.cell.kernel_regularizer

    @property
    def recurrent_regularizer(self):
        return self.cell.recurrent_regularizer

    @property
    def bias_regularizer(self):
        return self.cell.bias_regularizer

    @property
    def kernel_constraint(self):
        return self.cell.kernel_constraint

    @property
    def recurrent_constraint(self):
        return self.cell.recurrent_constraint

    @property
    def bias_constraint(self):
        return self.cell.bias_constraint

    @property
    def dropout(self):
        return self.cell.dropout

    @property
    def recurrent_dropout(self):
        return self.cell.recurrent_dropout

    @property
    def seed(self):
        return self.cell.seed

    def get_config(self):
        cell_config = self.cell.get_config()
        config = {key: cell_config[key] for key in _CELL_ARGS if key in cell_config}
        config["activity_regularizer"] = keras.regularizers.serialize(self.activity_regularizer)
        base_config = super().get_config()
        del base_config["cell"]
        return {**base_config, **config}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _time_loop(step, inputs, states, mask, *, return_sequences, unroll=False):
    """Runs `step(x_t, states) -> (output, new_states)` over time-major `inputs`.

    With a `mask` of shape `(time, batch, 1)`, states are carried unchanged through masked
    steps, as in Keras. Returns the final states and, if `return_sequences`, the
    `(time, batch, units)` sequence of first states (`h_t`), else None. With `unroll`, the
    same step is repeated in the graph once per time step instead of in a graph loop.

    This is the only TensorFlow-specific code of the layers: `keras.ops.scan` on TensorFlow
    keeps the carry in TensorArrays and must emit every carry at every step, which measured
    about 1.4x slower for a training step than this plain `tf.while_loop`.
    """
    if unroll:
        hs = []
        for t in range(inputs.shape[0]):
            _, new_states = step(inputs[t], states)
            if mask is not None:
                new_states = [
                    ops.where(mask[t], n, s) for n, s in zip(new_states, states, strict=True)
                ]
            states = new_states
            hs.append(states[0])
        return states, (ops.stack(hs) if return_sequences else None)

    steps = inputs.shape[0]
    if steps is None:
        steps = tf.shape(inputs)[0]
    inputs_ta = tf.TensorArray(inputs.dtype, size=steps).unstack(inputs)
    mask_ta = None if mask is None else tf.TensorArray(tf.bool, size=steps).unstack(mask)
    n_states = len(states)

    def advance(t, states):
        _, new_states = step(inputs_ta.read(t), list(states))
        if mask_ta is not None:
            keep = mask_ta.read(t)
            new_states = [ops.where(keep, n, s) for n, s in zip(new_states, states, strict=True)]
        return new_states

    loop_kwargs = {"maximum_iterations": steps, "swap_memory": True}
    if return_sequences:
        outputs_ta = tf.TensorArray(states[0].dtype, size=steps, element_shape=states[0].shape)

        def body(t, outputs_ta, *states):
            new_states = advance(t, states)
            return (t + 1, outputs_ta.write(t, new_states[0]), *new_states)

        result = tf.while_loop(
            lambda t, *_: t < steps, body, (0, outputs_ta, *states), **loop_kwargs
        )
        return list(result[2 : 2 + n_states]), result[1].stack()

    def body(t, *states):
        return (t + 1, *advance(t, states))

    result = tf.while_loop(lambda t, *_: t < steps, body, (0, *states), **loop_kwargs)
    return list(result[1 : 1 + n_states]), None
