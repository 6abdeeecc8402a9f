import keras
import numpy as np
import pytest

from rnnkit.layers import MaskedPooling1D
from tests.helpers import run_layer_test


def test_masked_pooling_matches_numpy():
    x = np.arange(2 * 4 * 3, dtype="float32").reshape(2, 4, 3) * np.array([1, -1, 0.5])
    mask = np.array([[True, True, False, False], [False, False, False, False]])
    out = keras.ops.convert_to_numpy(MaskedPooling1D("mean_max")(x, mask=mask))
    np.testing.assert_allclose(out[0, :3], x[0, :2].mean(0))
    np.testing.assert_allclose(out[0, 3:], x[0, :2].max(0))
    np.testing.assert_array_equal(out[1], np.zeros(6))  # nothing real: zeros, not NaN/-inf
    no_mask = keras.ops.convert_to_numpy(MaskedPooling1D("max")(x))
    np.testing.assert_allclose(no_mask, x.max(1))
    mean = keras.ops.convert_to_numpy(MaskedPooling1D("mean")(x, mask=mask))
    np.testing.assert_allclose(mean[0], x[0, :2].mean(0))


def test_padding_never_changes_the_result():
    x = np.random.default_rng(0).normal(size=(1, 3, 2)).astype("float32")
    padded = np.concatenate([x, np.full((1, 4, 2), 1e6, "float32")], axis=1)
    mask = np.array([[True] * 3 + [False] * 4])
    layer = MaskedPooling1D()
    np.testing.assert_allclose(layer(padded, mask=mask), layer(x))


@pytest.mark.parametrize("mode, width", [("mean_max", 6), ("mean", 3), ("max", 3)])
def test_layer_contract(mode, width, tmp_path):
    x = np.arange(2 * 4 * 3, dtype="float32").reshape(2, 4, 3)
    layer = run_layer_test(
        MaskedPooling1D,
        {"mode": mode},
        x,
        expected_output_shape=(2, width),
        train=False,
        tmp_path=tmp_path,
    )
    assert layer.get_config()["mode"] == mode


def test_bad_mode_names_the_choices():
    with pytest.raises(ValueError, match="`mode`"):
        MaskedPooling1D("sum")
