"""`LSTMCell` / `LSTM`: Keras's weight layout and fixed values (the rest is in test_rnn_common)."""

import keras
import numpy as np

from rnnkit.layers import LSTM, LSTMCell
from tests.helpers import assert_close
from tests.layers.rnn_cases import (
    arange_inputs,
    constant_initializers,
    numpy_rnn,
)


def test_weights_have_keras_names_shapes_and_order():
    ours, theirs = LSTM(4), keras.layers.LSTM(4)
    x = np.zeros((1, 2, 3), "float32")
    ours(x)
    theirs(x)
    assert [(w.name, w.shape) for w in ours.weights] == [(w.name, w.shape) for w in theirs.weights]
    assert [w.name for w in ours.weights] == ["kernel", "recurrent_kernel", "bias"]
    assert [w.shape for w in ours.weights] == [(3, 16), (4, 16), (16,)]


def test_unit_forget_bias_initialises_forget_gate_to_one():
    layer = LSTM(3, bias_initializer=keras.initializers.Constant(0.5))
    layer(np.zeros((1, 2, 2), "float32"))
    np.testing.assert_array_equal(layer.cell.bias.numpy(), [0.5] * 3 + [1.0] * 3 + [0.5] * 6)
    layer = LSTM(3, unit_forget_bias=False, bias_initializer=keras.initializers.Constant(0.5))
    layer(np.zeros((1, 2, 2), "float32"))
    np.testing.assert_array_equal(layer.cell.bias.numpy(), [0.5] * 12)
    layer = LSTM(3, use_bias=False)
    layer(np.zeros((1, 2, 2), "float32"))
    assert layer.cell.bias is None and len(layer.weights) == 2


def test_fixed_values_on_arange_inputs():
    x = arange_inputs()
    layer = LSTM(
        2, return_sequences=True, return_state=True, unit_forget_bias=False,
        **constant_initializers(),
    )  # fmt: skip
    outputs, h, c = layer(x)
    weights = layer.get_weights()
    np.testing.assert_array_equal(weights[0], np.full((3, 8), 0.05, "float32"))
    np.testing.assert_array_equal(weights[1], np.full((2, 8), -0.03, "float32"))
    np.testing.assert_array_equal(weights[2], np.full((8,), 0.02, "float32"))
    hs, h_ref, c_ref = numpy_rnn("lstm", x.astype("float64"), weights)
    assert_close(outputs, hs)
    assert_close(h, h_ref)
    assert_close(c, c_ref)
    # Hand-checked first step of sample 0: z = 0.05 * (0 + .1 + .2) + 0.02 = 0.035 per gate.
    z = 0.035
    sig = 1 / (1 + np.exp(-z))
    c1 = sig * np.tanh(z)
    np.testing.assert_allclose(outputs[0, 0].numpy(), [sig * np.tanh(c1)] * 2, rtol=1e-6)


def test_cell_step_matches_layer_first_step():
    x = arange_inputs()
    cell = LSTMCell(2, **constant_initializers())
    states = [np.zeros((2, 2), "float32")] * 2
    h, (h2, c) = cell(x[:, 0], states)
    layer = LSTM(2, **constant_initializers(), return_state=True)
    out, h_layer, c_layer = layer(x[:, :1])
    assert_close(h, h_layer)
    assert_close(c, c_layer)
    assert_close(h2, h)


def test_non_default_activations_match_keras():
    kwargs = {"activation": "relu", "recurrent_activation": "hard_sigmoid"}
    ours, theirs = (
        LSTM(3, **kwargs, return_sequences=True),
        keras.layers.LSTM(3, **kwargs, return_sequences=True),
    )
    x = arange_inputs(steps=4) - 1.0
    ours(x)
    theirs(x)
    ours.set_weights(theirs.get_weights())
    assert_close(ours(x), theirs(x))
