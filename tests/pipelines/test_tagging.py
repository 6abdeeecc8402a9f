"""SequenceTagger: contracts, learning, schemes, metrics vs seqeval, save/load and export."""

import json
import subprocess
import sys
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

from pipelines import SequenceTagger
from rnnkit import metrics as E
from rnnkit.data import tokenize_with_offsets
from tests.helpers import run_without_rnnkit

# A trivially separable task: names are PER, cities LOC ("New York" spans two tokens).
TRAIN_TOKENS = [
    "Ann saw Bob in Rome .",
    "Eve met Ann",
    "Bob left Oslo !",
    "Eve saw Oslo , Rome",
    "Ann met Eve in New York , Bob left .",
    "Bob saw New York",
    "Rome and Oslo",
    "Eve and Bob left",
]
ENTITY = {"Ann": "PER", "Bob": "PER", "Eve": "PER", "Rome": "LOC", "Oslo": "LOC"}


def bio(sentence):
    tokens, tags = sentence.split(), []
    for token in tokens:
        if token == "New":
            tags.append("B-LOC")
        elif token == "York":
            tags.append("I-LOC")
        elif token in ENTITY:
            tags.append("B-" + ENTITY[token])
        else:
            tags.append("O")
    return tokens, tags


TRAIN = [bio(s) for s in TRAIN_TOKENS]
TEST = [bio(s) for s in ["Bob met Eve in Oslo", "Ann saw New York", "Eve left Rome", "Oslo"]]
TINY = {
    "units": 4,
    "embedding_dim": 4,
    "char_embedding_dim": 4,
    "char_units": 4,
    "dropout": 0.0,
    "word_dropout": 0.0,
    "rare_word_dropout": 0.0,
    "char_features": "cnn",
    "validation_split": 0.0,
    "batch_size": 4,
    "learning_rate": 0.05,
    "epochs": 40,
    "seed": 0,
}


def split(pairs):
    return [t for t, _ in pairs], [g for _, g in pairs]


def as_scheme(pairs, scheme):
    return [(tokens, E.convert_scheme([tags], "BIO", scheme)[0]) for tokens, tags in pairs]


@pytest.fixture(scope="module", params=[True, False], ids=["crf", "softmax"])
def toy(request):
    # The CRF tagger gets BIO tags, learns BIOES (the default) and answers in BIO; the
    # softmax one gets IO tags, learns BIO and answers in IO.
    crf = request.param
    scheme = "BIO" if crf else "IO"
    tagger = SequenceTagger(crf=crf, train_scheme="BIOES" if crf else "BIO", **TINY)
    tagger.fit(*split(as_scheme(TRAIN, scheme)))
    tagger.test_set = as_scheme(TEST, scheme)
    return tagger


# --------------------------------------------------------------------------- learning + contracts


def test_learns_toy_task(toy):
    tokens, tags = split(toy.test_set)
    assert toy.predict(tokens) == tags
    scores = toy.evaluate(tokens, tags)
    assert scores["accuracy"] == 1.0 and scores["f1"] == 1.0
    assert toy.history_["loss"][-1] < toy.history_["loss"][0] / 5
    assert (toy.scheme_, toy.model_scheme_) == (("BIO", "BIOES") if toy.crf else ("IO", "BIO"))


def test_predict_contract(toy):
    out = toy.predict([["Ann", "saw", "Zed"], [], ("Oslo",)])
    assert isinstance(out, list) and all(isinstance(s, list) for s in out)
    assert [len(s) for s in out] == [3, 0, 1]
    allowed = {"O", "B-PER", "B-LOC", "I-LOC"} if toy.crf else {"O", "I-PER", "I-LOC"}
    assert all(isinstance(t, str) and t in allowed for s in out for t in s)
    # Batching and order do not change answers.
    tokens = split(TEST + TRAIN)[0]
    assert toy.predict(tokens, batch_size=3) == toy.predict(tokens[::-1])[::-1]


