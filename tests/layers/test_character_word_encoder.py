import keras
import numpy as np
import pytest

from rnnkit.layers import CharacterWordEncoder
from tests.helpers import run_layer_test


@pytest.mark.parametrize("kind", ["cnn", "lstm"])
def test_char_encoder_ignores_padding_and_round_trips(kind, tmp_path):
    layer = CharacterWordEncoder(12, kind=kind, embedding_dim=3, units=4, seed=1)
    short = np.array([[[5, 6, 0], [7, 0, 0]]])
    wide = np.zeros((1, 3, 7), np.int32)
    wide[0, 0, :2], wide[0, 1, :1] = [5, 6], [7]
    out_short, out_wide = layer(short), layer(wide)
    assert out_short.shape == (1, 2, 4) and out_wide.shape == (1, 3, 4)
    np.testing.assert_allclose(out_wide[:, :2], out_short, atol=1e-6)
    np.testing.assert_array_equal(out_wide[0, 2], np.zeros(4))  # a padding token
    assert not np.allclose(out_short[0, 0], out_short[0, 1])
    inputs = keras.Input((None, None), dtype="int32")
    model = keras.Model(inputs, layer(inputs))
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded(short), out_short, atol=1e-6)


def test_shape_features():
    vocabulary = ["", "[UNK]", "[START]", "[END]", "A", "b", "7", "@", "#", ".", "ş", "Ç"]
    classes = CharacterWordEncoder.character_classes(vocabulary)
    assert classes == [0, 0, 0, 0, 1, 2, 3, 5, 6, 4, 2, 1]
    layer = CharacterWordEncoder(len(vocabulary), units=2, char_classes=classes, seed=0)
    index = {c: i for i, c in enumerate(vocabulary)}
    words = ["Ab", "AÇ", "bA", "bş", "b7", "77", ".", "@b", "#A", ""]
    ids = np.zeros((1, len(words), 2), np.int32)
    for t, word in enumerate(words):
        ids[0, t, : len(word)] = [index[c] for c in word]
    shape = keras.ops.convert_to_numpy(layer(ids))[0, :, 2:]
    # first upper, all upper, inner upper, all lower, digit, all digits, no alnum, @, #
    expected = [
        [1, 0, 0, 0, 0, 0, 0, 0, 0],
        [1, 1, 1, 0, 0, 0, 0, 0, 0],
        [0, 0, 1, 0, 0, 0, 0, 0, 0],
        [0, 0, 0, 1, 0, 0, 0, 0, 0],
        [0, 0, 0, 1, 1, 0, 0, 0, 0],
        [0, 0, 0, 0, 1, 1, 0, 0, 0],
        [0, 0, 0, 0, 0, 0, 1, 0, 0],
        [0, 0, 0, 1, 0, 0, 0, 1, 0],
        [0, 1, 1, 0, 0, 0, 0, 0, 1],
        [0] * 9,
    ]
    np.testing.assert_array_equal(shape, expected)
    with pytest.raises(ValueError, match="one class per character id"):
        CharacterWordEncoder(5, char_classes=[0, 1])


@pytest.mark.parametrize("kind", ["cnn", "lstm"])
def test_tokens_without_characters_give_zeros(kind):
    # A batch of empty tokens has no character column at all, or no token, or no sentence.
    layer = CharacterWordEncoder(12, kind=kind, embedding_dim=3, units=4, seed=1)
    for shape in ((2, 3, 0), (2, 0, 5), (0, 3, 4), (0, 0, 0)):
        out = keras.ops.convert_to_numpy(layer(np.zeros(shape, np.int32)))
        assert out.shape == shape[:2] + (4,)
        assert not out.any()


@pytest.mark.parametrize("kind", ["cnn", "lstm"])
def test_layer_contract(kind, tmp_path):
    ids = np.array([[[5, 6, 0], [7, 0, 0]], [[3, 0, 0], [0, 0, 0]]], np.int32)
    layer = run_layer_test(
        CharacterWordEncoder,
        {
            "vocabulary_size": 12,
            "kind": kind,
            "embedding_dim": 3,
            "units": 4,
            "seed": 1,
            "char_classes": [0] * 4 + [1, 2, 3, 4, 5, 6, 2, 1],
        },
        ids,
        expected_output_shape=(2, 2, 4 + CharacterWordEncoder.NUM_SHAPE_FEATURES),
        tmp_path=tmp_path,
    )
    assert layer.get_config()["kind"] == kind


def test_bad_settings_name_the_argument():
    with pytest.raises(ValueError, match="`kind`"):
        CharacterWordEncoder(5, kind="rnn")
    with pytest.raises(ValueError, match="`units` must be even"):
        CharacterWordEncoder(5, kind="lstm", units=3)
