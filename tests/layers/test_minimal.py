"""`MinGRU` / `MinLSTM`: the parallel run equals the same equations stepped one token at a time.

Three references, each independent of the parallel code path:

* a NumPy loop written from the paper's equations (outputs);
* `keras.layers.RNN(cell)`: Keras's own time loop stepping our cell (outputs *and* gradients,
  with Keras's masking rules);
* the cell called by hand, one token at a time, as a decoder does.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from rnnkit import layers
from tests.helpers import assert_close, run_layer_test, run_without_rnnkit
from tests.layers.rnn_cases import (
    BATCH,
    MASKS,
    STEPS,
    UNITS,
    assert_same_outputs_and_gradients,
    copy_weights,
    inputs,
)

KINDS = {
    "mingru": (layers.MinGRU, layers.MinGRUCell),
    "minlstm": (layers.MinLSTM, layers.MinLSTMCell),
}


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def numpy_minimal(kind, x, kernel, bias, mask=None, h0=None):
    """States `h_t` (batch, time, units) from the paper's equations; masked steps keep `h`."""
    units = kernel.shape[1] // (2 if kind == "mingru" else 3)
    h = np.zeros((x.shape[0], units)) if h0 is None else h0.astype("float64")
    hs = []
    for t in range(x.shape[1]):
        p = x[:, t] @ kernel + bias
        if kind == "mingru":
            z = _sigmoid(p[:, :units])
            new_h = (1 - z) * h + z * p[:, units:]
        else:
            f, i = _sigmoid(p[:, :units]), _sigmoid(p[:, units : 2 * units])
            new_h = f / (f + i) * h + i / (f + i) * p[:, 2 * units :]
        keep = np.ones((x.shape[0], 1), bool) if mask is None else mask[:, t : t + 1]
        h = np.where(keep, new_h, h)
        hs.append(h)
    return np.stack(hs, axis=1)


def twins(kind, **kwargs):
    """Our parallel layer and Keras's `RNN` stepping the same cell class."""
    layer_cls, cell_cls = KINDS[kind]
    cell_kwargs = {k: kwargs.pop(k) for k in ("bias_initializer", "dtype") if k in kwargs}
    stepped = keras.layers.RNN(cell_cls(UNITS, **cell_kwargs), **kwargs)
    return stepped, layer_cls(UNITS, **cell_kwargs, **kwargs)


ALL = sorted(KINDS)


@pytest.mark.parametrize("mask", list(MASKS), ids=str)
@pytest.mark.parametrize("kind", ALL)
def test_parallel_equals_numpy_equations(kind, mask):
    layer = KINDS[kind][0](UNITS, return_sequences=True, bias_initializer="random_normal")
    x = inputs()
    got = keras.ops.convert_to_numpy(layer(x, mask=MASKS[mask]))
    kernel, bias = (keras.ops.convert_to_numpy(w) for w in layer.weights)
    want = numpy_minimal(kind, x.astype("float64"), kernel, bias, MASKS[mask])
    if MASKS[mask] is not None:
        # Keras's convention: output 0 before a sample's first real step.
        want = np.where(np.cumsum(MASKS[mask], axis=1)[..., None] > 0, want, 0.0)
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("mask", list(MASKS), ids=str)
@pytest.mark.parametrize("go_backwards", [False, True], ids=["forward", "backwards"])
@pytest.mark.parametrize(
    ("return_sequences", "return_state"), [(False, True), (True, False)], ids=["last", "seq"]
)
@pytest.mark.parametrize("kind", ALL)
def test_parallel_equals_stepped_outputs_and_gradients(
    kind, return_sequences, return_state, go_backwards, mask
):
    stepped, ours = twins(
        kind,
        return_sequences=return_sequences,
        return_state=return_state,
        go_backwards=go_backwards,
        bias_initializer="random_normal",
    )
    x = inputs()
    call_kwargs = {} if MASKS[mask] is None else {"mask": MASKS[mask]}
    copy_weights(stepped, ours, x, **call_kwargs)
    outputs = assert_same_outputs_and_gradients(ours, stepped, x, **call_kwargs)
    assert len(outputs) == 1 + int(return_state)