def test_predict_entities_char_offsets(toy):
    # The tokens of two TEST sentences (tagged right, see above), spaced oddly.
    text = "  Ann saw\tNew   York"
    entities = toy.predict_entities(text)
    assert entities == [
        {"text": "Ann", "type": "PER", "start": 2, "end": 5},
        {"text": "New   York", "type": "LOC", "start": 10, "end": 20},
    ]
    many = toy.predict_entities([text, "", "Bob met Eve in Oslo"])
    assert many[0] == entities and many[1] == []
    assert [(e["text"], e["start"]) for e in many[2]] == [("Bob", 0), ("Eve", 8), ("Oslo", 15)]
    text = "Oslo, Rome; Zed: Ann!"
    for entity in toy.predict_entities(text):
        assert set(entity) == {"text", "type", "start", "end"}
        assert text[entity["start"] : entity["end"]] == entity["text"]


def test_evaluate_equals_seqeval(toy):
    from seqeval.metrics import accuracy_score, f1_score, precision_score, recall_score
    from seqeval.scheme import IOB2

    tokens, tags = split(toy.test_set)
    # References wrong on purpose at the last token, so the scores are not all 1.
    prefix = "B" if toy.crf else "I"
    tags = [t[:-1] + [f"{prefix}-PER"] for t in tags]
    predicted = toy.predict(tokens)
    modes = [("default", {})] + ([("strict", {"mode": "strict", "scheme": IOB2})] * toy.crf)
    for mode, kwargs in modes:
        scores = toy.evaluate(tokens, tags, mode=mode)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = (
                precision_score(tags, predicted, **kwargs),
                recall_score(tags, predicted, **kwargs),
                f1_score(tags, predicted, **kwargs),
            )
        assert (scores["precision"], scores["recall"], scores["f1"]) == pytest.approx(expected)
        assert 0 < scores["f1"] < 1
    assert scores["accuracy"] == pytest.approx(accuracy_score(tags, predicted))
    assert set(scores) == {"accuracy", "precision", "recall", "f1", "per_type"}
    if not toy.crf:  # IO tags have no well-formed entity boundaries to be strict about
        with pytest.raises(ValueError, match="mode='strict'"):
            toy.evaluate(tokens, tags, mode="strict")


def test_save_load_identical(toy, tmp_path):
    path = tmp_path / "tagger.keras"
    toy.save(path)
    loaded = SequenceTagger.load(path)
    tokens = split(TEST)[0] + [["Zed", "met", "Quinn", "in", "Paris"]]
    assert loaded.predict(tokens) == toy.predict(tokens)
    assert loaded.get_params() == toy.get_params()
    assert (loaded.classes_, loaded.scheme_, loaded.model_scheme_) == (
        toy.classes_,
        toy.scheme_,
        toy.model_scheme_,
    )
    ids = toy.model(tf.constant([["Ann", "saw", "Rome"]]))
    plain = keras.saving.load_model(path)
    np.testing.assert_array_equal(plain(tf.constant([["Ann", "saw", "Rome"]])), ids)


def test_export_fresh_process_equals_predict(toy, tmp_path):
    path = str(tmp_path / "tagger_savedmodel")
    toy.export(path)
    texts = ["Ann saw New York.", "", "Zed met  Eve in Oslo!", "Rome"]
    token_lists = split(TEST)[0] + [["Zed", "and", "Bob"]]
    code = f"""
        import json
        import tensorflow as tf
        texts = {json.dumps(texts)}
        token_lists = {json.dumps(token_lists)}
        loaded = tf.saved_model.load({path!r})
        def rows(out):
            n = out["lengths"].numpy().tolist()
            return [
                ([t.decode() for t in tok[:k]], [t.decode() for t in tag[:k]])
                for tok, tag, k in zip(out["tokens"].numpy(), out["tags"].numpy(), n)
            ]
        raw = rows(loaded.signatures["serving_default"](text=tf.constant(texts)))
        width = max(map(len, token_lists))
        padded = tf.constant([t + [""] * (width - len(t)) for t in token_lists])
        dense = rows(loaded.signatures["tag_tokens"](tokens=padded))
        flat = tf.constant([t for tokens in token_lists for t in tokens])
        lengths = tf.constant([len(tokens) for tokens in token_lists], tf.int64)
        ragged = rows(loaded.signatures["tag_ragged_tokens"](values=flat, row_lengths=lengths))
        result = {{"raw": raw, "dense": dense, "ragged": ragged}}
    """
    result = run_without_rnnkit(code)
    expected_tokens = [[t for t, _, _ in tokenize_with_offsets(text)] for text in texts]
    expected_raw = [
        list(pair) for pair in zip(expected_tokens, toy.predict(expected_tokens), strict=True)
    ]
    assert result["raw"] == expected_raw
    expected = [list(pair) for pair in zip(token_lists, toy.predict(token_lists), strict=True)]
    assert result["dense"] == expected
    assert result["ragged"] == expected


