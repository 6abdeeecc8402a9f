"""Contract shared by `SimpleRNN`, `LSTM` and `GRU`: same numbers as Keras's layers everywhere.

Every test copies the weights of the Keras layer into ours and compares outputs *and*
gradients (weights, inputs, initial states) at `atol=1e-5`.
"""

import keras
import numpy as np
import pytest

from tests.helpers import assert_close, run_layer_test, run_without_rnnkit
from tests.layers.rnn_cases import (
    BATCH,
    KINDS,
    MASKS,
    STEPS,
    UNITS,
    assert_same_outputs_and_gradients,
    copy_weights,
    inputs,
    n_states,
    twins,
)

ALL_KINDS = sorted(KINDS)


# `return_state` only packs the final states next to the output, so it rides along with the
# last-output mode (final states checked) and is off in the sequence mode; both other
# combinations are covered by the initial-state, jit and contract tests below.
@pytest.mark.parametrize("mask", list(MASKS), ids=str)
@pytest.mark.parametrize("go_backwards", [False, True], ids=["forward", "backwards"])
@pytest.mark.parametrize(
    ("return_sequences", "return_state"), [(False, True), (True, False)], ids=["last", "seq"]
)
@pytest.mark.parametrize("kind", ALL_KINDS)
def test_matches_keras(kind, return_sequences, return_state, go_backwards, mask):
    theirs, ours = twins(
        kind,
        return_sequences=return_sequences,
        return_state=return_state,
        go_backwards=go_backwards,
    )
    x = inputs()
    call_kwargs = {} if MASKS[mask] is None else {"mask": MASKS[mask]}
    copy_weights(theirs, ours, x, **call_kwargs)
    outputs = assert_same_outputs_and_gradients(ours, theirs, x, **call_kwargs)
    assert len(outputs) == 1 + (n_states(kind) if return_state else 0)
    expected = (BATCH, STEPS, UNITS) if return_sequences else (BATCH, UNITS)
    assert outputs[0].shape == expected


@pytest.mark.parametrize("mask", [None, "arbitrary"], ids=str)
@pytest.mark.parametrize("go_backwards", [False, True], ids=["forward", "backwards"])
@pytest.mark.parametrize("kind", ALL_KINDS)
def test_initial_state_matches_keras(kind, go_backwards, mask):
    # With left padding, Keras outputs zeros until the first real step while the state holds
    # the initial state: the masked outputs must follow the same rule.
    theirs, ours = twins(kind, return_sequences=True, return_state=True, go_backwards=go_backwards)
    x = inputs()
    rng = np.random.default_rng(1)
    state = [rng.normal(size=(BATCH, UNITS)).astype("float32") for _ in range(n_states(kind))]
    call_kwargs = {"initial_state": state}
    if MASKS[mask] is not None:
        call_kwargs["mask"] = MASKS[mask]
    copy_weights(theirs, ours, x, **call_kwargs)
    outputs = assert_same_outputs_and_gradients(ours, theirs, x, **call_kwargs)
    if mask is not None:
        # Sample 3 is fully masked: zero outputs, the initial state passes through.
        np.testing.assert_array_equal(outputs[0][3], 0.0)
        np.testing.assert_allclose(outputs[1][3], state[0][3])


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None], ids=str)
@pytest.mark.parametrize("kind", ALL_KINDS)
def test_bidirectional_matches_keras(kind, merge_mode):
    # Under `Bidirectional`, Keras zeroes the outputs at masked steps (`zero_output_for_mask`)
    # and reverses the backward layer's sequence: an arbitrary mask checks both.
    x = inputs()
    mask = MASKS["arbitrary"]
    configs = [(True, True)] + ([(False, False)] if merge_mode == "concat" else [])
    for return_sequences, return_state in configs:
        theirs, ours = twins(kind, return_sequences=return_sequences, return_state=return_state)
        theirs = keras.layers.Bidirectional(theirs, merge_mode=merge_mode)
        ours = keras.layers.Bidirectional(ours, merge_mode=merge_mode)
        copy_weights(theirs, ours, x, mask=mask)
        assert_same_outputs_and_gradients(ours, theirs, x, mask=mask)


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_stacked_with_embedding_mask_matches_keras(kind):
    keras_cls, our_cls, _, _, extra = KINDS[kind]
    tokens = np.array([[3, 1, 4, 0, 0], [2, 7, 1, 8, 2], [5, 0, 0, 0, 0]], "int32")

    def build(cls):
        return keras.Sequential(
            [
                keras.Input((STEPS,), dtype="int32"),
                keras.layers.Embedding(10, 3, mask_zero=True),
                keras.layers.Bidirectional(cls(UNITS, return_sequences=True, **extra)),
                cls(UNITS, return_sequences=True, **extra),
                cls(UNITS, **extra),
            ]
        )

    theirs, ours = build(keras_cls), build(our_cls)
    ours.set_weights(theirs.get_weights())
    assert_close(ours(tokens), theirs(tokens))
    # Gradients through the whole stack, the embedding included.
    import tensorflow as tf

    grads = []
    for model in (ours, theirs):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.square(model(tokens) - 0.3))
        grads.append(tape.gradient(loss, model.trainable_weights))
    for a, b in zip(*grads, strict=True):
        assert_close(tf.convert_to_tensor(a), tf.convert_to_tensor(b))


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_stateful_matches_keras(kind):
    theirs, ours = twins(kind, stateful=True, return_sequences=True)
    x1, x2 = inputs(seed=1), inputs(seed=2)
    mask = MASKS["arbitrary"]
    copy_weights(theirs, ours, x1)
    theirs.reset_state()
    ours.reset_state()
    for x, m in [(x1, None), (x2, mask)]:
        assert_close(ours(x, mask=m), theirs(x, mask=m))
    for a, b in zip(ours.states, theirs.states, strict=True):
        assert_close(a, b)
        assert np.abs(keras.ops.convert_to_numpy(a)).sum() > 0
    ours.reset_state()
    theirs.reset_state()
    for a in ours.states:
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a), 0.0)
    assert_close(ours(x2), theirs(x2))