@pytest.mark.parametrize("kind", ALL)
def test_initial_state_and_long_sequence(kind):
    # 300 steps: the scan's gradient stays equal to the stepped loop's over a long sequence.
    # In float64, so that the two summation orders of 1200 terms agree to 1e-5 (in float32
    # the bias gradient differs by ~2e-5 from rounding alone).
    stepped, ours = twins(kind, return_sequences=True, return_state=True, dtype="float64")
    x = inputs(steps=300).astype("float64")
    mask = np.ones((BATCH, 300), bool)
    mask[1, 250:] = mask[2, 10:] = False
    state = [np.random.default_rng(1).normal(size=(BATCH, UNITS))]
    call_kwargs = {"initial_state": state, "mask": mask}
    copy_weights(stepped, ours, x, **call_kwargs)
    outputs = assert_same_outputs_and_gradients(ours, stepped, x, **call_kwargs)
    # A padded sample keeps the state it had at its last real step.
    np.testing.assert_allclose(outputs[1][2], outputs[0][2, 9], atol=1e-6)


@pytest.mark.parametrize("kind", ALL)
def test_cell_stepped_by_hand_equals_layer(kind):
    layer_cls, _ = KINDS[kind]
    layer = layer_cls(UNITS, return_sequences=True, bias_initializer="random_normal")
    x = inputs()
    rng = np.random.default_rng(2)
    h0 = rng.normal(size=(BATCH, UNITS)).astype("float32")
    sequence = keras.ops.convert_to_numpy(layer(x, initial_state=[h0]))
    states = [h0]
    for t in range(STEPS):
        output, states = layer.cell(x[:, t], states)
        assert_close(output, sequence[:, t])
    # A bare tensor state comes back bare, as with Keras's cells.
    output, state = layer.cell(x[:, 0], h0)
    assert_close(state, sequence[:, 0])


@pytest.mark.parametrize("merge_mode", ["concat", "sum"])
@pytest.mark.parametrize("kind", ALL)
def test_bidirectional_equals_stepped(kind, merge_mode):
    x = inputs()
    mask = MASKS["arbitrary"]
    for return_sequences, return_state in [(True, True), (False, False)]:
        stepped, ours = twins(kind, return_sequences=return_sequences, return_state=return_state)
        stepped = keras.layers.Bidirectional(stepped, merge_mode=merge_mode)
        ours = keras.layers.Bidirectional(ours, merge_mode=merge_mode)
        copy_weights(stepped, ours, x, mask=mask)
        assert_same_outputs_and_gradients(ours, stepped, x, mask=mask)


@pytest.mark.parametrize("kind", ALL)
def test_stacked_with_embedding_mask_equals_stepped(kind):
    layer_cls, cell_cls = KINDS[kind]
    tokens = np.array([[3, 1, 4, 0, 0], [2, 7, 1, 8, 2], [5, 0, 0, 0, 0]], "int32")

    def build(make):
        return keras.Sequential(
            [
                keras.Input((STEPS,), dtype="int32"),
                keras.layers.Embedding(10, 3, mask_zero=True),
                keras.layers.Bidirectional(make(return_sequences=True)),
                make(return_sequences=True),
                make(),
            ]
        )

    stepped = build(lambda **kw: keras.layers.RNN(cell_cls(UNITS), **kw))
    ours = build(lambda **kw: layer_cls(UNITS, **kw))
    ours.set_weights(stepped.get_weights())
    assert_close(ours(tokens), stepped(tokens))
    grads = []
    for model in (ours, stepped):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.square(model(tokens) - 0.3))
        grads.append(tape.gradient(loss, model.trainable_weights))
    for a, b in zip(*grads, strict=True):
        assert_close(tf.convert_to_tensor(a), tf.convert_to_tensor(b))


@pytest.mark.parametrize("kind", ALL)
def test_stateful_carries_the_state(kind):
    layer_cls, _ = KINDS[kind]
    x = inputs()
    whole = layer_cls(UNITS, return_sequences=True)
    split = layer_cls(UNITS, return_sequences=True, stateful=True)
    expected = keras.ops.convert_to_numpy(whole(x))
    split(x[:, :2])
    split.set_weights(whole.get_weights())
    split.reset_state()
    first = split(x[:, :2])
    second = split(x[:, 2:])
    assert_close(keras.ops.concatenate([first, second], axis=1), expected)


