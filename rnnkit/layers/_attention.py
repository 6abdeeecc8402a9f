"""Bahdanau (additive) and Luong (multiplicative) attention, written with `keras.ops`."""

import math
import warnings

import keras
from keras import ops

from rnnkit.checks import check_units

_LUONG_SCORES = ("dot", "general", "concat")


def _keras_mask(x):
    return getattr(x, "_keras_mask", None)


def _large_negative(dtype):
    # Finite, so an all-masked row gives a uniform softmax (zeroed afterwards), never NaN.
    return -3e4 if keras.backend.standardize_dtype(dtype) == "float16" else -1e9


class _Attention(keras.layers.Layer):
    """Shared call logic: scores `[B, Tq, Tk]` -> masked softmax -> weighted values."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self._keys_shape = None

    # Subclasses provide: `_build_weights(query_dim, key_dim)`, `_project(keys)` and
    # `_score(query3d, projected_keys)`; `_project` may build key-side weights itself.

    def build(self, query_shape, values_shape, keys_shape=None, projected_keys_shape=None):
        query_shape, values_shape = tuple(query_shape), tuple(values_shape)
        if len(query_shape) not in (2, 3):
            raise ValueError(
                f"`query` must have shape [batch, query_dim] (one decoder step) or "
                f"[batch, time, query_dim] (all steps). Received: shape={query_shape}"
            )
        if len(values_shape) != 3:
            raise ValueError(
                f"`values` must have shape [batch, time, value_dim]. Received: shape={values_shape}"
            )
        if keys_shape is None:
            # Called with `projected_keys` only: the raw keys were projected before, with
            # weights built by `project_keys`; else keys default to the values.
            keys_shape = self._keys_shape or values_shape
        keys_shape = tuple(keys_shape)
        if len(keys_shape) != 3:
            raise ValueError(
                f"`keys` must have shape [batch, time, key_dim]. Received: shape={keys_shape}"
            )
        self._keys_shape = keys_shape
        self._build_weights(query_shape[-1], keys_shape[-1])

    def get_build_config(self):
        config = super().get_build_config()
        if config and "shapes_dict" in config and self._keys_shape is not None:
            # Record the raw keys' shape even when the layer was called with projected keys,
            # so a loaded layer builds the key projection with the right input size.
            shapes = {k: v for k, v in config["shapes_dict"].items() if k != "projected_keys_shape"}
            shapes["keys_shape"] = self._keys_shape
            config = {"shapes_dict": shapes}
        return config

    def project_keys(self, keys):
        """Projects the keys once per source sentence, for a decoder step loop.

        Pass the result as `projected_keys=` on every step instead of `keys` (results are
        identical, the key projection is not recomputed at each step).

        Args:
            keys: `[B, Tk, Dk]` keys (usually the encoder outputs, the same as `values`).

        Returns:
            The projected keys, in the form `call(projected_keys=...)` expects.
        """
        if isinstance(keys, keras.KerasTensor):
            raise TypeError(
                "`project_keys` is for decoder loops on real tensors; in a functional model "
                "call the layer with `keys` (or `values`) directly."
            )
        if len(keys.shape) != 3:
            raise ValueError(
                "`keys` must have shape [batch, time, key_dim]. "
                f"Received: shape={tuple(keys.shape)}"
            )
        if self._keys_shape is None:
            self._keys_shape = tuple(keys.shape)
        return self._project(keys)

    def call(self, query, values, keys=None, mask=None, projected_keys=None):
        if keys is not None and projected_keys is not None:
            raise ValueError(
                "Pass either `keys` or `projected_keys` (from `project_keys(keys)`), not both."
            )
        one_step = len(query.shape) == 2
        query3d = ops.expand_dims(query, 1) if one_step else query
        if projected_keys is None:
            projected_keys = self._project(values if keys is None else keys)
        scores = self._score(query3d, projected_keys)
        if mask is not None:
            if len(mask.shape) != 2:
                raise ValueError(
                    "`mask` must be a bool tensor of shape [batch, key_time] (True at real "
                    f"keys). Received: shape={tuple(mask.shape)}"
                )
            key_mask = ops.expand_dims(ops.cast(mask, "bool"), 1)
            scores = ops.where(key_mask, scores, _large_negative(scores.dtype))
        with warnings.catch_warnings():
            # One key (a one-word source) is a softmax over one score, weight 1: right here,
            # though Keras warns about a softmax over an axis of size 1.
            warnings.filterwarnings("ignore", message="You are using a softmax over axis")
            weights = ops.softmax(scores, axis=-1)
        if mask is not None:
            # Exact zeros at padded keys (and an all-zero row when every key is padding).
            weights = ops.where(key_mask, weights, ops.zeros_like(weights))
        context = ops.matmul(weights, ops.cast(values, weights.dtype))
        if one_step:
            return ops.squeeze(context, 1), ops.squeeze(weights, 1)
        return context, weights

    def compute_mask(self, inputs, previous_mask=None):
        # `previous_mask` is the keys' mask; the outputs are per query step instead.
        query_mask = _keras_mask(inputs)
        if query_mask is None or len(inputs.shape) != 3:
            return None
        return query_mask, query_mask

    def compute_output_spec(self, query, values, keys=None, mask=None, projected_keys=None):
        lead = tuple(query.shape[:-1])
        dtype = self.compute_dtype
        return (
            keras.KerasTensor(lead + (values.shape[-1],), dtype=dtype),
            keras.KerasTensor(lead + (values.shape[1],), dtype=dtype),
        )


@keras.saving.register_keras_serializable(package="rnnkit")
class BahdanauAttention(_Attention):
    """Additive attention (Bahdanau et al., 2015): `score = v^T tanh(W1 q + W2 k)`.

    Args:
        units: size of the hidden layer inside the score (`W1`, `W2` output size, `v` size).
        use_bias: whether to add a bias inside the `tanh`.
        kernel_initializer: initializer of `W1`, `W2` and `v`.
        bias_initializer: initializer of the bias.
        **kwargs: base `keras.layers.Layer` arguments.

    Call arguments:
        query: `[B, Dq]` (one decoder step) or `[B, Tq, Dq]` (all steps, teacher forcing).
        values: `[B, Tk, Dv]`.
        keys: optional `[B, Tk, Dk]`; defaults to `values`.
        mask: optional bool `[B, Tk]`, True at real keys.
        projected_keys: optional result of `project_keys(keys)`, instead of `keys`.

    Returns:
        `(context, weights)`: `[B, Dv]` and `[B, Tk]` for a one-step query, `[B, Tq, Dv]`
        and `[B, Tq, Tk]` for a sequence of queries. Weights are exactly 0 at masked keys
        and each row sums to 1 (an all-masked row is all 0, its context 0). One-step and
        all-steps calls give the same numbers.

    Example:

    >>> import numpy as np
    >>> att = BahdanauAttention(8)
    >>> encoder_out = np.random.rand(2, 5, 6).astype("float32")
    >>> mask = np.array([[True] * 5, [True] * 3 + [False] * 2])
    >>> context, weights = att(np.ones((2, 4), "float32"), encoder_out, mask=mask)
    >>> context.shape, weights.shape
    (TensorShape([2, 6]), TensorShape([2, 5]))
    >>> keys = att.project_keys(encoder_out)  # once per source sentence
    >>> context, weights = att(np.ones((2, 4), "float32"), encoder_out, projected_keys=keys)
    """

    def __init__(
        self,
        units,
        use_bias=False,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_units(units, example="BahdanauAttention(units=64)")
        self.units = int(units)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.query_dense = keras.layers.Dense(
            self.units, use_bias=False, kernel_initializer=self.kernel_initializer, name="query"
        )
        self.key_dense = keras.layers.Dense(
            self.units,
            use_bias=self.use_bias,
            kernel_initializer=self.kernel_initializer,
            bias_initializer=self.bias_initializer,
            name="key",
        )

    def _build_weights(self, query_dim, key_dim):
        if not self.query_dense.built:
            self.query_dense.build((None, query_dim))
        if not self.key_dense.built:
            self.key_dense.build((None, key_dim))
        self.v = self.add_weight(shape=(self.units,), initializer=self.kernel_initializer, name="v")

    def _project(self, keys):
        return self.key_dense(keys)

    def _score(self, query, projected_keys):
        hidden = ops.tanh(
            ops.expand_dims(self.query_dense(query), 2) + ops.expand_dims(projected_keys, 1)
        )
        return ops.squeeze(ops.matmul(hidden, ops.expand_dims(self.v, -1)), -1)

    def get_config(self):
        config = {
            "units": self.units,
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        }
        return {**super().get_config(), **config}


@keras.saving.register_keras_serializable(package="rnnkit")
class LuongAttention(_Attention):
    """Multiplicative attention (Luong et al., 2015) with `dot`, `general` or `concat` scores.

    - `"dot"`: `score = q . k` (query and key sizes must match);
    - `"general"`: `score = q . (W k)`, `W` maps key size to query size;
    - `"concat"`: `score = v^T tanh(W [q; k])`, hidden size `units`.

    With `scale=True`, `dot` and `general` scores are divided by `sqrt(query_dim)` (as in
    scaled dot-product attention).

    Args:
        score: `"dot"`, `"general"` or `"concat"`.
        units: hidden size for `"concat"` (required there); must be None otherwise.
        scale: whether to divide `dot`/`general` scores by `sqrt(query_dim)`.
        kernel_initializer: initializer of the weights.
        **kwargs: base `keras.layers.Layer` arguments.

    Call arguments and returns: as `BahdanauAttention` (`query`, `values`, `keys`, `mask`,
    `projected_keys`; returns `(context, weights)`). For `"general"`, `project_keys` needs
    the query size, so build the layer first (`att.build(query_shape, values_shape)` in your
    decoder's `build`, or one call).

    Example:

    >>> import numpy as np
    >>> att = LuongAttention("general")
    >>> encoder_out = np.random.rand(2, 5, 6).astype("float32")
    >>> context, weights = att(np.ones((2, 3, 4), "float32"), encoder_out)
    >>> context.shape, weights.shape
    (TensorShape([2, 3, 6]), TensorShape([2, 3, 5]))
    """

    def __init__(
        self,
        score="dot",
        units=None,
        scale=False,
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if score not in _LUONG_SCORES:
            raise ValueError(
                f"`score` must be one of {list(_LUONG_SCORES)}. Received: score={score!r}"
            )
        if score == "concat":
            check_units(units, example="LuongAttention(units=64)")
        elif units is not None:
            raise ValueError(
                f"`units` is only used by score='concat'; for score={score!r} the sizes come "
                f"from the inputs. Received: units={units!r}. Fix: drop `units`."
            )
        if not isinstance(scale, bool):
            raise TypeError(f"`scale` must be True or False. Received: scale={scale!r}")
        if scale and score == "concat":
            raise ValueError(
                "`scale=True` applies to the 'dot' and 'general' scores only. "
                "Received: score='concat', scale=True."
            )
        self.score = score
        self.units = None if units is None else int(units)
        self.scale = scale
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        if score == "concat":
            self.query_dense = keras.layers.Dense(
                self.units, use_bias=False, kernel_initializer=self.kernel_initializer, name="query"
            )
            self.key_dense = keras.layers.Dense(
                self.units, use_bias=False, kernel_initializer=self.kernel_initializer, name="key"
            )

    def _build_weights(self, query_dim, key_dim):
        if self.score == "dot" and query_dim != key_dim:
            raise ValueError(
                "score='dot' needs queries and keys of the same size. Received: query_dim="
                f"{query_dim}, key_dim={key_dim}. Fix: use score='general' or 'concat'."
            )
        if self.score == "general":
            self.kernel = self.add_weight(
                shape=(key_dim, query_dim), initializer=self.kernel_initializer, name="kernel"
            )
        elif self.score == "concat":
            if not self.query_dense.built:
                self.query_dense.build((None, query_dim))
            if not self.key_dense.built:
                self.key_dense.build((None, key_dim))
            self.v = self.add_weight(
                shape=(self.units,), initializer=self.kernel_initializer, name="v"
            )

    def _project(self, keys):
        if self.score == "dot":
            return keys
        if self.score == "concat":
            return self.key_dense(keys)
        if not self.built:
            raise ValueError(
                "LuongAttention(score='general') projects keys to the query size, which is "
                "not known yet. Build it first: `att.build(query_shape, values_shape)` "
                "(e.g. in your decoder's `build`) or call it once."
            )
        return ops.matmul(keys, ops.cast(self.kernel, keys.dtype))

    def _score(self, query, projected_keys):
        if self.score == "concat":
            hidden = ops.tanh(
                ops.expand_dims(self.query_dense(query), 2) + ops.expand_dims(projected_keys, 1)
            )
            return ops.squeeze(ops.matmul(hidden, ops.expand_dims(self.v, -1)), -1)
        scores = ops.matmul(query, ops.swapaxes(projected_keys, 1, 2))
        if self.scale:
            scores = scores / math.sqrt(query.shape[-1])
        return scores

    def get_config(self):
        config = {
            "score": self.score,
            "units": self.units,
            "scale": self.scale,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
        }
        return {**super().get_config(), **config}
