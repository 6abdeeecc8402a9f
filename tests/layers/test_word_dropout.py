import keras
import numpy as np

from rnnkit.layers import WordDropout
from tests.helpers import run_layer_test


def test_word_dropout():
    layer = WordDropout(0.1, rare_rate=0.6, rare_from_id=9, seed=3)
    ids = np.array([[5, 6, 7, 8, 9, 10, 11, 12, 1, 0, 0]] * 200, np.int32)
    np.testing.assert_array_equal(layer(ids), ids)
    dropped = keras.ops.convert_to_numpy(layer(ids, training=True))
    changed = dropped != ids
    assert 0.05 < changed[:, :4].mean() < 0.15  # frequent words: rate
    assert 0.5 < changed[:, 4:8].mean() < 0.7  # rare words: rare_rate
    assert (dropped[changed] == 1).all()
    np.testing.assert_array_equal(dropped[:, 8:], ids[:, 8:])  # unknown words and padding


def test_layer_contract(tmp_path):
    ids = np.array([[5, 6, 7, 0]], np.int32)
    layer = run_layer_test(
        WordDropout,
        {"rate": 0.5, "rare_rate": 0.25, "rare_from_id": 6, "oov_id": 1, "seed": 2},
        ids,
        expected_output_shape=(1, 4),
        train=False,
        tmp_path=tmp_path,
    )
    assert layer.get_config()["rare_from_id"] == 6
