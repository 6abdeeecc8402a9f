import numpy as np
import pytest

from rnnkit.layers import SequenceLength
from tests.helpers import run_layer_test


def test_sequence_length_truncates_and_keeps_one_step():
    layer = SequenceLength(3)
    ids = np.array([[5, 6, 7, 8, 9], [5, 0, 0, 0, 0]], dtype="int32")
    np.testing.assert_array_equal(layer(ids), ids[:, :3])
    np.testing.assert_array_equal(layer(ids[:, :2]), ids[:, :2])
    np.testing.assert_array_equal(layer(np.zeros((2, 0), "int32")), np.zeros((2, 1)))
    np.testing.assert_array_equal(layer(np.zeros((0, 0), "int32")).shape, (0, 1))


def test_layer_contract(tmp_path):
    ids = np.array([[5, 6, 7, 8, 9], [5, 0, 0, 0, 0]], dtype="int32")
    layer = run_layer_test(
        SequenceLength,
        {"max_length": 4},
        ids,
        expected_output_shape=(2, 4),
        train=False,
        tmp_path=tmp_path,
    )
    assert layer.get_config()["max_length"] == 4


def test_max_length_is_checked():
    with pytest.raises(ValueError, match="`max_length`"):
        SequenceLength(0)
