import pytest
import tensorflow as tf

from rnnkit.data import tokenize_in_graph, tokenize_with_offsets

TRICKY_TEXTS = [
    "I saw the Empire State Building",
    "  Ankara'da\u00a0güzel   bir gün!! 🙂👍🏽 e-mail: a_b@c.de\tx\n(y) ‘quoted’",
    "nai\u0308ve cafe\u0301 東京 ١٢٣ zero\u200bwidth\u3000ideographic end.",
    "@user: #tag ##x @@y a#b #_x #\u0301e me@home x@ # @",
    "see http://t.co/a?b=1, xhttps://x.y/#z\u00a0http:// http:/x https://",
    "",
    "   ",
    "a\x00b\x1fc\x1cd\x85e\u2028f\u200b",
]


@pytest.mark.parametrize("text", TRICKY_TEXTS)
def test_python_and_graph_tokenisation_agree(text):
    spans = tokenize_with_offsets(text)
    for token, start, end in spans:
        assert text[start:end] == token and token.strip()
    graph = [t.decode() for t in tokenize_in_graph(tf.constant([text]))[0].numpy() if t]
    assert graph == [t for t, _, _ in spans]


def test_tokenisation_examples():
    # Tweets: @mentions and #hashtags are single tokens, as in WNUT-16.
    assert [t for t, _, _ in tokenize_with_offsets("RT @Nasa: #Launch http://t.co/x!")] == [
        "RT",
        "@Nasa",
        ":",
        "#Launch",
        "http://t.co/x!",
    ]
    assert [t for t, _, _ in tokenize_with_offsets("Hi, Ann's cat.")] == [
        "Hi",
        ",",
        "Ann",
        "'",
        "s",
        "cat",
        ".",
    ]


def test_graph_tokenizer_pads_with_empty_strings_and_keeps_empty_batches():
    out = tokenize_in_graph(tf.constant(["a b", "", "c"])).numpy().tolist()
    assert out == [[b"a", b"b"], [b"", b""], [b"c", b""]]
    assert tokenize_in_graph(tf.constant([], tf.string)).shape == (0, 0)
    assert tokenize_in_graph(tf.constant(["", "  "])).shape == (2, 0)