# Recurrent dropout switches Keras to one mask per gate (inputs and state); the cell test
# below covers recurrent dropout inside `keras.layers.RNN` as well.
DROPOUTS = [{"dropout": 0.4}, {"dropout": 0.3, "recurrent_dropout": 0.5}]


@pytest.mark.parametrize("rates", DROPOUTS, ids=lambda d: "-".join(sorted(d)))
@pytest.mark.parametrize("kind", ALL_KINDS)
def test_dropout_matches_keras_masks(kind, rates):
    # Our cells draw their masks through the same Keras machinery, from the same seed, so
    # training-mode numbers equal Keras's exactly (not just statistically).
    theirs, ours = twins(kind, seed=11, return_sequences=True, **rates)
    _, plain = twins(kind, return_sequences=True)
    x = inputs()
    copy_weights(theirs, ours, x)
    plain(x)
    plain.set_weights(ours.get_weights())
    trained = assert_same_outputs_and_gradients(ours, theirs, x, training=True)[0]
    inference = keras.ops.convert_to_numpy(ours(x, training=False))
    assert_close(inference, plain(x))
    assert not np.allclose(trained, inference, atol=1e-3)
    # A fresh mask every call in training; none in inference.
    again = keras.ops.convert_to_numpy(ours(x, training=True))
    assert not np.allclose(again, trained, atol=1e-3)
    assert_close(ours(x, training=False), inference)


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_dropout_mask_is_shared_by_all_steps(kind):
    # Constant inputs and input dropout only: a dropped feature stays dropped at every step, so
    # with recurrent weights zeroed the output is the same at every step.
    keras_cls, our_cls, _, _, extra = KINDS[kind]
    layer = our_cls(64, dropout=0.5, recurrent_initializer="zeros", return_sequences=True, **extra)
    x = np.ones((8, 6, 20), "float32")
    y = keras.ops.convert_to_numpy(layer(x, training=True))
    if kind == "simple_rnn":
        np.testing.assert_allclose(y, np.broadcast_to(y[:, :1], y.shape), atol=1e-6)
    cell = layer.cell
    mask = keras.ops.convert_to_numpy(cell.get_dropout_mask(x[:, 0]))
    # Masks are cleared after every call, so this one is fresh; it keeps about half and
    # rescales the kept inputs by 1 / (1 - rate), as Keras does.
    values = np.unique(mask)
    assert set(np.round(values, 5)) <= {0.0, 2.0}
    assert 0.35 < (mask > 0).mean() < 0.65


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_unroll_matches_loop(kind):
    theirs, ours = twins(kind, return_sequences=True, return_state=True, unroll=True)
    x = inputs()
    mask = MASKS["arbitrary"]
    copy_weights(theirs, ours, x, mask=mask)
    assert_same_outputs_and_gradients(ours, theirs, x, mask=mask)


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_cell_inside_keras_rnn_matches_keras_cell(kind):
    _, _, keras_cell, our_cell, extra = KINDS[kind]
    rates = {"dropout": 0.25, "recurrent_dropout": 0.3, "seed": 5}
    theirs = keras.layers.RNN(keras_cell(UNITS, **extra, **rates), return_sequences=True)
    ours = keras.layers.RNN(our_cell(UNITS, **extra, **rates), return_sequences=True)
    x = inputs()
    mask = MASKS["arbitrary"]
    copy_weights(theirs, ours, x, mask=mask)
    assert_same_outputs_and_gradients(ours, theirs, x, mask=mask)
    assert_same_outputs_and_gradients(ours, theirs, x, mask=mask, training=True)


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_config_is_keras_compatible(kind):
    # A Keras layer's config builds our layer (a drop-in at config level too) and back.
    theirs, ours = twins(kind, return_sequences=True, dropout=0.1, seed=3, go_backwards=True)
    keras_config = theirs.get_config()
    rebuilt = type(ours).from_config(keras_config)
    config = rebuilt.get_config()
    # Keras's SimpleRNN forgets its `seed` in the config; ours keeps it.
    assert set(config) - set(keras_config) <= {"seed"}
    assert set(keras_config) <= set(config)
    for key, value in keras_config.items():
        if key != "name":
            assert config[key] == value, key
    assert ours.get_config()["seed"] == 3


