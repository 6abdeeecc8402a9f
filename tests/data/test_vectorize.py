"""TextVectorizer: vocabulary, standardisation, graph use (tf.data, Model, SavedModel), decoding."""

import os
import unicodedata

import keras
import numpy as np
import pytest
import tensorflow as tf

from rnnkit.data import TextVectorizer
from tests.helpers import keras_round_trip, run_without_rnnkit

TEXTS = ["The cat sat.", "The dog sat!", "A cat, a dog."]
MULTILINGUAL = [
    "¿Dónde está la estación?",
    "¡Él comió «paella» con Ñoño!",
    "İSTANBUL'da ÇOK güzel bir gün, değil mi?",
    "Iğdır ve Şırnak'a gidiyoruz: 3,5 saat.",
    "no\u00a0break\u3000ideographic\tspace\nnewline  double",
    "naïve café — 50% off $5 + tax",
]


def reference_tokenize(text: str) -> list[str]:
    """Pure-Python statement of "lower_punct": Unicode lower-case, punctuation/symbols split."""
    spaced = "".join(f" {c} " if unicodedata.category(c)[0] in "PS" else c for c in text.lower())
    return spaced.split()


def test_reserved_ids_and_frequency_order():
    vec = TextVectorizer()
    vec.adapt(TEXTS)
    vocab = vec.get_vocabulary()
    assert vocab[:4] == ["", "[UNK]", "[START]", "[END]"]
    # a:2 cat:2 dog:2 sat:2 the:2 (ties by code point), then ! , . (1 each, "." twice)
    assert vocab[4:] == [".", "a", "cat", "dog", "sat", "the", "!", ","]
    assert vec.vocabulary_size == len(vocab) == 12
    ids = vec(tf.constant(["the cat", "zebra dog ."])).numpy()
    assert ids.dtype == np.int32
    np.testing.assert_array_equal(ids, [[9, 6, 0], [1, 7, 4]])


def test_max_tokens_and_min_frequency():
    vec = TextVectorizer(max_tokens=6)
    vec.adapt(TEXTS)
    assert vec.get_vocabulary() == ["", "[UNK]", "[START]", "[END]", ".", "a"]
    vec = TextVectorizer(min_frequency=2)
    vec.adapt(TEXTS)
    assert vec.get_vocabulary()[4:] == [".", "a", "cat", "dog", "sat", "the"]


def test_lower_punct_keeps_non_ascii_letters():
    vec = TextVectorizer()
    got = vec.tokenize(["¿Dónde está?", "İzmir'de ÇAY"]).to_list()
    assert [[t.decode() for t in row] for row in got] == [
        ["¿", "dónde", "está", "?"],
        ["i̇zmir", "'", "de", "çay"],
    ]


def test_graph_tokenisation_matches_python_reference_on_spanish_and_turkish():
    vec = TextVectorizer()
    got = [[t.decode() for t in row] for row in vec.tokenize(MULTILINGUAL).to_list()]
    assert got == [reference_tokenize(text) for text in MULTILINGUAL]


def test_adapt_vocabulary_covers_every_token_that_call_produces():
    vec = TextVectorizer()
    vec.adapt(MULTILINGUAL)
    ids = vec(tf.constant(MULTILINGUAL)).numpy()
    assert (ids != 1).all()
    expected = {t for text in MULTILINGUAL for t in reference_tokenize(text)}
    assert set(vec.get_vocabulary()[4:]) == expected


def test_standardize_options():
    assert TextVectorizer(standardize="lower").tokenize(["Hola, Ana"]).to_list() == [
        [b"hola,", b"ana"]
    ]
    assert TextVectorizer(standardize=None).tokenize(["Hola, Ana"]).to_list() == [
        [b"Hola,", b"Ana"]
    ]
    upper = TextVectorizer(standardize=tf.strings.upper)
    assert upper.tokenize(["hola ana"]).to_list() == [[b"HOLA", b"ANA"]]
    with pytest.raises(ValueError, match="`standardize`"):
        TextVectorizer(standardize="strip")


def test_pretokenised_ragged_and_dense_inputs_agree_and_are_not_split():
    vec = TextVectorizer()
    vec.adapt([["The", "cat's"], ["dog"]])
    assert vec.get_vocabulary()[4:] == ["cat's", "dog", "the"]
    ragged = vec(tf.ragged.constant([["The", "cat's"], ["dog"]])).numpy()
    dense = vec(tf.constant([["The", "cat's"], ["dog", ""]])).numpy()
    listed = vec([["The", "cat's"], ["dog"]]).numpy()
    np.testing.assert_array_equal(ragged, [[6, 4], [5, 0]])
    np.testing.assert_array_equal(dense, ragged)
    np.testing.assert_array_equal(listed, ragged)


