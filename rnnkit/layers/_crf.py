"""Linear-chain conditional random field (CRF) output layer, written with `keras.ops`."""

import keras
from keras import ops

from rnnkit.checks import is_int

_OUTPUTS = ("potentials", "tags", "marginals")


def _keras_mask(x):
    return getattr(x, "_keras_mask", None)


def _is_symbolic(*tensors) -> bool:
    return any(isinstance(t, keras.KerasTensor) for t in tensors)


def _scan(step, init, xs, reverse=False):
    """`ops.scan` over the leading (time) axis of the tensors in the tuple `xs`.

    `step(carry, x)` returns `(carry, y)`; `init` is `(carry, y_like)` with `y_like` a
    zero tensor (structure) shaped like `y`. Two TensorFlow-backend limits are worked around:
    its `ops.scan` stacks outputs with the carry's structure (so `y` is threaded through the
    carry), and it fails on several `xs` of unknown length (so it scans over step indices
    and each step gathers its slice).
    """
    steps = ops.shape(xs[0])[0]

    def wrapped(state, i):
        new_carry, y = step(state[0], tuple(ops.take(x, i, axis=0) for x in xs))
        return (new_carry, y), (new_carry, y)

    (final, _), (_, ys) = ops.scan(wrapped, init, ops.arange(steps, dtype="int32"), reverse=reverse)
    return final, ys