def test_export_answers_empty_inputs_and_refuses_invalid_utf8(toy, tmp_path):
    loaded = tf.saved_model.load(toy.export(tmp_path / "tagger_savedmodel"))
    text = loaded.signatures["serving_default"]
    dense = loaded.signatures["tag_tokens"]
    ragged = loaded.signatures["tag_ragged_tokens"]
    outputs = [
        text(text=tf.constant([""])),
        text(text=tf.constant([" \t\u3000 "])),
        text(text=tf.constant(["", "   "])),
        text(text=tf.constant([], tf.string)),
        dense(tokens=tf.zeros([2, 0], tf.string)),
        dense(tokens=tf.zeros([0, 0], tf.string)),
        ragged(values=tf.constant([], tf.string), row_lengths=tf.constant([0, 0], tf.int64)),
        ragged(values=tf.constant([], tf.string), row_lengths=tf.constant([], tf.int64)),
    ]
    for out in outputs:  # what `predict` answers for empty sentences: no tags
        assert not out["lengths"].numpy().any()
        assert all(t == b"" for t in out["tags"].numpy().ravel())
        assert out["tags"].shape[0] == out["lengths"].shape[0]
    assert [out["lengths"].shape[0] for out in outputs] == [1, 1, 2, 0, 2, 0, 2, 0]
    assert toy.predict([[], []]) == [[], []]
    # Bytes that are not UTF-8 are refused as by the Python API, naming the input.
    with pytest.raises(ValueError, match=r"`token_lists\[0\]\[1\]` is not valid UTF-8"):
        toy.predict([[b"Ann", b"\xff"]])
    calls = [
        ("text", lambda: text(text=tf.constant([b"Ann", b"Bob \xff"]))),
        ("tokens", lambda: dense(tokens=tf.constant([[b"Ann", b"\xff"]]))),
        (
            "values",
            lambda: ragged(values=tf.constant([b"\xc3"]), row_lengths=tf.constant([1], tf.int64)),
        ),
    ]
    for name, call in calls:
        with pytest.raises(tf.errors.InvalidArgumentError, match=f"`{name}\\[i\\]` is not valid"):
            call()


