"""Subword units: byte-pair learning, greedy longest-match segmentation in the graph, and
`TextVectorizer(level="subword")` end to end."""

import random
from collections import Counter

import keras
import numpy as np
import tensorflow as tf

from rnnkit.data import TextVectorizer
from rnnkit.data._subwords import learn_subwords, segment
from tests.helpers import keras_round_trip

TEXTS = [
    "¿Dónde está la biblioteca?",
    "Las bibliotecas están cerradas.",
    "Cantaba y cantábamos; cantaron.",
    "Él canta, ella cantará.",
    "La biblioteca está abierta.",
] * 3


def reference_segment(word: str, pieces: set[str]) -> list[str]:
    """Greedy longest match, left to right, stated in plain Python."""
    out, position = [], 0
    while position < len(word):
        for end in range(len(word), position, -1):
            piece = word[position:end] if position == 0 else "##" + word[position:end]
            if piece in pieces:
                out.append(piece)
                position = end
                break
        else:
            out.append("[UNK]")
            position += 1
    return out


def test_learn_subwords_merges_the_most_frequent_pair_first():
    # Sennrich et al.'s example: "es" + "t" (9 times) come before "l" + "o" + "w" (7 times).
    counts = {"low": 5, "lower": 2, "newest": 6, "widest": 3}
    pieces = learn_subwords(counts, size=None)
    alphabet = {w[0] for w in counts} | {"##" + c for w in counts for c in w[1:]}
    assert set(pieces[: len(alphabet)]) == alphabet
    # Ties (9 and 9, then 7 and 7) go to the smaller pair in code-point order.
    assert pieces[len(alphabet) : len(alphabet) + 4] == ["##es", "##est", "##ow", "low"]
    assert len(learn_subwords(counts, size=len(alphabet) + 2)) == len(alphabet) + 2
    # Characters alone exceed a small budget: the most frequent are kept.
    assert learn_subwords(counts, size=3) == ["##e", "##w", "##s"]


def test_graph_segmentation_is_the_greedy_longest_match():
    rng = random.Random(0)
    words = ["".join(rng.choice("abcde") for _ in range(rng.randint(1, 9))) for _ in range(300)]
    pieces = learn_subwords(Counter(words[:200]), size=40)
    vocabulary = ["", "[UNK]", "[START]", "[END]", *pieces]
    table = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(vocabulary, tf.range(len(vocabulary), dtype=tf.int64)),
        default_value=1,
    )
    longest = max(len(p.removeprefix("##")) for p in pieces)
    tests = [*words, "xax", "ñandú", "aaaaaaaaaaaaaaaaaaaa"]
    ids = segment(tf.constant(tests), table, longest, 4).to_list()
    got = [[vocabulary[i] for i in row] for row in ids]
    assert got == [reference_segment(w, set(pieces)) for w in tests]
    assert segment(tf.constant([], tf.string), table, longest, 4).to_list() == []


def test_pieces_round_trip_to_the_words_and_unseen_words_get_pieces():
    vec = TextVectorizer(level="subword", max_tokens=60)
    vec.adapt(TEXTS)
    vocabulary = vec.get_vocabulary()
    assert len(vocabulary) == 60
    texts = ["la biblioteca está cerrada .", "cantábamos y cantaban", "¿ bibliotecario ?"]
    ids = vec(tf.constant(texts))
    assert np.all(ids.numpy()[ids.numpy() > 0] != 1)  # no [UNK]: every character was seen
    assert [t.decode() for t in vec.decode(ids).numpy().tolist()] == texts
    pieces = vec.tokenize(tf.constant(["bibliotecario"]))[0].numpy().tolist()
    assert len(pieces) > 1 and all(p.startswith(b"##") for p in pieces[1:])
    # Only a character never seen is out of vocabulary, and the rest of the word still counts.
    assert vec.tokenize(tf.constant(["laxa"]))[0].numpy().tolist().count(b"[UNK]") == 1


def test_ids_follow_the_frequency_of_use_and_frequent_words_stay_whole():
    vec = TextVectorizer(level="subword", max_tokens=80)
    vec.adapt(TEXTS)
    ids = vec(tf.constant(TEXTS)).numpy()
    use = Counter(ids[ids > 0].tolist())
    counts = [use[i] for i in range(4, vec.vocabulary_size)]
    assert counts == sorted(counts, reverse=True)
    assert vec.tokenize(tf.constant(["la biblioteca"]))[0].numpy().tolist() == [
        b"la",
        b"biblioteca",
    ]


def test_strings_one_string_tokens_and_tf_data_give_the_same_ids():
    vec = TextVectorizer(level="subword", max_tokens=50, start_end=True, output_sequence_length=12)
    vec.adapt(TEXTS)
    texts = ["Cantábamos en la biblioteca.", ""]
    batch = vec(tf.constant(texts)).numpy()
    one = [vec(tf.constant(t)).numpy() for t in texts]
    tokens = vec([["cantábamos", "en", "la", "biblioteca", "."], []]).numpy()
    mapped = list(tf.data.Dataset.from_tensor_slices(texts).map(vec).as_numpy_iterator())
    np.testing.assert_array_equal(batch, np.stack(one))
    np.testing.assert_array_equal(batch, tokens)
    np.testing.assert_array_equal(batch, np.stack(mapped))
    assert batch.shape == (2, 12) and batch[1].tolist()[:3] == [2, 3, 0]


def test_subword_vectorizer_saves_with_its_pieces(tmp_path):
    vec = TextVectorizer(level="subword", max_tokens=50, name="vec")
    vec.adapt(TEXTS)
    clone = TextVectorizer.from_config(vec.get_config())
    assert clone.get_config() == vec.get_config()
    inputs = keras.Input(shape=(), dtype="string")
    embedded = keras.layers.Embedding(vec.vocabulary_size, 3, mask_zero=True)(vec(inputs))
    model = keras.Model(inputs, keras.layers.GlobalAveragePooling1D()(embedded))
    texts = tf.constant(["¿Dónde están las bibliotecas?", "cantaremos", ""])
    loaded = keras_round_trip(model, tmp_path)
    np.testing.assert_allclose(loaded.predict(texts, verbose=0), model.predict(texts, verbose=0))
    # The export without rnnkit: tests/data/test_vectorize.py, for both levels.