def test_scalar_input_and_tf_data_map():
    vec = TextVectorizer()
    vec.adapt(TEXTS)
    np.testing.assert_array_equal(vec(tf.constant("the cat")).numpy(), [9, 6])
    ds = tf.data.Dataset.from_tensor_slices(["the cat sat", "dog"]).map(vec)
    assert [x.tolist() for x in ds.as_numpy_iterator()] == [[9, 6, 8], [7]]
    batched = tf.data.Dataset.from_tensor_slices(["the cat sat", "dog"]).batch(2).map(vec)
    assert next(iter(batched)).numpy().tolist() == [[9, 6, 8], [7, 0, 0]]


@pytest.mark.parametrize(
    "options",
    [{}, {"start_end": True}, {"output_sequence_length": 5, "start_end": True},
     {"output_sequence_length": 3}, {"level": "char"}, {"level": "char", "start_end": True}],
)  # fmt: skip
def test_one_string_gives_the_row_of_the_batch(options):
    vec = TextVectorizer(**options)
    vec.adapt(MULTILINGUAL[:4])
    batch = vec(tf.constant(MULTILINGUAL)).numpy()
    ds = tf.data.Dataset.from_tensor_slices(MULTILINGUAL).map(vec)
    for text, row, single, mapped in zip(
        MULTILINGUAL, batch, map(vec, MULTILINGUAL), ds.as_numpy_iterator(), strict=True
    ):
        expected = row[: (row != 0).sum()] if "output_sequence_length" not in options else row
        np.testing.assert_array_equal(single.numpy(), expected, err_msg=text)
        np.testing.assert_array_equal(mapped, expected, err_msg=text)


def test_start_end_and_output_sequence_length():
    vec = TextVectorizer(start_end=True)
    vec.adapt(["a b c d"])
    np.testing.assert_array_equal(vec(["a b", "c"]).numpy(), [[2, 4, 5, 3], [2, 6, 3, 0]])
    fixed = TextVectorizer(start_end=True, output_sequence_length=4, vocabulary=["a", "b", "c"])
    # too long: truncated so [END] still fits; short: right-padded to 4
    np.testing.assert_array_equal(fixed(["a b c", "b"]).numpy(), [[2, 4, 5, 3], [2, 5, 3, 0]])
    plain = TextVectorizer(output_sequence_length=2, vocabulary=["a", "b", "c"])
    np.testing.assert_array_equal(plain(["a b c", "c"]).numpy(), [[4, 5], [6, 0]])
    with pytest.raises(ValueError, match="`output_sequence_length`"):
        TextVectorizer(start_end=True, output_sequence_length=2)


def test_char_level_strings_and_tokens():
    vec = TextVectorizer(level="char", standardize="lower_punct")
    vec.adapt(["Ñaba", "ab"])
    assert vec.get_vocabulary()[4:] == ["a", "b", "ñ"]
    np.testing.assert_array_equal(vec(["ÑAb", "b?"]).numpy(), [[6, 4, 5], [5, 1, 0]])
    per_token = vec(tf.ragged.constant([["ab", "ñ"], ["bab"]])).numpy()
    assert per_token.shape == (2, 2, 3)
    np.testing.assert_array_equal(per_token, [[[4, 5, 0], [6, 0, 0]], [[5, 4, 5], [0, 0, 0]]])
    clipped = TextVectorizer(level="char", max_chars_per_token=2, vocabulary=["a", "b"])
    assert clipped(tf.ragged.constant([["abab"]])).numpy().tolist() == [[[4, 5]]]
    with pytest.raises(ValueError, match="start_end"):
        TextVectorizer(level="char", start_end=True, vocabulary=["a"])(tf.ragged.constant([["a"]]))


