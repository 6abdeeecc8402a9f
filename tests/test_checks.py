"""Validators of rnnkit.checks that the facades share (labels, tagged sentences)."""

import numpy as np
import pandas as pd
import pytest

from rnnkit import checks


def test_as_labels_gives_plain_values_and_refuses_nan():
    assert checks.as_labels(np.array([1, 0]), "labels") == [1, 0]
    assert type(checks.as_labels(np.array([1, 0]), "labels")[0]) is int
    assert checks.as_labels(pd.Series(["a", "b"]), "labels") == ["a", "b"]
    for bad in ([0.0, np.nan], np.array([1.0, np.nan]), [np.float32("nan")], pd.Series([1, None])):
        with pytest.raises(ValueError, match=r"`labels\[1\]` is NaN|`labels\[0\]` is NaN"):
            checks.as_labels(bad, "labels")
    with pytest.raises(TypeError, match="single string"):
        checks.as_labels("pos", "labels")
    with pytest.raises(TypeError, match=r"`labels\[0\]` must be hashable"):
        checks.as_labels([["a"]], "labels")
    with pytest.raises(TypeError, match="got int"):
        checks.as_labels(3, "labels")


def test_as_tagged_sentences_names_the_sentence_and_token():
    tokens, tags = checks.as_tagged_sentences(np.array([["a", "b"]]), [("X", "Y")])
    assert (tokens, tags) == ([["a", "b"]], [["X", "Y"]])
    with pytest.raises(ValueError, match=r"Sentence 0: `t\[0\]` has 2 tokens but `g\[0\]` has 1"):
        checks.as_tagged_sentences([["a", "b"]], [["X"]], "t", "g")
    with pytest.raises(ValueError, match="same number of sentences"):
        checks.as_tagged_sentences([["a"]], [], "t", "g")
    with pytest.raises(ValueError, match="is empty"):
        checks.as_tagged_sentences([], [], "t", "g")
    with pytest.raises(ValueError, match=r"`token_lists\[0\]\[0\]` is '\\t'"):
        checks.as_tagged_sentences([["\t"]], None)
    assert checks.as_tagged_sentences([[]], None) == ([[]], None)
