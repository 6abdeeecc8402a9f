import random

import numpy as np
import pytest
import tensorflow as tf

from rnnkit import metrics as E
from rnnkit.metrics import tag_ids_to_strings


def all_tags(scheme, types=("PER", "LOC")):
    prefixes = {"IO": "I", "IOB1": "BI", "BIO": "BI", "BIOES": "BIES"}[scheme]
    return ["O"] + [f"{p}-{t}" for t in types for p in prefixes]


@pytest.mark.parametrize("source", E.SCHEMES)
@pytest.mark.parametrize("target", E.SCHEMES)
def test_graph_scheme_conversion_equals_python(source, target):
    rng = random.Random(hash((source, target)) % 1000)
    classes = all_tags(source)
    lengths = [rng.randint(0, 9) for _ in range(60)]
    width = max(lengths)
    ids = np.zeros((len(lengths), width), np.int32)
    for row, n in enumerate(lengths):
        ids[row, :n] = [rng.randrange(len(classes)) for _ in range(n)]
    mask = np.arange(width)[None, :] < np.array(lengths)[:, None]
    got = tag_ids_to_strings(tf.constant(ids), tf.constant(mask), classes, source, target).numpy()
    tags = [[classes[i] for i in ids[row, :n]] for row, n in enumerate(lengths)]
    expected = E.convert_scheme(tags, source, target)
    assert [[t.decode() for t in got[row, :n]] for row, n in enumerate(lengths)] == expected
    assert all(t == b"" for row, n in enumerate(lengths) for t in got[row, n:])


def test_plain_labels_are_looked_up():
    ids, mask = tf.constant([[1, 0, 2]]), tf.constant([[True, True, False]])
    out = tag_ids_to_strings(ids, mask, ["NOUN", "VERB", "ADJ"], None, None)
    assert out.numpy().tolist() == [[b"VERB", b"NOUN", b""]]
