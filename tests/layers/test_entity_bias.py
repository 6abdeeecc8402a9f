import keras
import numpy as np

from rnnkit.layers import EntityBias, MaskedArgmax
from tests.helpers import run_layer_test


def test_entity_bias_layer_shifts_every_tag_but_o():
    from rnnkit.layers import CRF

    scores = np.random.default_rng(0).normal(size=(2, 5, 4)).astype("float32")
    mask = np.array([[True] * 5, [True, True, True, False, False]])
    layer = EntityBias()
    np.testing.assert_array_equal(layer(scores), scores)  # starts at 0
    layer.bias.assign(1.5)
    np.testing.assert_allclose(layer(scores)[..., 0], scores[..., 0])
    np.testing.assert_allclose(layer(scores)[..., 1:], scores[..., 1:] + 1.5)
    crf = CRF(4)
    crf.build((None, None, 4))
    for bias, expected in ((-100.0, 0), (100.0, 1)):
        layer.bias.assign(bias)
        tags = keras.ops.convert_to_numpy(crf.decode(layer(scores), mask=mask))
        assert ((tags[mask] > 0) == expected).all() and (tags[~mask] == 0).all()
    restored = EntityBias.from_config(layer.get_config())
    assert restored.get_config() == layer.get_config()


def test_layer_contract(tmp_path):
    scores = np.arange(2 * 3 * 4, dtype="float32").reshape(2, 3, 4)
    run_layer_test(
        EntityBias, {}, scores, expected_output_shape=(2, 3, 4), train=False, tmp_path=tmp_path
    )


def test_masked_argmax_is_zero_at_padding_and_keeps_the_mask(tmp_path):
    scores = np.random.default_rng(1).normal(size=(2, 4, 3)).astype("float32")
    mask = np.array([[True] * 4, [True, True, False, False]])
    tags = keras.ops.convert_to_numpy(MaskedArgmax()(scores, mask=mask))
    np.testing.assert_array_equal(tags[mask], scores.argmax(-1)[mask])
    assert (tags[~mask] == 0).all()
    np.testing.assert_array_equal(MaskedArgmax()(scores), scores.argmax(-1))
    run_layer_test(
        MaskedArgmax, {}, scores, expected_output_shape=(2, 4), train=False, tmp_path=tmp_path
    )
