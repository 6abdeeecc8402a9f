"""Pretrained word vectors (GloVe / word2vec text format) aligned to a vocabulary."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from rnnkit.checks import check_positive_int
from rnnkit.data._io import PathLike, iter_lines
from rnnkit.data._vectorize import TextVectorizer


def load_word_vectors(
    path: PathLike,
    vocabulary: Sequence[str],
    *,
    seed: int = 0,
    lowercase_fallback: bool = True,
    limit: int | None = None,
    encoding: str = "utf-8",
    verbose: bool = True,
) -> np.ndarray:
    """Builds an embedding matrix for `vocabulary` from a GloVe or word2vec text file.

    The file is streamed line by line (`word v1 v2 ...`, optionally after a word2vec header
    `count dim`; `.gz`/`.bz2`/`.xz` work) and only vectors of vocabulary words are kept. Row
    `i` holds the vector of `vocabulary[i]`; row 0 (padding) is zeros; words without a vector
    get seeded random rows with the mean and spread of the loaded vectors, so they start at
    the same scale. Words containing spaces (GloVe 840B) are read correctly: the last `dim`
    fields are the vector.

    Args:
        path: the vectors file.
        vocabulary: tokens in id order, e.g. `TextVectorizer.get_vocabulary()`.
        seed: seed of the random rows.
        lowercase_fallback: give a word with no vector of its own the vector of its
            lower-cased form.
        limit: read only the first `limit` vectors (GloVe and word2vec files list frequent
            words first, so this trades rare-word coverage for loading time).
        encoding: the file's text encoding.
        verbose: print the coverage (how many vocabulary words got a pretrained vector).

    Returns:
        `float32` array `[len(vocabulary), dim]`, ready for
        `keras.layers.Embedding(embeddings_initializer=keras.initializers.Constant(matrix))`.

    Example:
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "glove.txt")
    >>> _ = open(path, "w").write("cat 1 2\\ndog 3 4\\n")
    >>> load_word_vectors(path, ["", "[UNK]", "cat"], verbose=False)[[0, 2]].tolist()
    [[0.0, 0.0], [1.0, 2.0]]
    """
    if isinstance(vocabulary, str) or not isinstance(vocabulary, Sequence):
        raise TypeError(f"`vocabulary` must be a list of tokens; received {type(vocabulary)}.")
    check_positive_int(limit, "limit", allow_none=True)
    return _read_vectors(
        path,
        list(vocabulary),
        seed=seed,
        lowercase_fallback=lowercase_fallback,
        limit=limit,
        encoding=encoding,
        verbose=verbose,
    )


def load_word_vectors_for(
    vectorizer: TextVectorizer,
    path: PathLike,
    *,
    max_tokens: int | None = None,
    seed: int = 0,
    encoding: str = "utf-8",
    verbose: bool = True,
) -> np.ndarray:
    """Adds the vectors file's words to an adapted word `vectorizer` and returns their matrix.

    The vocabulary the vectorizer learned from the training data comes first, unchanged; the
    file's other words follow in file order (GloVe and word2vec list frequent words first)
    until the vocabulary holds `max_tokens`. A model built on it keeps the pretrained vector of
    a word it never saw in training instead of mapping that word to `[UNK]`. One pass over the
    file does both.

    Args:
        vectorizer: a word-level `TextVectorizer`, already adapted; its vocabulary is replaced.
        path: the vectors file (as `load_word_vectors`).
        max_tokens: the most tokens in the extended vocabulary (reserved ids included); None:
            every word of the file.
        seed: seed of the random rows (words without a vector).
        encoding: the file's text encoding.
        verbose: print the coverage.

    Returns:
        The embedding matrix of the extended vocabulary (`float32`, `[vocabulary, dim]`).

    Example:
    >>> import tempfile, os
    >>> from rnnkit.data import TextVectorizer
    >>> path = os.path.join(tempfile.mkdtemp(), "glove.txt")
    >>> _ = open(path, "w").write("cat 1 2\\ndog 3 4\\n")
    >>> vectorizer = TextVectorizer()
    >>> vectorizer.adapt(["the cat"])
    >>> load_word_vectors_for(vectorizer, path, verbose=False)[-1].tolist()
    [3.0, 4.0]
    >>> vectorizer.get_vocabulary()[-3:]
    ['cat', 'the', 'dog']
    """
    check_positive_int(max_tokens, "max_tokens", allow_none=True)
    vocabulary = list(vectorizer.get_vocabulary())
    matrix = _read_vectors(
        path,
        vocabulary,
        seed=seed,
        lowercase_fallback=True,
        limit=None,
        encoding=encoding,
        verbose=verbose,
        extend_to=max_tokens if max_tokens is not None else np.inf,
    )
    vectorizer.set_vocabulary(vocabulary)
    return matrix


def _read_vectors(
    path: PathLike,
    vocabulary: list[str],
    *,
    seed: int,
    lowercase_fallback: bool,
    limit: int | None,
    encoding: str,
    verbose: bool,
    extend_to: float = 0,
) -> np.ndarray:
    # The matrix of `vocabulary`; words of the file not in it are appended to it (in place)
    # while it holds fewer than `extend_to` tokens.
    name = os.fspath(path)
    trained = len(vocabulary)
    wanted: dict[str, list[int]] = {}
    for index, word in enumerate(vocabulary):
        wanted.setdefault(word, []).append(index)
    fallback: dict[str, list[int]] = {}
    if lowercase_fallback:
        for index, word in enumerate(vocabulary):
            lower = word.lower()
            if lower != word and lower not in wanted:
                fallback.setdefault(lower, []).append(index)
    rows: dict[int, np.ndarray] = {}
    fallback_rows: dict[int, np.ndarray] = {}
    dim = None
    lines = 0
    # Fast path: look a line up by its first field and split the numbers only for wanted
    # words. Words containing spaces (GloVe 840B) need the slow path, which splits every line.
    spaced = any(" " in word for word in (*wanted, *fallback))
    for number, line in enumerate(iter_lines(name, encoding=encoding), 1):
        if not line.strip():
            continue
        if number == 1 and _is_word2vec_header(line):
            dim = int(line.split()[1])  # the word2vec header: vocabulary size and dimension
            continue
        if limit is not None and lines >= limit:
            break
        lines += 1
        if dim is None:
            dim = len(line.rstrip().split(" ")) - 1
            if dim < 1:
                raise ValueError(f"{name}:{number}: expected `word v1 v2 ...`, found {line!r}.")
        if spaced:
            fields = line.rstrip().split(" ")
            if len(fields) < dim + 1:
                raise _short_line(name, number, dim, len(fields), line)
            word, numbers = " ".join(fields[: len(fields) - dim]), fields[len(fields) - dim :]
        else:
            word, _, rest = line.partition(" ")
            if word not in wanted and word not in fallback and len(vocabulary) >= extend_to:
                continue
            numbers = rest.rstrip().split(" ")
            if len(numbers) != dim:
                raise _short_line(name, number, dim, len(numbers) + 1, line)
        if word and word not in wanted and len(vocabulary) < extend_to:
            wanted[word] = [len(vocabulary)]
            vocabulary.append(word)
        targets = wanted.get(word)
        spare = fallback.get(word)
        if targets is None and spare is None:
            continue
        try:
            vector = np.asarray(numbers, dtype=np.float32)
        except ValueError:
            raise ValueError(
                f"{name}:{number}: the vector of {word!r} has a non-number: {line[:80]!r}."
            ) from None
        for index in targets or ():
            rows[index] = vector
        for index in spare or ():
            fallback_rows[index] = vector
    if dim is None:
        raise ValueError(f"{name} is empty: it has no word vectors.")
    for index, vector in fallback_rows.items():
        rows.setdefault(index, vector)
    if vocabulary and vocabulary[0] == "":
        rows.pop(0, None)  # padding stays a zero row
    matrix = np.empty((len(vocabulary), dim), np.float32)
    found = np.stack(list(rows.values())) if rows else np.zeros((1, dim), np.float32)
    mean, std = float(found.mean()), float(found.std()) or 1.0
    matrix[:] = np.random.default_rng(seed).normal(mean, std, size=matrix.shape)
    for index, vector in rows.items():
        matrix[index] = vector
    if vocabulary and vocabulary[0] == "":
        matrix[0] = 0.0
    if verbose:
        counted = trained - (1 if vocabulary and vocabulary[0] == "" else 0)
        found = sum(index < trained for index in rows)
        added = len(vocabulary) - trained
        print(
            f"load_word_vectors: {dim}-d vectors for {found:,} of {counted:,} vocabulary "
            f"words ({found / max(1, counted):.1%}) from {name} ({lines:,} lines read)"
            + (f"; {added:,} words of the file added to the vocabulary." if added else ".")
        )
    return matrix


def _is_word2vec_header(line: str) -> bool:
    """word2vec text files start with `count dim`; GloVe files with a vector."""
    fields = line.split()
    return len(fields) == 2 and all(f.isdigit() for f in fields)


def _short_line(name: str, number: int, dim: int, found: int, line: str) -> ValueError:
    return ValueError(
        f"{name}:{number}: expected a word and {dim} numbers, found {found} fields: {line[:80]!r}."
    )