def test_files_saved_with_the_old_layer_names_still_load(tmp_path):
    # Before the layers moved into rnnkit.layers, pipelines/tagging.py registered them as
    # rnnkit>TaggerCharEncoder, ...: a file saved then names those classes (and Keras finds
    # each layer's weights by its class name). Such a file is made here by giving the layers
    # their old classes before saving; it must load in a process that imports only rnnkit.
    from rnnkit.layers import _character_word_encoder, _entity_bias, _masked_argmax, _word_dropout

    old = {
        "CharacterWordEncoder": _character_word_encoder.TaggerCharEncoder,
        "WordDropout": _word_dropout.TaggerWordDropout,
        "EntityBias": _entity_bias.TaggerEntityBias,
        "MaskedArgmax": _masked_argmax.TaggerArgmax,
    }
    tokens, tags = split(TRAIN)
    for crf in (True, False):
        tagger = SequenceTagger(
            **{**TINY, "epochs": 2, "word_dropout": 0.1, "char_features": "lstm", "crf": crf}
        ).fit(tokens, tags)
        renamed = set()
        for layer in tagger.model._flatten_layers():
            if type(layer).__name__ in old:
                renamed.add(type(layer).__name__)
                layer.__class__ = old[type(layer).__name__]
        assert renamed == {"CharacterWordEncoder", "WordDropout", "EntityBias"} | (
            set() if crf else {"MaskedArgmax"}
        )
        path = tmp_path / f"old_{crf}.keras"
        tagger.save(path)
        expected = tagger.predict(tokens)
        ids = tagger.model(tf.constant([["Ann", "saw", "Rome"]])).numpy().tolist()
        code = (
            "import json, sys, keras, tensorflow as tf, rnnkit\n"
            f"model = keras.saving.load_model({str(path)!r})\n"
            "assert 'pipelines' not in sys.modules, 'pipelines was imported'\n"
            "names = sorted(type(layer).__name__ for layer in model._flatten_layers())\n"
            "ids = model(tf.constant([['Ann', 'saw', 'Rome']])).numpy().tolist()\n"
            "print('__R__' + json.dumps({'ids': ids, 'names': names}))\n"
        )
        proc = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=300
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        result = json.loads(proc.stdout.split("__R__")[1])
        assert result["ids"] == ids
        assert "TaggerCharEncoder" in result["names"] and "TaggerEntityBias" in result["names"]
        assert SequenceTagger.load(path).predict(tokens) == expected


# --------------------------------------------------------------------------- plain labels + options


@pytest.fixture(scope="module")
def pos_tagger(tmp_path_factory):
    vectors = tmp_path_factory.mktemp("vectors") / "glove.txt"
    vectors.write_text("ann 1 0 0 0 0 1\nsaw 0 1 0 0 1 0\nrome 0 0 1 1 0 0\n")
    tokens = split(TRAIN)[0]
    tags = [["NOUN" if t[0].isupper() else "VERB" for t in s] for s in tokens]
    tagger = SequenceTagger(
        **{
            **TINY,
            "epochs": 30,
            "cell": "gru",
            "num_layers": 2,
            "char_features": "lstm",
            "pretrained_embeddings": str(vectors),
        }
    )
    return tagger.fit(tokens, tags), tokens, tags


def test_plain_labels_gru_char_lstm_pretrained(pos_tagger):
    tagger, tokens, tags = pos_tagger
    assert tagger.scheme_ is None and tagger.model_scheme_ is None
    assert tagger.classes_ == ["NOUN", "VERB"]
    scores = tagger.evaluate(tokens, tags)
    assert scores["accuracy"] == 1.0
    assert set(scores["per_type"]) == {"NOUN", "VERB"}
    assert tagger.predict([["Oslo", "saw", "Rome", "and", "Ann"]]) == [
        ["NOUN", "VERB", "NOUN", "VERB", "NOUN"]
    ]
    assert tagger.model.get_layer("word_embedding").output_dim == 6
    with pytest.raises(ValueError, match="plain labels"):
        tagger.predict_entities("Ann saw Rome")


def test_pretrained_vectors_initialise_the_embedding(tmp_path):
    from rnnkit.data import TextVectorizer, load_word_vectors_for

    path = tmp_path / "vectors.txt"
    path.write_text("ann 1 2 3\nrome 4 5 6\n")
    tagger = SequenceTagger(pretrained_embeddings=str(path), char_features=None, units=4)
    vec = TextVectorizer(level="word", standardize="lower")
    vec.adapt([["Ann", "saw", "Rome"]])
    model = tagger._build(vec, None, 3, matrix=load_word_vectors_for(vec, path, verbose=False))
    weights = model.get_layer("word_embedding").get_weights()[0]
    vocabulary = vec.get_vocabulary()
    np.testing.assert_array_equal(weights[vocabulary.index("ann")], [1, 2, 3])
    np.testing.assert_array_equal(weights[vocabulary.index("rome")], [4, 5, 6])


