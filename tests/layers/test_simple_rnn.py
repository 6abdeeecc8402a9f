"""`SimpleRNNCell` / `SimpleRNN`: Keras's weight layout and fixed values."""

import keras
import numpy as np

from rnnkit.layers import SimpleRNN, SimpleRNNCell
from tests.helpers import assert_close
from tests.layers.rnn_cases import arange_inputs, constant_initializers, numpy_rnn


def test_weights_have_keras_names_shapes_and_order():
    ours, theirs = SimpleRNN(4), keras.layers.SimpleRNN(4)
    x = np.zeros((1, 2, 3), "float32")
    ours(x)
    theirs(x)
    assert [(w.name, w.shape) for w in ours.weights] == [(w.name, w.shape) for w in theirs.weights]
    assert [w.shape for w in ours.weights] == [(3, 4), (4, 4), (4,)]


def test_fixed_values_on_arange_inputs():
    x = arange_inputs()
    layer = SimpleRNN(2, return_sequences=True, **constant_initializers())
    outputs = layer(x)
    hs, _, _ = numpy_rnn("simple_rnn", x.astype("float64"), layer.get_weights())
    assert_close(outputs, hs)
    # Hand-checked: step 1 of sample 0 is tanh(0.05 * 0.3 + 0.02); step 2 adds the recurrence.
    h1 = np.tanh(0.05 * 0.3 + 0.02)
    h2 = np.tanh(0.05 * (0.3 + 0.4 + 0.5) + 0.02 - 0.03 * 2 * h1)
    np.testing.assert_allclose(outputs[0, :2].numpy(), [[h1, h1], [h2, h2]], rtol=1e-6)


def test_linear_activation_and_no_bias():
    x = arange_inputs()
    layer = SimpleRNN(2, activation=None, use_bias=False, **constant_initializers())
    y = layer(x)
    assert len(layer.weights) == 2
    hs, _, _ = numpy_rnn("simple_rnn", x.astype("float64"), [*layer.get_weights(), 0.0])
    # numpy_rnn applies tanh; with a linear activation recompute by hand.
    k, r = layer.get_weights()
    h = np.zeros((2, 2))
    for t in range(x.shape[1]):
        h = x[:, t] @ k + h @ r
    assert_close(y, h)
    assert not np.allclose(hs[:, -1], h)


def test_activity_regularizer_is_applied():
    # Keras's SimpleRNN drops this argument; ours applies it like LSTM/GRU do.
    layer = SimpleRNN(2, activity_regularizer=keras.regularizers.L2(0.1))
    y = layer(arange_inputs())
    assert len(layer.losses) == 1
    expected = 0.1 * np.sum(np.square(y.numpy())) / y.shape[0]
    np.testing.assert_allclose(float(layer.losses[0]), expected, rtol=1e-5)


def test_cell_runs_one_step():
    x = arange_inputs()[:, 0]
    cell = SimpleRNNCell(2, **constant_initializers())
    h, states = cell(x, [np.zeros((2, 2), "float32")])
    np.testing.assert_allclose(h.numpy(), np.tanh(x @ np.full((3, 2), 0.05) + 0.02), rtol=1e-6)
    assert_close(states[0], h)
