"""detokenize: word tokens back into text, in TF ops."""

import tensorflow as tf

from rnnkit.data import detokenize


def test_detokenize_rejoins_words_and_punctuation():
    cases = {
        "i don ' t know , tom .": "i don't know, tom.",
        "¿ dónde está la biblioteca ?": "¿dónde está la biblioteca?",
        "it ' s three o ' clock .": "it's three o'clock.",
        "the boys ' room is twenty - one meters long": "the boys' room is twenty-one meters long",
        'he said " hello " .': 'he said "hello".',
        "it costs 3 . 50 dollars": "it costs 3.50 dollars",
        "": "",
    }
    got = detokenize(tf.constant(list(cases))).numpy().tolist()
    assert [g.decode("utf-8") for g in got] == list(cases.values())