def test_pretrained_vocabulary_keeps_vectors_of_words_unseen_in_training(tmp_path):
    path = tmp_path / "vectors.txt"
    lines = ["ann 1 1", "oslo 2 2", "paris 3 3", "bob 4 4", "lima 5 5", "kyiv 6 6"]
    path.write_text("\n".join(lines) + "\n")
    tokens, tags = split(TRAIN)
    # Room for two words beyond the reserved and training ones: the first two new words of the file.
    training_words = len({t.lower() for s in tokens for t in s})
    tagger = SequenceTagger(
        **{**TINY, "epochs": 1, "pretrained_embeddings": str(path)},
        max_tokens=4 + training_words + 2,
    )
    tagger.fit(tokens, tags)
    vocabulary = tagger.model.get_layer("word_vectorizer").get_vocabulary()
    assert vocabulary[-2:] == ["paris", "lima"]  # in file order, after the training words
    weights = tagger.model.get_layer("word_embedding").get_weights()[0]
    np.testing.assert_array_equal(weights[vocabulary.index("paris")], [3, 3])
    np.testing.assert_array_equal(weights[vocabulary.index("lima")], [5, 5])
    assert "kyiv" not in vocabulary


def test_rare_words_start_where_counts_reach_one():
    from pipelines.tagging import _rare_from_id
    from rnnkit.data import TextVectorizer

    tokens = [["a", "a", "b", "b", "B", "c"], ["d", "a"]]
    vec = TextVectorizer(level="word", standardize="lower")
    vec.adapt(tokens)
    rare = _rare_from_id(vec, tokens)
    assert vec.get_vocabulary()[rare:] == ["c", "d"]
    assert _rare_from_id(vec, [["a", "a"], ["b", "b", "c", "c", "d", "d"]]) is None


def test_entity_bias_auto_takes_the_best_validation_f1(tmp_path):
    # Few epochs: the tagger is unsure, so the bias changes its answers.
    tokens, tags = split(TRAIN)
    val_tokens, val_tags = split(TEST)
    tagger = SequenceTagger(**{**TINY, "epochs": 6, "patience": 50, "entity_bias": "auto"})
    tagger.fit(tokens, tags, validation_data=(val_tokens, val_tags))
    chosen = tagger.entity_bias_
    assert chosen in SequenceTagger.ENTITY_BIAS_GRID
    f1 = {}
    for value in SequenceTagger.ENTITY_BIAS_GRID:
        tagger._set_entity_bias(value)
        f1[value] = tagger.evaluate(val_tokens, val_tags)["f1"]
    best = max(f1.values())
    assert f1[chosen] == best
    assert abs(chosen) == min(abs(v) for v in f1 if f1[v] == best)
    assert len(set(f1.values())) > 1, "the bias should matter for an unsure tagger"
    # Tuned again on other sentences: the best value there, ties nearest 0.
    assert tagger.tune_entity_bias(tokens, tags) == tagger.entity_bias_
    f1_train = {}
    for value in SequenceTagger.ENTITY_BIAS_GRID:
        tagger._set_entity_bias(value)
        f1_train[value] = tagger.evaluate(tokens, tags)["f1"]
    tuned = tagger.tune_entity_bias(tokens, tags)
    assert f1_train[tuned] == max(f1_train.values())
    with pytest.raises(ValueError, match="one tag per token"):
        tagger.tune_entity_bias(tokens[:1], [tags[0][:-1]])
    # A fixed bias is what predict, save/load (and so export, the same model) use.
    tagger._set_entity_bias(0.75)
    path = tmp_path / "tagger.keras"
    tagger.save(path)
    loaded = SequenceTagger.load(path)
    assert loaded.entity_bias_ == 0.75
    assert loaded.predict(val_tokens) == tagger.predict(val_tokens)
    for bias, any_entity in ((-50.0, False), (50.0, True)):
        fixed = SequenceTagger(**{**TINY, "epochs": 1, "entity_bias": bias}).fit(tokens, tags)
        assert fixed.entity_bias_ == bias
        predicted = [t for s in fixed.predict(val_tokens) for t in s]
        assert all(t != "O" for t in predicted) if any_entity else set(predicted) == {"O"}


