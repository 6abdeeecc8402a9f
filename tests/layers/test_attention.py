"""Bahdanau and Luong attention against a NumPy reference, masking, key caching, saving."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from rnnkit.layers import BahdanauAttention, LuongAttention
from tests.helpers import assert_close, keras_round_trip, run_layer_test

B, TQ, TK, DQ, DK, DV, UNITS = 2, 3, 5, 4, 4, 6, 7
MASK = np.array([[1, 1, 1, 1, 1], [1, 1, 0, 1, 0]], dtype=bool)  # includes a hole

CASES = {
    "bahdanau": (BahdanauAttention, {"units": UNITS}),
    "bahdanau_bias": (
        BahdanauAttention,
        {"units": UNITS, "use_bias": True, "bias_initializer": "random_normal"},
    ),
    "dot": (LuongAttention, {"score": "dot"}),
    "dot_scaled": (LuongAttention, {"score": "dot", "scale": True}),
    "general": (LuongAttention, {"score": "general"}),
    "general_scaled": (LuongAttention, {"score": "general", "scale": True}),
    "concat": (LuongAttention, {"score": "concat", "units": UNITS}),
}


def _inputs(seed=0, key_dim=DK):
    rng = np.random.default_rng(seed)
    query = rng.normal(size=(B, TQ, DQ)).astype("float32")
    values = rng.normal(size=(B, TK, DV)).astype("float32")
    keys = rng.normal(size=(B, TK, key_dim)).astype("float32")
    return query, values, keys


def _np(x):
    return keras.ops.convert_to_numpy(x).astype(np.float64)


def _reference(layer, query, values, keys, mask):
    """NumPy attention for any of our layers, from its weights, in float64."""
    if isinstance(layer, BahdanauAttention) or layer.score == "concat":
        w1 = _np(layer.query_dense.kernel)
        w2 = _np(layer.key_dense.kernel)
        bias = _np(layer.key_dense.bias) if getattr(layer, "use_bias", False) else 0.0
        hidden = np.tanh((query @ w1)[:, :, None, :] + (keys @ w2 + bias)[:, None, :, :])
        scores = hidden @ _np(layer.v)
    else:
        projected = keys @ _np(layer.kernel) if layer.score == "general" else keys
        scores = query @ projected.transpose(0, 2, 1)
        if layer.scale:
            scores = scores / np.sqrt(query.shape[-1])
    scores = np.where(mask[:, None, :], scores, -np.inf)
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    return weights @ values, weights


@pytest.mark.parametrize("case", sorted(CASES))
def test_equals_numpy_reference_one_step_all_steps_and_cached_keys(case):
    cls, kwargs = CASES[case]
    query, values, keys = _inputs()
    layer = cls(**kwargs, kernel_initializer=keras.initializers.RandomNormal(seed=1))
    context, weights = layer(query, values, keys=keys, mask=MASK)
    ref_context, ref_weights = _reference(layer, query, values, keys, MASK)
    assert tuple(context.shape) == (B, TQ, DV) and tuple(weights.shape) == (B, TQ, TK)
    assert_close(context, ref_context)
    assert_close(weights, ref_weights)
    weights = keras.ops.convert_to_numpy(weights)
    assert (weights[1][:, ~MASK[1]] == 0).all()
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-6)

    # A decoder loop: one query at a time, keys projected once.
    projected = layer.project_keys(keys)
    for t in range(TQ):
        step_context, step_weights = layer(query[:, t], values, projected_keys=projected, mask=MASK)
        assert tuple(step_context.shape) == (B, DV) and tuple(step_weights.shape) == (B, TK)
        assert_close(step_context, context[:, t], atol=1e-6)
        assert_close(step_weights, weights[:, t], atol=1e-6)
        plain_context, _ = layer(query[:, t], values, keys=keys, mask=MASK)
        assert_close(plain_context, step_context, atol=1e-6)


@pytest.mark.parametrize("case", ["bahdanau", "dot", "general", "concat"])
def test_keys_default_to_values_and_no_mask_uses_every_key(case):
    cls, kwargs = CASES[case]
    query, values, _ = _inputs(1)
    values = values[..., :DQ]  # dot needs key size == query size
    layer = cls(**kwargs)
    context, weights = layer(query, values)
    assert_close(context, layer(query, values, keys=values)[0])
    ref_context, ref_weights = _reference(layer, query, values, values, np.ones((B, TK), bool))
    assert_close(context, ref_context)
    assert_close(weights, ref_weights)


def test_all_masked_row_gives_zero_weights_and_context():
    query, values, keys = _inputs(2)
    mask = np.array([[1, 1, 0, 0, 0], [0, 0, 0, 0, 0]], bool)
    context, weights = BahdanauAttention(UNITS)(query, values, keys=keys, mask=mask)
    assert (keras.ops.convert_to_numpy(weights)[1] == 0).all()
    assert (keras.ops.convert_to_numpy(context)[1] == 0).all()
    assert np.isfinite(keras.ops.convert_to_numpy(context)).all()


@pytest.mark.parametrize("case", ["bahdanau_bias", "general_scaled", "concat"])
def test_gradients_are_finite_and_reach_every_weight(case):
    cls, kwargs = CASES[case]
    query, values, keys = _inputs(3)
    layer = cls(**kwargs)
    layer(query, values, keys=keys, mask=MASK)
    query, values, keys = (tf.constant(x) for x in (query, values, keys))
    with tf.GradientTape() as tape:
        tape.watch([query, values, keys])
        context, _ = layer(query, values, keys=keys, mask=MASK)
        loss = tf.reduce_sum(context**2)
    grads = tape.gradient(loss, [query, values, keys, *layer.trainable_weights])
    for grad in grads:
        grad = keras.ops.convert_to_numpy(grad)
        assert np.isfinite(grad).all() and np.abs(grad).sum() > 0
    # Padded keys get no gradient: they do not take part.
    assert (keras.ops.convert_to_numpy(grads[2])[1, ~MASK[1]] == 0).all()


@pytest.mark.parametrize("case", ["bahdanau", "dot", "general", "concat"])
def test_layer_contract(case):
    cls, kwargs = CASES[case]
    query, values, _ = _inputs(4)
    values = values[..., :DQ]
    run_layer_test(
        cls,
        kwargs,
        query,
        expected_output_shape=((B, TQ, DQ), (B, TQ, TK)),
        call_kwargs={"values": values, "mask": MASK},
        train=case != "dot",
    )


def test_teacher_forced_model_round_trip_with_separate_keys(tmp_path):
    query, values, keys = _inputs(5, key_dim=3)
    q_in = keras.Input((None, DQ))
    v_in = keras.Input((None, DV))
    k_in = keras.Input((None, 3))
    m_in = keras.Input((None,), dtype="bool")
    layer = BahdanauAttention(UNITS, use_bias=True)
    context, weights = layer(q_in, v_in, keys=k_in, mask=m_in)
    model = keras.Model([q_in, v_in, k_in, m_in], [context, weights])
    expected = model([query, values, keys, MASK])
    loaded = keras_round_trip(model, tmp_path)
    for got, want in zip(loaded([query, values, keys, MASK]), expected, strict=True):
        assert_close(got, want)


def test_build_config_after_project_keys_records_the_key_size():
    query, values, keys = _inputs(6, key_dim=3)
    layer = LuongAttention("concat", units=UNITS)
    projected = layer.project_keys(keys)  # builds the key projection before the layer
    context, _ = layer(query, values, projected_keys=projected, mask=MASK)
    clone = LuongAttention.from_config(layer.get_config())
    clone.build_from_config(layer.get_build_config())
    clone.set_weights(layer.get_weights())
    assert_close(clone(query, values, keys=keys, mask=MASK)[0], context)


def test_query_mask_is_propagated_to_outputs():
    q_in = keras.Input((None,), dtype="int32")
    query = keras.layers.Embedding(10, DQ, mask_zero=True)(q_in)
    v_in = keras.Input((None, DV))
    context, weights = LuongAttention("general")(query, v_in)
    assert context._keras_mask is not None and weights._keras_mask is not None
    assert tuple(context._keras_mask.shape) == (None, None)


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="`units`"):
        BahdanauAttention(0)
    with pytest.raises(ValueError, match="`score`"):
        LuongAttention("cosine")
    with pytest.raises(ValueError, match="`units`"):
        LuongAttention("concat")
    with pytest.raises(ValueError, match="`units`"):
        LuongAttention("dot", units=4)
    with pytest.raises(ValueError, match="`scale=True`"):
        LuongAttention("concat", units=4, scale=True)
    query, values, keys = _inputs(7, key_dim=3)
    with pytest.raises(ValueError, match="score='dot'"):
        LuongAttention("dot")(query, values, keys=keys)
    with pytest.raises(ValueError, match="Build it first"):
        LuongAttention("general").project_keys(keys)
    layer = BahdanauAttention(UNITS)
    with pytest.raises(ValueError, match="`projected_keys`"):
        layer(query, values, keys=keys, projected_keys=layer.project_keys(keys))
    with pytest.raises(ValueError, match="`mask`"):
        layer(query, values, keys=keys, mask=MASK[:, None, :])
