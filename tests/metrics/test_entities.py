"""Chunk schemes, entity spans and entity scores, checked against `seqeval` on random tags."""

import random
import warnings

import pytest
from seqeval.metrics import accuracy_score, f1_score, precision_score, recall_score
from seqeval.metrics.sequence_labeling import get_entities as seqeval_get_entities
from seqeval.scheme import IOB2, IOBES

from rnnkit import metrics as E

TYPES = ["PER", "LOC", "ORG"]


def random_tags(rng, prefixes, n_sentences=40, max_len=9):
    out = []
    for _ in range(n_sentences):
        tags = []
        for _ in range(rng.randint(0, max_len)):
            prefix = rng.choice(prefixes)
            tags.append("O" if prefix == "O" else f"{prefix}-{rng.choice(TYPES)}")
        out.append(tags)
    return out


def random_entities(rng, length):
    """Non-overlapping spans, adjacent same-type entities included."""
    spans, i = [], 0
    while i < length:
        if rng.random() < 0.4:
            i += 1
            continue
        end = min(length, i + rng.randint(1, 3))
        spans.append((rng.choice(TYPES[:2]), i, end))
        i = end
    return spans


def seqeval_scores(y_true, y_pred, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return (
            precision_score(y_true, y_pred, **kwargs),
            recall_score(y_true, y_pred, **kwargs),
            f1_score(y_true, y_pred, **kwargs),
        )


@pytest.mark.parametrize("prefixes", ["BIO", "BIOES", "IO"])
@pytest.mark.parametrize("seed", range(5))
def test_default_mode_equals_seqeval_on_random_tags(prefixes, seed):
    rng = random.Random(seed)
    y_true = random_tags(rng, prefixes)
    y_pred = [
        [t if rng.random() < 0.6 else rng.choice(["O", "B-PER", "I-PER", "I-LOC"]) for t in ts]
        for ts in y_true
    ]
    if prefixes == "BIOES":
        y_pred = [[t.replace("I-", rng.choice("SE") + "-", 1) for t in ts] for ts in y_pred]
    ours = E.entity_scores(y_true, y_pred)
    expected = seqeval_scores(y_true, y_pred)
    assert (ours["precision"], ours["recall"], ours["f1"]) == pytest.approx(expected, abs=1e-12)
    assert 0 < ours["support"]  # the random data really holds entities
    for tags in y_true + y_pred:
        ours_spans = [(t, s, e - 1) for t, s, e in E.get_entities(tags)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert ours_spans == seqeval_get_entities(tags)


@pytest.mark.parametrize(
    ("scheme", "seqeval_scheme", "prefixes"), [("BIO", IOB2, "BIO"), ("BIOES", IOBES, "BIOES")]
)
@pytest.mark.parametrize("seed", range(5))
def test_strict_mode_equals_seqeval_on_random_tags(scheme, seqeval_scheme, prefixes, seed):
    rng = random.Random(100 + seed)
    y_true = random_tags(rng, prefixes + "OO")
    y_pred = [
        [t if rng.random() < 0.7 else rng.choice(prefixes) + "-PER" for t in ts] for ts in y_true
    ]
    y_pred = [[t.replace("O-PER", "O") for t in ts] for ts in y_pred]
    ours = E.entity_scores(y_true, y_pred, mode="strict", scheme=scheme)
    expected = seqeval_scores(y_true, y_pred, mode="strict", scheme=seqeval_scheme)
    assert (ours["precision"], ours["recall"], ours["f1"]) == pytest.approx(expected, abs=1e-12)
    # Strict and default really differ on these malformed sequences, so both paths are tested.
    default = E.entity_scores(y_true, y_pred)
    assert (default["support"], default["predicted"]) != (ours["support"], ours["predicted"])


def test_strict_examples():
    assert E.get_entities(["I-PER", "I-PER", "B-LOC"], mode="strict", scheme="BIO") == [
        ("LOC", 2, 3)
    ]
    tags = ["B-PER", "I-PER", "O", "B-LOC", "E-LOC", "S-ORG", "B-PER", "E-LOC"]
    assert E.get_entities(tags, mode="strict", scheme="IOBES") == [("LOC", 3, 5), ("ORG", 5, 6)]
    with pytest.raises(ValueError, match="not a tag of the BIO scheme"):
        E.get_entities(["S-PER"], mode="strict", scheme="BIO")
    with pytest.raises(ValueError, match="mode='strict'"):
        E.get_entities(["I-PER"], mode="strict", scheme="IO")


def test_accuracy_equals_seqeval():
    rng = random.Random(7)
    y_true = random_tags(rng, "BIO")
    y_pred = [[rng.choice(["O", t]) for t in ts] for ts in y_true]
    assert E.token_accuracy(y_true, y_pred) == pytest.approx(accuracy_score(y_true, y_pred))


def test_per_type_counts():
    scores = E.entity_scores(
        [["B-PER", "I-PER", "O", "B-LOC"], ["B-LOC"]], [["B-PER", "I-PER", "O", "O"], ["B-PER"]]
    )
    assert scores["per_type"]["PER"] == {
        "precision": 0.5,
        "recall": 1.0,
        "f1": pytest.approx(2 / 3),
        "support": 1,
        "predicted": 2,
        "correct": 1,
    }
    assert scores["per_type"]["LOC"]["support"] == 2
    assert scores["per_type"]["LOC"]["recall"] == 0.0
    assert (scores["support"], scores["predicted"], scores["correct"]) == (3, 2, 1)


def test_detect_scheme():
    assert E.detect_scheme([["B-PER", "I-PER", "O"], ["B-LOC"]]) == "BIO"
    assert E.detect_scheme([["I-PER", "I-PER", "B-PER", "O"]]) == "IOB1"
    assert E.detect_scheme([["I-PER", "O", "I-LOC"]]) == "IO"
    assert E.detect_scheme([["S-PER", "O"], ["B-LOC", "E-LOC"]]) == "BIOES"
    assert E.detect_scheme([["O", "O"]]) == "BIO"
    assert E.detect_scheme([["NOUN", "VERB", "X"], ["PUNCT"]]) is None
    with pytest.raises(ValueError, match="Unknown tag scheme.*mix"):
        E.detect_scheme([["B-PER", "NOUN"]])


def test_normalize_and_check_scheme():
    assert E.normalize_scheme("iob2") == "BIO"
    assert E.normalize_scheme("IOBES") == "BIOES"
    assert E.normalize_scheme("none") is None
    with pytest.raises(ValueError, match=r"Unknown tag scheme.*`tag_scheme`.*'XYZ'"):
        E.normalize_scheme("XYZ", "tag_scheme")
    with pytest.raises(ValueError, match=r"`tags\[1\]\[0\]` is 'E-PER'.*BIO scheme"):
        E.check_scheme([["B-PER"], ["E-PER"]], "BIO", "tags")
    E.check_scheme([["B-PER", "I-PER"]], "IOB1", "tags")


@pytest.mark.parametrize("seed", range(5))
def test_conversion_round_trips(seed):
    rng = random.Random(seed)
    sentences = [random_entities(rng, n) for n in range(12)]
    canonical = {
        scheme: [E.encode_entities(n, spans, scheme) for n, spans in enumerate(sentences)]
        for scheme in ("IOB1", "BIO", "BIOES")
    }
    for source in canonical:
        assert E.detect_scheme(canonical[source]) in (source, "BIO", "IO")
        for target in canonical:
            converted = E.convert_scheme(canonical[source], source, target)
            assert converted == canonical[target], (source, target)
        # Every scheme reads back the very entities that were written.
        assert [E.get_entities(tags) for tags in canonical[source]] == sentences
    # IO loses only the boundary between adjacent entities of the same type.
    io = E.convert_scheme(canonical["BIO"], "BIO", "IO")
    assert all(t == "O" or t.startswith("I-") for tags in io for t in tags)
    assert E.convert_scheme(E.convert_scheme(io, "IO", "BIOES"), "BIOES", "IO") == io


def test_conversion_examples_and_repair():
    assert E.convert_scheme([["B-LOC", "I-LOC", "O", "B-PER"]], "BIO", "BIOES") == [
        ["B-LOC", "E-LOC", "O", "S-PER"]
    ]
    assert E.convert_scheme([["I-PER", "B-PER", "O", "I-LOC"]], "IOB1", "BIO") == [
        ["B-PER", "B-PER", "O", "B-LOC"]
    ]
    # A malformed BIO sequence is read as conlleval reads it.
    assert E.convert_scheme([["O", "I-PER", "I-PER"]], "BIO", "BIO") == [["O", "I-PER", "I-PER"]]
    assert E.convert_scheme([["O", "I-PER", "I-PER"]], "BIO", "BIOES") == [["O", "B-PER", "E-PER"]]
    assert E.convert_scheme([["NOUN"]], None, None) == [["NOUN"]]
    with pytest.raises(ValueError, match="both be chunk schemes"):
        E.convert_scheme([["NOUN"]], None, "BIO")


def test_label_scores_macro():
    scores = E.label_scores([["N", "V", "N"]], [["N", "N", "N"]])
    assert scores["per_type"]["N"]["precision"] == pytest.approx(2 / 3)
    assert scores["per_type"]["V"]["recall"] == 0.0
    assert scores["f1"] == pytest.approx((0.8 + 0.0) / 2)


def test_misaligned_inputs_name_the_sentence():
    with pytest.raises(
        ValueError, match=r"Sentence 1: `y_true\[1\]` has 2 tags but `y_pred\[1\]` has 1"
    ):
        E.entity_scores([["O"], ["O", "O"]], [["O"], ["O"]])
    with pytest.raises(ValueError, match="same number of sentences"):
        E.token_accuracy([["O"]], [])