def test_entity_bias_is_zero_for_plain_labels_and_checked():
    tokens = [["a", "b"], ["b", "a"]]
    tagger = SequenceTagger(**{**TINY, "epochs": 1, "entity_bias": 3.0})
    assert tagger.fit(tokens, [["X", "Y"], ["Y", "X"]]).entity_bias_ == 0.0
    with pytest.raises(ValueError, match="plain labels"):
        tagger.tune_entity_bias(tokens, [["X", "Y"], ["Y", "X"]])
    for bad in ("high", float("nan"), True):
        with pytest.raises(ValueError, match=r"`entity_bias` must be \"auto\", None or a finite"):
            SequenceTagger(entity_bias=bad).fit(*split(TRAIN))


# --------------------------------------------------------------------------- bad inputs


def test_bad_inputs_give_clear_errors(toy):
    tokens, tags = split(TRAIN)
    bad = [list(t) for t in tags]
    bad[3] = bad[3][:-1]
    with pytest.raises(
        ValueError,
        match=r"Sentence 3: `token_lists\[3\]` has 5 tokens but `tag_lists\[3\]` has 4 tags",
    ):
        SequenceTagger(**TINY).fit(tokens, bad)
    with pytest.raises(ValueError, match=r"same number of sentences"):
        SequenceTagger(**TINY).fit(tokens, tags[:-1])
    with pytest.raises(ValueError, match=r"Unknown tag scheme.*`tag_scheme`.*'BILUO'"):
        SequenceTagger(**TINY, tag_scheme="BILUO").fit(tokens, tags)
    with pytest.raises(ValueError, match=r"`tag_lists\[0\]\[0\]` is 'B-PER'.*IO scheme"):
        SequenceTagger(**TINY, tag_scheme="IO").fit(tokens, tags)
    with pytest.raises(ValueError, match=r"Unknown tag scheme.*mix"):
        SequenceTagger(**TINY).fit([["a", "b"]], [["B-PER", "NOUN"]])
    with pytest.raises(TypeError, match=r"`token_lists\[0\]` must be a list of tokens, got a str"):
        toy.predict(["Ann saw Bob"])
    with pytest.raises(TypeError, match=r"`token_lists` must be a list of token lists"):
        toy.predict("Ann saw Bob")
    with pytest.raises(ValueError, match=r"`token_lists\[0\]\[1\]` is ' '"):
        toy.predict([["Ann", " "]])
    with pytest.raises(ValueError, match=r"`mode` must be one of"):
        toy.evaluate(tokens, tags, mode="lenient")
    with pytest.raises(ValueError, match=r"`tag_lists\[0\]\[0\]` is 'S-PER'"):
        toy.evaluate([["Ann"]], [["S-PER"]])
    with pytest.raises(ValueError, match=r"`char_features` must be one of"):
        SequenceTagger(char_features="rnn").fit(tokens, tags)
    with pytest.raises(ValueError, match=r"`units` must be a positive integer"):
        SequenceTagger(units=0).fit(tokens, tags)


# --------------------------------------------------------------------------- real corpora


def _subset(split_data, n):
    tokens, tags = split_data
    return tokens[:n], tags[:n]


@pytest.mark.data
def test_wnut16_subset_one_epoch():
    from rnnkit import datasets

    try:
        data = datasets.wnut16(seed=0)
    except ModuleNotFoundError as err:
        pytest.skip(f"corpus package missing: {err}")
    tagger = SequenceTagger(units=16, char_features="cnn", epochs=1, seed=0, validation_split=0.0)
    tagger.fit(*_subset(data["train"], 200))
    scores = tagger.evaluate(*_subset(data["test"], 50))
    assert tagger.scheme_ == "BIO" and 0.0 <= scores["f1"] <= 1.0
    assert scores["accuracy"] > 0.5  # mostly "O"
    assert isinstance(tagger.predict_entities("I love New York"), list)