def test_decode_drops_padding_and_start_and_stops_at_end():
    vec = TextVectorizer(vocabulary=["a", "b", "c"])
    ids = [[2, 4, 5, 3, 6, 0], [4, 0, 0, 0, 0, 0], [2, 6, 99, 3, 3, 0]]
    assert vec.decode(ids).numpy().tolist() == [b"a b", b"a", b"c [UNK]"]
    assert vec.decode(tf.constant([4, 5], tf.int64)).numpy() == b"a b"
    decoded = tf.function(vec.decode)(tf.constant(ids)).numpy().tolist()
    assert decoded == [b"a b", b"a", b"c [UNK]"]
    chars = TextVectorizer(level="char", vocabulary=["a", "b"])
    assert chars.decode(chars(["ab a"])).numpy().tolist() == [b"ab[UNK]a"]
    per_token = chars(tf.ragged.constant([["ab", "ba"], ["a"]]))
    assert chars.decode(per_token).numpy().tolist() == [b"ab ba", b"a"]


def test_vocabulary_argument_and_errors():
    vec = TextVectorizer(vocabulary=["", "[UNK]", "[START]", "[END]", "x"])
    assert vec.get_vocabulary() == ["", "[UNK]", "[START]", "[END]", "x"]
    with pytest.raises(ValueError, match="reserved"):
        TextVectorizer(vocabulary=["x", "[UNK]"])
    with pytest.raises(ValueError, match="duplicate"):
        TextVectorizer(vocabulary=["x", "x"])
    with pytest.raises(ValueError, match="`level`"):
        TextVectorizer(level="piece")
    with pytest.raises(ValueError, match="`max_tokens`"):
        TextVectorizer(max_tokens=3)
    with pytest.raises(TypeError, match="tf.string"):
        TextVectorizer()(tf.constant([1, 2]))
    with pytest.raises(TypeError, match="item 1"):
        TextVectorizer().adapt(["ok", 3])


def test_adapt_accepts_arrays_series_tensors_and_datasets():
    import pandas as pd

    expected = TextVectorizer()
    expected.adapt(TEXTS)
    sources = [
        np.array(TEXTS),
        pd.Series(TEXTS),
        tf.constant(TEXTS),
        tf.data.Dataset.from_tensor_slices(TEXTS),
        tf.data.Dataset.from_tensor_slices(TEXTS).batch(2),
    ]
    for source in sources:
        vec = TextVectorizer()
        vec.adapt(source)
        assert vec.get_vocabulary() == expected.get_vocabulary(), type(source)
    chunked = TextVectorizer()
    chunked.adapt(TEXTS, batch_size=1)
    assert chunked.get_vocabulary() == expected.get_vocabulary()


@keras.saving.register_keras_serializable(package="rnnkit_tests")
def shout(text):
    return tf.strings.upper(text)


def test_config_and_keras_file_restore_vocabulary(tmp_path):
    vec = TextVectorizer(standardize=shout, output_sequence_length=3, name="vec")
    vec.adapt(TEXTS)
    clone = TextVectorizer.from_config(vec.get_config())
    assert clone.get_vocabulary() == vec.get_vocabulary()
    assert clone.get_config() == vec.get_config()
    inputs = keras.Input(shape=(), dtype="string")
    ids = vec(inputs)
    assert tuple(ids.shape) == (None, 3) and ids.dtype == "int32"
    model = keras.Model(inputs, keras.layers.Embedding(vec.vocabulary_size, 2)(ids))
    loaded = keras_round_trip(model, tmp_path)
    texts = tf.constant(["the cat", "DOG sat a"])
    np.testing.assert_allclose(loaded.predict(texts, verbose=0), model.predict(texts, verbose=0))
    assert loaded.layers[1].get_vocabulary() == vec.get_vocabulary()


@pytest.mark.parametrize("options", [{}, {"level": "subword", "max_tokens": 80}])
def test_exported_savedmodel_takes_raw_strings_without_rnnkit(options, tmp_path):
    vec = TextVectorizer(**options)
    vec.adapt(MULTILINGUAL)
    inputs = keras.Input(shape=(), dtype="string")
    embedded = keras.layers.Embedding(vec.vocabulary_size, 3, mask_zero=True)(vec(inputs))
    outputs = keras.layers.Dense(2)(keras.layers.GlobalAveragePooling1D()(embedded))
    model = keras.Model(inputs, outputs)
    texts = ["¿Dónde está?", "İSTANBUL'da çok güzel", "unknown words here"]
    expected = model.predict(tf.constant(texts), verbose=0)
    path = os.path.join(str(tmp_path), "exported")
    model.export(path, verbose=False)
    got = run_without_rnnkit(
        f"""
        import numpy as np
        import tensorflow as tf
        served = tf.saved_model.load({path!r})
        result = np.asarray(served.serve(tf.constant({texts!r}))).tolist()
        """
    )
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