@keras.saving.register_keras_serializable(package="rnnkit")
class CRF(keras.layers.Layer):
    """Linear-chain conditional random field over per-token tag scores.

    The layer owns the tag transition scores (`transitions[i, j]` is the score of tag `j`
    following tag `i`) and, with `use_boundary_transitions=True`, the scores of starting
    and ending a sequence with each tag. Called on the emission potentials (the unnormalised
    per-token tag scores of the layer below, usually a `Dense(num_tags)`), it returns them
    unchanged and passes the Keras mask on; the CRF maths is in its methods:

    - `loss`: a `keras.losses.Loss` (mean negative log-likelihood per sequence) for
      `model.compile(loss=crf.loss)`. `y_true` holds int tags `[B, T]`; a position is
      padding where `y_true == -1` or where the Keras mask of `y_pred` is False.
    - `decode(potentials, mask)`: Viterbi best path, `[B, T]` int32 (0 at masked positions).
    - `log_likelihood(potentials, tags, mask)`, `log_partition(potentials, mask)`: `[B]`.
    - `marginals(potentials, mask)`: per-token tag posteriors `[B, T, num_tags]`
      (forward-backward); each real token sums to 1, masked positions are 0.

    Masks are `[B, T]` booleans (True = real token). Masked positions are skipped, so
    right padding, left padding and holes all work; an all-masked row has log-likelihood 0.
    Time loops run in the graph (`keras.ops` scans and while loops, no Python loop over
    time), so the methods work under `tf.function`, XLA (`jit_compile=True`, what "auto"
    picks on a GPU) and in an exported SavedModel. The loss, `log_likelihood` and
    `log_partition` are differentiable everywhere; `marginals` is differentiable except
    under XLA. Potentials of any float dtype are scored in float32.

    `decode` and `marginals` called on symbolic tensors (functional model building) add a
    call of this same layer to the graph, so an inference model built with them saves to
    `.keras` and exports like any other. `loss` is bound to this layer object: a compiled
    model saves and loads, but to train a loaded model compile it again with the loaded
    layer's loss, `model.compile(optimizer, loss=model.get_layer(name).loss)` (the restored
    loss raises an error saying so).

    Args:
        num_tags: number of tags (the size of the potentials' last axis).
        use_boundary_transitions: whether to learn start and end scores per tag.
        transitions_initializer: initializer of the `[num_tags, num_tags]` transitions.
        boundary_initializer: initializer of the start and end scores.
        transitions_regularizer: optional regularizer of the transitions.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: emission potentials `[B, T, num_tags]`.
        mask: optional bool `[B, T]`; defaults to the Keras mask of `inputs`.
        output: `"potentials"` (identity, the default), `"tags"` (Viterbi) or
            `"marginals"`; `decode` and `marginals` use the last two.

    Example:

    >>> import numpy as np
    >>> inputs = keras.Input((None,), dtype="int32")
    >>> x = keras.layers.Embedding(10, 8, mask_zero=True)(inputs)
    >>> x = keras.layers.Bidirectional(keras.layers.LSTM(4, return_sequences=True))(x)
    >>> crf = CRF(3)
    >>> potentials = crf(keras.layers.Dense(3)(x))
    >>> model = keras.Model(inputs, potentials)
    >>> model.compile("adam", loss=crf.loss)
    >>> x_train = np.array([[1, 2, 3], [4, 5, 0]])
    >>> y_train = np.array([[0, 1, 2], [2, 1, -1]])
    >>> _ = model.fit(x_train, y_train, epochs=1, verbose=0)
    >>> tagger = keras.Model(inputs, crf.decode(potentials))
    >>> tagger.predict(x_train, verbose=0).shape
    (2, 3)
    """

    def __init__(
        self,
        num_tags,
        use_boundary_transitions=True,
        transitions_initializer="glorot_uniform",
        boundary_initializer="zeros",
        transitions_regularizer=None,
        **kwargs,
    ):
        # Transition scores stay float32 under mixed precision: the forward algorithm sums
        # many of them and Viterbi compares them.
        kwargs.pop("autocast", None)
        super().__init__(autocast=False, **kwargs)
        if not is_int(num_tags, minimum=1):
            raise ValueError(
                "`num_tags` must be a positive int (the number of tags). "
                f"Received: num_tags={num_tags!r}"
            )
        if not isinstance(use_boundary_transitions, bool):
            raise TypeError(
                "`use_boundary_transitions` must be True or False. "
                f"Received: use_boundary_transitions={use_boundary_transitions!r}"
            )
        self.num_tags = int(num_tags)
        self.use_boundary_transitions = use_boundary_transitions
        self.transitions_initializer = keras.initializers.get(transitions_initializer)
        self.boundary_initializer = keras.initializers.get(boundary_initializer)
        self.transitions_regularizer = keras.regularizers.get(transitions_regularizer)
        self.supports_masking = True
        self._loss = CRFLoss(self)

    def build(self, input_shape):
        if len(input_shape) != 3 or (
            input_shape[-1] is not None and input_shape[-1] != self.num_tags
        ):
            raise ValueError(
                f"`{self.name}` expects potentials of shape [batch, time, num_tags="
                f"{self.num_tags}]. Received: input_shape={tuple(input_shape)}. Put a "
                f"`Dense({self.num_tags})` before the CRF or change `num_tags`."
            )
        self.transitions = self.add_weight(
            shape=(self.num_tags, self.num_tags),
            initializer=self.transitions_initializer,
            regularizer=self.transitions_regularizer,
            name="transitions",
        )
        if self.use_boundary_transitions:
            self.start_transitions = self.add_weight(
                shape=(self.num_tags,), initializer=self.boundary_initializer, name="start"
            )
            self.end_transitions = self.add_weight(
                shape=(self.num_tags,), initializer=self.boundary_initializer, name="end"
            )
        else:
            self.start_transitions = None
            self.end_transitions = None

    def call(self, inputs, mask=None, output="potentials"):
        if output == "potentials":
            # A new tensor, so Keras attaches this call's mask rather than the input's.
            return ops.copy(inputs)
        if output == "tags":
            return self._viterbi(inputs, mask)
        if output == "marginals":
            return self._marginals(inputs, mask)
        raise ValueError(f"`output` must be one of {list(_OUTPUTS)}. Received: output={output!r}")

    def compute_mask(self, inputs, mask=None):
        return mask

    def compute_output_spec(self, inputs, mask=None, output="potentials"):
        if output == "tags":
            return keras.KerasTensor(inputs.shape[:2], dtype="int32")
        if output == "marginals":
            return keras.KerasTensor(inputs.shape, dtype="float32")
        return keras.KerasTensor(inputs.shape, dtype=inputs.dtype)

    def get_config(self):
        config = {
            "num_tags": self.num_tags,
            "use_boundary_transitions": self.use_boundary_transitions,
            "transitions_initializer": keras.initializers.serialize(self.transitions_initializer),
            "boundary_initializer": keras.initializers.serialize(self.boundary_initializer),
            "transitions_regularizer": keras.regularizers.serialize(self.transitions_regularizer),
        }
        return {**super().get_config(), **config}

    # ------------------------------------------------------------------ public methods

    @property
    def loss(self):
        """`keras.losses.Loss`: mean negative log-likelihood per sequence, for `compile`.

        `y_true` is int tags `[B, T]` (or `[B, T, 1]`); padding is `y_true == -1` and/or the
        Keras mask of `y_pred`. `sample_weight`, if given, weights whole sequences `[B]`.
        """
        return self._loss

    def decode(self, potentials, mask=None):
        """Viterbi decoding: the highest-scoring tag sequence.

        Args:
            potentials: emission potentials `[B, T, num_tags]`.
            mask: optional bool `[B, T]`, True at real tokens; defaults to the Keras mask of
                `potentials`, else all True.

        Returns:
            int32 tags `[B, T]`, 0 at masked positions. On symbolic inputs, a symbolic
            tensor from a call of this layer (so the model serialises).
        """
        if _is_symbolic(potentials, mask):
            return self(potentials, mask=mask, output="tags")
        return self._viterbi(potentials, self._default_mask(potentials, mask))

    def marginals(self, potentials, mask=None):
        """Per-token tag posterior probabilities by forward-backward.

        Args:
            potentials: emission potentials `[B, T, num_tags]`.
            mask: optional bool `[B, T]` (default: Keras mask of `potentials`, else all True).

        Returns:
            float32 `[B, T, num_tags]`; rows of real tokens sum to 1, masked rows are 0.
        """
        if _is_symbolic(potentials, mask):
            return self(potentials, mask=mask, output="marginals")
        return self._marginals(potentials, self._default_mask(potentials, mask))

    def log_likelihood(self, potentials, tags, mask=None):
        """Log-probability of `tags` under the CRF: gold-path score minus log-partition.

        Args:
            potentials: emission potentials `[B, T, num_tags]`.
            tags: int tags `[B, T]`; values at masked positions are ignored.
            mask: optional bool `[B, T]` (default: Keras mask of `potentials`, else all True).

        Returns:
            float32 `[B]` (0 for an all-masked row).
        """
        self._check_not_symbolic("log_likelihood", potentials, tags, mask)
        pots, mask = self._prepare(potentials, self._default_mask(potentials, mask))
        tags = ops.cast(tags, "int32")
        if len(tags.shape) == 3 and tags.shape[-1] == 1:
            tags = ops.squeeze(tags, -1)
        tags = ops.where(mask, ops.clip(tags, 0, self.num_tags - 1), 0)
        return self._path_score(pots, tags, mask) - self._forward(pots, mask)

    def log_partition(self, potentials, mask=None):
        """Log of the sum of exp(score) over every tag sequence (the normaliser).

        Args:
            potentials: emission potentials `[B, T, num_tags]`.
            mask: optional bool `[B, T]` (default: Keras mask of `potentials`, else all True).

        Returns:
            float32 `[B]` (0 for an all-masked row).
        """
        self._check_not_symbolic("log_partition", potentials, mask)
        pots, mask = self._prepare(potentials, self._default_mask(potentials, mask))
        return self._forward(pots, mask)

    # ----------------------------------------------------------------------- internals

    def _check_not_symbolic(self, method, *tensors):
        if _is_symbolic(*tensors):
            raise TypeError(
                f"`CRF.{method}` needs real tensors, and received a symbolic Keras tensor. "
                "Call it in a loss, in a subclassed model's `call` or eagerly; in a "
                "functional model use `decode` or `marginals`, or `crf.loss` in `compile`."
            )

    def _default_mask(self, potentials, mask):
        return _keras_mask(potentials) if mask is None else mask

    def _prepare(self, potentials, mask):
        if not self.built:
            self.build(tuple(potentials.shape))
        pots = ops.cast(potentials, "float32")
        if len(pots.shape) != 3:
            raise ValueError(
                "`potentials` must have shape [batch, time, num_tags]. "
                f"Received: shape={tuple(pots.shape)}"
            )
        if mask is None:
            mask = ops.ones(ops.shape(pots)[:2], dtype="bool")
        else:
            mask = ops.cast(mask, "bool")
            if len(mask.shape) != 2:
                raise ValueError(
                    "`mask` must be a bool tensor of shape [batch, time]. "
                    f"Received: shape={tuple(mask.shape)}"
                )
        return pots, mask

    def _boundaries(self):
        if self.use_boundary_transitions:
            return (
                ops.cast(self.start_transitions, "float32"),
                ops.cast(self.end_transitions, "float32"),
            )
        zeros = ops.zeros((self.num_tags,), "float32")
        return zeros, zeros

    @staticmethod
    def _time_major(pots, mask):
        return ops.transpose(pots, (1, 0, 2)), ops.transpose(mask, (1, 0))

    def _alpha_step(self, alpha, seen, emit, m, trans, start):
        cont = ops.logsumexp(ops.expand_dims(alpha, 2) + trans, axis=1) + emit
        new = ops.where(ops.expand_dims(seen, 1), cont, start + emit)
        return ops.where(ops.expand_dims(m, 1), new, alpha), ops.logical_or(seen, m)

    def _log_z(self, alpha, seen, end):
        return ops.where(seen, ops.logsumexp(alpha + end, axis=1), 0.0)

    def _forward(self, pots, mask):
        """Forward algorithm; returns log Z `[B]` (differentiable, also under XLA)."""
        trans = ops.cast(self.transitions, "float32")
        start, end = self._boundaries()
        emits, masks = self._time_major(pots, mask)
        steps = ops.shape(emits)[0]

        # A while loop with `maximum_iterations` rather than `ops.scan`: XLA can only
        # differentiate loops whose trip count is bounded.
        def body(i, alpha, seen):
            emit = ops.take(emits, i, axis=0)
            m = ops.take(masks, i, axis=0)
            alpha, seen = self._alpha_step(alpha, seen, emit, m, trans, start)
            return i + 1, alpha, seen

        batch = ops.shape(pots)[0]
        _, alpha, seen = ops.while_loop(
            lambda i, alpha, seen: i < steps,
            body,
            (
                ops.convert_to_tensor(0, "int32"),
                ops.zeros((batch, self.num_tags), "float32"),
                ops.zeros((batch,), "bool"),
            ),
            maximum_iterations=steps,
        )
        return self._log_z(alpha, seen, end)

    def _forward_all(self, pots, mask):
        """Forward algorithm keeping every step; returns log Z `[B]`, alphas `[T, B, N]`."""
        trans = ops.cast(self.transitions, "float32")
        start, end = self._boundaries()
        batch = ops.shape(pots)[0]

        def step(carry, x):
            alpha, seen = self._alpha_step(*carry, *x, trans, start)
            return (alpha, seen), alpha

        init_alpha = ops.zeros((batch, self.num_tags), "float32")
        init = ((init_alpha, ops.zeros((batch,), "bool")), init_alpha)
        (alpha, seen), alphas = _scan(step, init, self._time_major(pots, mask))
        return self._log_z(alpha, seen, end), alphas

    def _path_score(self, pots, tags, mask):
        """Unnormalised score of `tags`; masked positions are skipped."""
        trans = ops.cast(self.transitions, "float32")
        start, end = self._boundaries()
        batch = ops.shape(pots)[0]
        emit = ops.take_along_axis(pots, ops.expand_dims(tags, -1), axis=-1)[..., 0]

        # The previous real tag of each position (integers only, so nothing to
        # differentiate in the loop); holes in the mask are skipped.
        def step(carry, x):
            prev, seen = carry
            tag, m = x
            return (ops.where(m, tag, prev), ops.logical_or(seen, m)), carry

        init = (ops.zeros((batch,), "int32"), ops.zeros((batch,), "bool"))
        (last, seen), (prev, has_prev) = _scan(
            step, (init, init), (ops.transpose(tags, (1, 0)), ops.transpose(mask, (1, 0)))
        )
        prev, has_prev = ops.transpose(prev, (1, 0)), ops.transpose(has_prev, (1, 0))
        pair = ops.take(ops.reshape(trans, (-1,)), prev * self.num_tags + tags)
        gain = emit + ops.where(has_prev, pair, ops.take(start, tags))
        score = ops.sum(ops.where(mask, gain, 0.0), axis=1)
        return score + ops.where(seen, ops.take(end, last), 0.0)

    def _viterbi(self, potentials, mask):
        pots, mask = self._prepare(potentials, mask)
        trans = ops.cast(self.transitions, "float32")
        start, end = self._boundaries()
        batch = ops.shape(pots)[0]
        identity = ops.expand_dims(ops.arange(self.num_tags, dtype="int32"), 0)

        def forward(carry, x):
            score, seen = carry
            emit, m = x
            cand = ops.expand_dims(score, 2) + trans
            best_prev = ops.cast(ops.argmax(cand, axis=1), "int32")
            cont = ops.max(cand, axis=1) + emit
            new = ops.where(ops.expand_dims(seen, 1), cont, start + emit)
            # Masked and first tokens point to themselves, so backtracking passes through.
            pointers = ops.where(ops.expand_dims(ops.logical_and(seen, m), 1), best_prev, identity)
            score = ops.where(ops.expand_dims(m, 1), new, score)
            return (score, ops.logical_or(seen, m)), pointers

        init_score = ops.zeros((batch, self.num_tags), "float32")
        init = (
            (init_score, ops.zeros((batch,), "bool")),
            ops.zeros((batch, self.num_tags), "int32"),
        )
        (score, _), pointers = _scan(forward, init, self._time_major(pots, mask))
        last = ops.cast(ops.argmax(score + end, axis=1), "int32")

        def backward(tag, x):
            (ptr,) = x
            previous = ops.take_along_axis(ptr, ops.expand_dims(tag, 1), axis=1)[:, 0]
            return previous, tag

        _, tags = _scan(backward, (last, last), (pointers,), reverse=True)
        tags = ops.transpose(tags, (1, 0))
        return ops.where(mask, tags, 0)

    def _marginals(self, potentials, mask):
        pots, mask = self._prepare(potentials, mask)
        trans = ops.cast(self.transitions, "float32")
        _, end = self._boundaries()
        batch = ops.shape(pots)[0]
        log_z, alphas = self._forward_all(pots, mask)

        def backward(beta, x):
            emit, m = x
            to_prev = ops.logsumexp(trans + ops.expand_dims(emit + beta, 1), axis=2)
            return ops.where(ops.expand_dims(m, 1), to_prev, beta), beta

        init_beta = ops.broadcast_to(end, (batch, self.num_tags))
        _, betas = _scan(
            backward, (init_beta, init_beta), self._time_major(pots, mask), reverse=True
        )
        log_marg = alphas + betas - ops.expand_dims(ops.expand_dims(log_z, 0), 2)
        probs = ops.transpose(ops.exp(log_marg), (1, 0, 2))
        return ops.where(ops.expand_dims(mask, 2), probs, 0.0)