@pytest.mark.data
def test_turkish_treebank_subset_one_epoch():
    from rnnkit import datasets

    try:
        data = datasets.turkish_treebank(seed=0)
    except ModuleNotFoundError as err:
        pytest.skip(f"corpus package missing: {err}")
    tagger = SequenceTagger(units=16, char_features="cnn", epochs=1, seed=0, validation_split=0.0)
    tagger.fit(*_subset(data["train"], 200))
    assert tagger.scheme_ is None and "NOUN" in tagger.classes_
    scores = tagger.evaluate(*_subset(data["test"], 50))
    assert scores["accuracy"] > 0.2  # above chance over 14 tags after one short epoch


@pytest.mark.data
def test_read_tagged_conllu_and_tfds_conll2003(tmp_path):
    import tensorflow_datasets as tfds

    from rnnkit.data import from_tfds, read_tagged

    lines = ["# text = Ali geldi .", "1\tAli\t_\tPROPN\t_\t_\t2\tnsubj\t_\t_"]
    lines += ["2\tgeldi\t_\tVERB\t_\t_\t0\troot\t_\t_", "3\t.\t_\tPUNCT\t_\t_\t2\tpunct\t_\t_", ""]
    path = tmp_path / "tiny.conllu"
    path.write_text("\n".join(lines * 3))
    tokens, tags = read_tagged(path, format="conllu")
    assert (tokens[0], tags[0]) == (["Ali", "geldi", "."], ["PROPN", "VERB", "PUNCT"])
    assert E.detect_scheme(tags) is None  # what SequenceTagger sees: plain labels
    sentences = [bio(s) for s in TRAIN_TOKENS[:6]]

    def as_dataset(builder, *args, **kwargs):
        # TFDS's random mock draws token and tag lengths independently; give aligned ones.
        features = builder.info.features
        ner = features["ner"].feature

        def examples():
            for tokens, tags in sentences:
                ids = [ner.str2int(t) for t in tags]
                yield {"tokens": tokens, "pos": ids, "chunks": ids, "ner": ids}

        return tf.data.Dataset.from_generator(examples, output_signature=features.get_tensor_spec())

    with tfds.testing.mock_data(as_dataset_fn=as_dataset):
        tokens, tags = from_tfds("conll2003", split="train")
    assert (tokens, tags) == split(sentences)
    tagger = SequenceTagger(**{**TINY, "epochs": 1})
    tagger.fit(tokens, tags)
    assert tagger.scheme_ == "BIO"
    assert [len(t) for t in tagger.predict(tokens)] == [len(t) for t in tokens]


# --------------------------------------------------------------------------- quality (slow)


@pytest.mark.slow
def test_turkish_upos_accuracy_goal():
    from rnnkit import datasets

    data = datasets.turkish_treebank(seed=0)
    tagger = SequenceTagger(seed=0).fit(*data["train"], validation_data=data["validation"])
    assert tagger.evaluate(*data["test"])["accuracy"] >= 0.95


@pytest.mark.slow
def test_wnut16_entity_f1_goal():
    from rnnkit import datasets

    data = datasets.wnut16(seed=0)
    tagger = SequenceTagger(seed=0, pretrained_embeddings=datasets.glove_6b_50d())
    tagger.fit(*data["train"], validation_data=data["validation"])
    assert tagger.evaluate(*data["test"])["f1"] >= 0.45


def test_history_is_json(toy):
    assert json.loads(json.dumps(toy.history_)) == toy.history_
    assert len(toy.history_["loss"]) == TINY["epochs"]


@pytest.mark.parametrize("cell", ["mingru", "minlstm"])
def test_minimal_cells_tag(cell):
    tagger = SequenceTagger(cell=cell, crf=False, **TINY).fit(*split(TRAIN))
    layer = tagger.model.get_layer("bidirectional_0").forward_layer
    assert type(layer).__name__ == {"mingru": "MinGRU", "minlstm": "MinLSTM"}[cell]
    tokens, tags = split(TRAIN)
    predicted = tagger.predict(tokens)
    pairs = [pt for ps, ts in zip(predicted, tags, strict=True) for pt in zip(ps, ts, strict=True)]
    accuracy = np.mean([p == t for p, t in pairs])
    assert accuracy > 0.8  # the toy task: names and places, learnt well above the 'O' share