def _all_kinds_model(which, layer_kwargs, mask=False, kinds=ALL_KINDS):
    """One model running every kind side by side on the same input (one compile for all).

    `which` is 0 for Keras's layers, 1 for ours.
    """
    seq = keras.Input((STEPS, 3))
    model_inputs = [seq, keras.Input((STEPS,), dtype="bool")] if mask else seq
    call_kwargs = {"mask": model_inputs[1]} if mask else {}
    outputs = [
        KINDS[kind][which](UNITS, **KINDS[kind][4], **layer_kwargs(kind))(seq, **call_kwargs)
        for kind in kinds
    ]
    return keras.Model(model_inputs, keras.layers.Concatenate()(outputs))


def test_regularizers_and_constraints_match_keras():
    def layer_kwargs(kind):
        kwargs = {
            "kernel_regularizer": "l2",
            "recurrent_regularizer": keras.regularizers.L1(0.01),
            "bias_regularizer": "l1",
            "activity_regularizer": "l2",
            "kernel_constraint": keras.constraints.MaxNorm(0.5),
            "recurrent_constraint": "non_neg",
            "bias_constraint": keras.constraints.MinMaxNorm(0.0, 0.1),
        }
        if kind == "simple_rnn":
            # Keras's SimpleRNN accepts `activity_regularizer` but never applies it (it does
            # not pass it on to `RNN`); ours applies it, checked in `test_simple_rnn.py`.
            del kwargs["activity_regularizer"]
        return kwargs

    x = inputs()
    target = np.random.default_rng(3).normal(size=(BATCH, 4 * UNITS)).astype("float32")
    models = [_all_kinds_model(which, layer_kwargs) for which in (0, 1)]
    models[1].set_weights(models[0].get_weights())
    for model in models:
        model(x)
        model.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse")
    assert len(models[1].losses) == len(models[0].losses) == 4 * 3 + 3
    for a, b in zip(models[1].losses, models[0].losses, strict=True):
        assert_close(a, b)
    losses = [float(m.train_on_batch(x, target)) for m in models]
    assert losses[0] == pytest.approx(losses[1], rel=1e-5)
    for a, b in zip(models[1].get_weights(), models[0].get_weights(), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)
    for layer in models[1].layers[1:-1]:
        assert (layer.cell.recurrent_kernel.numpy() >= 0).all()
        assert np.linalg.norm(layer.cell.kernel.numpy(), axis=0).max() <= 0.5 + 1e-6