@keras.saving.register_keras_serializable(package="rnnkit")
class CRFLoss(keras.losses.Loss):
    """Mean negative log-likelihood of a `CRF` (see `CRF.loss`); bound to one layer.

    A saved model keeps only the layer's name: the loss restored by `load_model` is unbound
    and says so when used; compile the loaded model again with the loaded layer's `loss`.
    """

    def __init__(self, crf=None, name="crf_loss", reduction="sum_over_batch_size", layer_name=None):
        super().__init__(name=name, reduction=reduction)
        if crf is not None and not isinstance(crf, CRF):
            raise TypeError(f"`crf` must be a `CRF` layer. Received: crf={crf!r}. Use `crf.loss`.")
        # Behind a function, not an attribute: Keras saving walks attributes, and
        # layer -> loss -> layer would be a cycle.
        self._crf = lambda: crf
        self.layer_name = crf.name if crf is not None else layer_name

    def __call__(self, y_true, y_pred, sample_weight=None):
        # Overridden: Keras would apply the token mask of `y_pred` to per-sequence values.
        keras_mask = _keras_mask(y_pred)
        with keras.name_scope(self.name):
            losses = self.per_sequence(y_true, y_pred, keras_mask)
            if sample_weight is not None:
                weight = ops.cast(sample_weight, "float32")
                if len(weight.shape) == 2 and weight.shape[-1] == 1:
                    weight = ops.squeeze(weight, -1)
                if len(weight.shape) != 1:
                    raise ValueError(
                        "The CRF loss takes one `sample_weight` per sequence, shape [B] or "
                        f"[B, 1]. Received: shape={tuple(sample_weight.shape)}"
                    )
                losses = losses * weight
            if self.reduction in (None, "none"):
                return losses
            if self.reduction == "sum":
                return ops.sum(losses)
            return ops.mean(losses)

    def per_sequence(self, y_true, y_pred, keras_mask=None):
        """Negative log-likelihood `[B]`; padding is `y_true == -1` or `keras_mask` False."""
        crf = self._crf()
        if crf is None:
            raise ValueError(
                f"This CRF loss was restored from a saved model and is not bound to its CRF "
                f"layer. Compile the loaded model again: `model.compile(optimizer, "
                f"loss=model.get_layer({self.layer_name!r}).loss)`."
            )
        tags = ops.cast(y_true, "int32")
        if len(tags.shape) == 3:
            tags = ops.squeeze(tags, -1)
        mask = ops.not_equal(tags, -1)
        if keras_mask is not None:
            mask = ops.logical_and(mask, ops.cast(keras_mask, "bool"))
        return -crf.log_likelihood(y_pred, tags, mask)

    def call(self, y_true, y_pred):
        return self.per_sequence(y_true, y_pred)

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction, "layer_name": self.layer_name}