@pytest.mark.parametrize("kind", ALL)
def test_dropout_mask_shared_over_time_and_same_as_stepped(kind):
    stepped, ours = twins(kind, return_sequences=True)
    layer_cls, cell_cls = KINDS[kind]
    stepped = keras.layers.RNN(cell_cls(UNITS, dropout=0.5, seed=7), return_sequences=True)
    ours = layer_cls(UNITS, dropout=0.5, seed=7, return_sequences=True)
    x = inputs()
    copy_weights(stepped, ours, x)
    # Same seed, same Keras mask machinery: training-mode numbers equal the stepped loop's.
    assert_same_outputs_and_gradients(ours, stepped, x, training=True)
    assert_close(ours(x, training=False), stepped(x, training=False))
    assert not np.allclose(
        keras.ops.convert_to_numpy(ours(x, training=True)),
        keras.ops.convert_to_numpy(ours(x, training=False)),
        atol=1e-3,
    )


def test_jit_compiled_training_equals_plain():
    x = inputs()
    target = np.random.default_rng(3).normal(size=(BATCH, 2 * UNITS)).astype("float32")

    def build():
        seq = keras.Input((STEPS, 3))
        mask = keras.Input((STEPS,), dtype="bool")
        outs = [cls(UNITS)(seq, mask=mask) for cls in (layers.MinGRU, layers.MinLSTM)]
        return keras.Model([seq, mask], keras.layers.Concatenate()(outs))

    models = [build(), build()]
    models[1].set_weights(models[0].get_weights())
    models[0].compile(optimizer=keras.optimizers.Adam(0.01), loss="mse", jit_compile=False)
    models[1].compile(optimizer=keras.optimizers.Adam(0.01), loss="mse", jit_compile=True)
    mask = MASKS["right_padded"]
    for _ in range(2):
        losses = [float(m.train_on_batch([x, mask], target)) for m in models]
        assert losses[1] == pytest.approx(losses[0], rel=1e-5)


@pytest.mark.parametrize("kind", ALL)
def test_layer_contract(kind, tmp_path):
    run_layer_test(
        KINDS[kind][0],
        {"units": UNITS, "return_sequences": True, "return_state": True, "go_backwards": True},
        inputs(),
        call_kwargs={"mask": MASKS["right_padded"]},
        expected_output_shape=[(BATCH, STEPS, UNITS), (BATCH, UNITS)],
        tmp_path=tmp_path,
    )


def test_registered_for_pipelines():
    assert layers.recurrent_layer("mingru") is layers.MinGRU
    assert layers.recurrent_layer("minlstm") is layers.MinLSTM
    assert layers.state_count("mingru") == layers.state_count("minlstm") == 1


def test_tf_saved_model_export_runs_without_rnnkit(tmp_path):
    tokens = np.array([[3, 1, 4, 0, 0], [2, 7, 1, 8, 2], [5, 0, 0, 0, 0]], "int32")
    model = keras.Sequential(
        [
            keras.Input((STEPS,), dtype="int32"),
            keras.layers.Embedding(10, 3, mask_zero=True),
            keras.layers.Bidirectional(layers.MinGRU(UNITS, return_sequences=True)),
            layers.MinLSTM(UNITS),
        ]
    )
    expected = keras.ops.convert_to_numpy(model(tokens))
    path = str(tmp_path / "exported")
    model.export(path, format="tf_saved_model", verbose=False)
    result = run_without_rnnkit(
        f"""
        import numpy as np
        import tensorflow as tf
        loaded = tf.saved_model.load({path!r})
        result = loaded.serve(np.array({tokens.tolist()!r}, "int32")).numpy().tolist()
        """
    )
    np.testing.assert_allclose(np.array(result), expected, atol=1e-5)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"units": 0}, "`units` must be a positive integer"),
        ({"units": 4, "dropout": 1.5}, "`dropout` must be a float in"),
        ({"units": 4, "recurrent_dropout": 0.2}, "`recurrent_dropout` must be 0"),
    ],
)
@pytest.mark.parametrize("kind", ALL)
def test_invalid_arguments_are_named(kind, kwargs, message):
    for cls in KINDS[kind]:
        with pytest.raises(ValueError, match=message):
            cls(**kwargs)
    if kwargs == {"units": 0}:
        with pytest.raises(ValueError, match="`unroll` must be False"):
            KINDS[kind][0](4, unroll=True)