def test_jit_compiled_training_matches_keras():
    # XLA compiles are slow on CPU: LSTM and the GRU variant with a second in-loop matmul;
    # SimpleRNN and the other GRU use only operations these two use.
    kinds = ["lstm", "gru_reset_before"]
    x = inputs()
    mask = MASKS["right_padded"]
    target = np.random.default_rng(3).normal(size=(BATCH, 2 * UNITS)).astype("float32")
    models = [_all_kinds_model(which, lambda kind: {}, mask=True, kinds=kinds) for which in (0, 1)]
    models[1].set_weights(models[0].get_weights())
    models[0].compile(optimizer=keras.optimizers.Adam(0.01), loss="mse", jit_compile=False)
    models[1].compile(optimizer=keras.optimizers.Adam(0.01), loss="mse", jit_compile=True)
    assert models[1].jit_compile is True
    for _ in range(2):
        losses = [float(m.train_on_batch([x, mask], target)) for m in models]
        assert losses[1] == pytest.approx(losses[0], rel=1e-5)
    for a, b in zip(models[1].get_weights(), models[0].get_weights(), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_layer_contract(kind, tmp_path):
    _, our_cls, _, _, extra = KINDS[kind]
    run_layer_test(
        our_cls,
        {"units": UNITS, "return_sequences": True, "return_state": True, **extra},
        inputs(),
        call_kwargs={"mask": MASKS["right_padded"]},
        expected_output_shape=[(BATCH, STEPS, UNITS)] + [(BATCH, UNITS)] * n_states(kind),
        tmp_path=tmp_path,
    )


def test_tf_saved_model_export_runs_without_rnnkit(tmp_path):
    from rnnkit import layers

    tokens = np.array([[3, 1, 4, 0, 0], [2, 7, 1, 8, 2], [5, 0, 0, 0, 0]], "int32")
    model = keras.Sequential(
        [
            keras.Input((STEPS,), dtype="int32"),
            keras.layers.Embedding(10, 3, mask_zero=True),
            keras.layers.Bidirectional(layers.LSTM(UNITS, return_sequences=True)),
            layers.GRU(UNITS, return_sequences=True, reset_after=False),
            layers.SimpleRNN(UNITS),
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
        tokens = np.array({tokens.tolist()!r}, "int32")
        result = loaded.serve(tokens).numpy().tolist()
        """
    )
    np.testing.assert_allclose(np.array(result), expected, atol=1e-5)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"units": 0}, "`units` must be a positive integer"),
        ({"units": 2.5}, "`units` must be a positive integer"),
        ({"units": 4, "dropout": 1.5}, "`dropout` must be a float in"),
        ({"units": 4, "recurrent_dropout": -0.1}, "`recurrent_dropout` must be a float in"),
    ],
)
@pytest.mark.parametrize("kind", ALL_KINDS)
def test_invalid_arguments_are_named(kind, kwargs, message):
    _, our_cls, _, our_cell, extra = KINDS[kind]
    for cls in (our_cls, our_cell):
        with pytest.raises(ValueError, match=message):
            cls(**kwargs, **extra)


def test_cells_share_keras_dropout_mixin_without_private_imports():
    # `keras.layers.RNN` makes per-sequence dropout masks only for cells deriving from Keras's
    # dropout mixin; rnnkit finds it through the public cells instead of importing keras.src.
    from pathlib import Path

    from rnnkit.layers._rnn import DropoutRNNCell

    for keras_cell in (keras.layers.GRUCell, keras.layers.LSTMCell, keras.layers.SimpleRNNCell):
        assert issubclass(keras_cell, DropoutRNNCell)
    for kind in ALL_KINDS:
        assert isinstance(KINDS[kind][3](UNITS), DropoutRNNCell)
    root = Path(__file__).resolve().parents[2] / "rnnkit"
    offenders = [
        f"{path}:{number}"
        for path in root.rglob("*.py")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if line.lstrip().startswith(("import keras.src", "from keras.src"))
    ]
    assert offenders == []


@pytest.mark.parametrize("implementation", [0, 1, 2])
@pytest.mark.parametrize("kind", [k for k in ALL_KINDS if k != "simple_rnn"])  # Keras: LSTM, GRU
def test_legacy_implementation_argument_is_accepted(kind, implementation):
    theirs, ours = twins(kind, implementation=implementation)
    x = inputs()
    copy_weights(theirs, ours, x)
    assert_close(ours(x), theirs(x))
    with pytest.raises(ValueError, match="`implementation` must be 0, 1 or 2"):
        KINDS[kind][1](UNITS, implementation=3, **KINDS[kind][4])


@pytest.mark.parametrize("placement", ["hoisted", "in_loop"])
@pytest.mark.parametrize("kind", ALL_KINDS)
def test_both_input_projection_placements_match_keras(kind, placement, monkeypatch):
    # Each layer picks where `x_t @ kernel` runs (before the loop or in it) per task, from
    # benchmarks/layers.py; both placements must give Keras's numbers, dropout included.
    from rnnkit.layers import _rnn

    monkeypatch.setattr(_rnn, "_PLACEMENT", placement)
    mask = MASKS["arbitrary"]
    for rates, training in [({}, False), ({"dropout": 0.3, "recurrent_dropout": 0.2}, True)]:
        theirs, ours = twins(kind, seed=4, return_sequences=True, **rates)
        x = inputs()
        copy_weights(theirs, ours, x, mask=mask)
        assert_same_outputs_and_gradients(ours, theirs, x, mask=mask, training=training)
