"""`GRUCell` / `GRU`: Keras's weight layout, both `reset_after` conventions, fixed values."""

import keras
import numpy as np
import pytest

from rnnkit.layers import GRU, GRUCell
from tests.helpers import assert_close
from tests.layers.rnn_cases import arange_inputs, constant_initializers, numpy_rnn


@pytest.mark.parametrize(
    ("reset_after", "bias_shape"), [(True, (2, 12)), (False, (12,))], ids=["after", "before"]
)
def test_weights_have_keras_names_shapes_and_order(reset_after, bias_shape):
    ours, theirs = GRU(4, reset_after=reset_after), keras.layers.GRU(4, reset_after=reset_after)
    x = np.zeros((1, 2, 3), "float32")
    ours(x)
    theirs(x)
    assert [(w.name, w.shape) for w in ours.weights] == [(w.name, w.shape) for w in theirs.weights]
    assert [w.shape for w in ours.weights] == [(3, 12), (4, 12), bias_shape]


@pytest.mark.parametrize("reset_after", [True, False], ids=["after", "before"])
def test_fixed_values_on_arange_inputs(reset_after):
    x = arange_inputs()
    layer = GRU(
        2, reset_after=reset_after, return_sequences=True, return_state=True,
        **constant_initializers(),
    )  # fmt: skip
    outputs, h = layer(x)
    weights = layer.get_weights()
    np.testing.assert_array_equal(weights[2], np.full(weights[2].shape, 0.02, "float32"))
    kind = "gru" if reset_after else "gru_reset_before"
    hs, h_ref, _ = numpy_rnn(kind, x.astype("float64"), weights)
    assert_close(outputs, hs)
    assert_close(h, h_ref)
    # Hand-checked first step of sample 0 (h_0 = 0): z = sigmoid(0.035 [+ 0.02 recurrent bias]).
    gate = 0.035 + (0.02 if reset_after else 0.0)
    z = 1 / (1 + np.exp(-gate))
    candidate = np.tanh(0.035 + (z * 0.02 if reset_after else 0.0))
    np.testing.assert_allclose(outputs[0, 0].numpy(), [(1 - z) * candidate] * 2, rtol=1e-6)


def test_reset_conventions_differ():
    x = arange_inputs(steps=4)
    a = GRU(3, reset_after=True, recurrent_initializer="glorot_uniform", bias_initializer="ones")
    b = GRU(3, reset_after=False, recurrent_initializer="glorot_uniform", bias_initializer="ones")
    a(x)
    b(x)
    b.set_weights([*a.get_weights()[:2], a.get_weights()[2][0]])
    assert not np.allclose(a(x), b(x), atol=1e-4)


def test_cell_accepts_bare_state_like_keras():
    x = arange_inputs()[:, 0]
    ours, theirs = GRUCell(2), keras.layers.GRUCell(2)
    state = np.full((2, 2), 0.1, "float32")
    ours(x, state)
    theirs(x, state)
    ours.set_weights(theirs.get_weights())
    h, new_state = ours(x, state)
    kh, knew = theirs(x, state)
    assert not isinstance(new_state, list)
    assert_close(h, kh)
    assert_close(new_state, knew)
    h, new_state = ours(x, [state])
    assert isinstance(new_state, list) and len(new_state) == 1
    assert_close(new_state[0], kh)
