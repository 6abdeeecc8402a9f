"""`gradient_flow`: exact values on a linear recurrence, and vanishing gradients where theory says."""

import keras
import numpy as np
import pytest

from rnnkit import layers
from rnnkit.diagnostics import gradient_flow, plot_gradient_flow


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def test_exact_values_on_a_min_gru():
    # MinGRU: h_t = (1 - z_t) h_{t-1} + ..., so dL/dh_t = (prod_{s>t} (1 - z_s)) * dL/dh_T.
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 7, 2)).astype("float32")
    y = rng.normal(size=(3, 4)).astype("float32")
    layer = layers.MinGRU(4, bias_initializer="random_normal")
    h_last = keras.ops.convert_to_numpy(layer(x))
    kernel, bias = (keras.ops.convert_to_numpy(w) for w in layer.weights)
    a = 1 - _sigmoid(x @ kernel[:, :4] + bias[:4])  # (batch, steps, units)
    grad = 2 * (h_last - y) / y.size  # mean squared error
    expected = []
    for t in range(6, -1, -1):
        expected.append(np.linalg.norm(grad))
        grad = grad * a[:, t]
    np.testing.assert_allclose(gradient_flow(layer, x, y), expected[::-1], rtol=1e-4)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_simple_rnn_vanishes_orders_of_magnitude_faster_than_lstm(seed):
    # Untrained layers with Keras's default initialisers, unit-normal inputs, 100 steps: a
    # SimpleRNN's gradient decays through tanh' * W at every step, an LSTM's mostly through
    # its forget gate (biased towards 1 by `unit_forget_bias`).
    steps = 100
    x = np.random.default_rng(seed).normal(size=(8, steps, 8)).astype("float32")
    y = np.random.default_rng(seed + 10).normal(size=(8, 1)).astype("float32")
    ratios = {}
    for cls in (layers.SimpleRNN, layers.LSTM):
        keras.utils.set_random_seed(seed)
        model = keras.Sequential([keras.Input((steps, 8)), cls(16), keras.layers.Dense(1)])
        norms = gradient_flow(model, x, y)
        assert norms.shape == (steps,)
        assert np.all(np.isfinite(norms))
        ratios[cls.__name__] = norms[0] / norms[-1]
    assert ratios["SimpleRNN"] * 1e3 < ratios["LSTM"] < 1.0, ratios


def test_padding_steps_get_no_gradient_when_the_head_ignores_them():
    # Right padding, masked average pooling: the loss never reads the states at padded steps,
    # and no later real step reads them either, so dL/dh_t is exactly 0 there.
    tokens = np.array([[3, 1, 4, 0, 0]], "int32")
    model = keras.Sequential(
        [
            keras.Input((5,), dtype="int32"),
            keras.layers.Embedding(10, 3, mask_zero=True),
            layers.GRU(4, return_sequences=True),
            keras.layers.GlobalAveragePooling1D(),
        ]
    )
    model.compile(loss="mse")
    norms = gradient_flow(model, tokens, np.array([[0.5, -1.0, 0.2, 0.3]], "float32"))
    assert np.all(norms[:3] > 0)
    np.testing.assert_array_equal(norms[3:], 0.0)


def test_go_backwards_is_indexed_by_input_position():
    x = np.random.default_rng(0).normal(size=(4, 30, 3)).astype("float32")
    y = np.zeros((4, 4), "float32")
    forward = gradient_flow(layers.SimpleRNN(4, seed=1), x, y)
    backward = gradient_flow(layers.SimpleRNN(4, go_backwards=True), x, y)
    assert forward[0] < forward[-1]
    assert backward[-1] < backward[0]  # the last input is read first


def test_refuses_what_it_cannot_measure():
    with pytest.raises(ValueError, match="Bidirectional"):
        model = keras.Sequential(
            [keras.Input((5, 3)), keras.layers.Bidirectional(layers.LSTM(2)), keras.layers.Dense(1)]
        )
        gradient_flow(model, np.zeros((1, 5, 3), "float32"), np.zeros((1, 1), "float32"))
    with pytest.raises(ValueError, match="must contain a recurrent layer"):
        model = keras.Sequential([keras.Input((5, 3)), keras.layers.Dense(1)])
        gradient_flow(model, np.zeros((1, 5, 3), "float32"), np.zeros((1, 5, 1), "float32"))
    with pytest.raises(TypeError, match="`model_or_layer`"):
        gradient_flow("lstm", np.zeros((1, 5, 3)), np.zeros((1, 1)))
    # Not a chain: a skip connection around the recurrent layer.
    inputs = keras.Input((5, 3))
    hidden = layers.GRU(3, return_sequences=True)(inputs)
    model = keras.Model(inputs, keras.layers.Add()([hidden, inputs]))
    with pytest.raises(ValueError, match="chain of layers"):
        gradient_flow(model, np.ones((1, 5, 3), "float32"), np.zeros((1, 5, 3), "float32"))


def test_plot_writes_a_png(tmp_path):
    path = plot_gradient_flow(
        {"SimpleRNN": np.logspace(-9, 0, 20), "LSTM": np.logspace(-3, 0, 20)}, tmp_path / "g.png"
    )
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="must be 1-D"):
        plot_gradient_flow({"x": np.zeros((2, 2))}, tmp_path / "bad.png")
