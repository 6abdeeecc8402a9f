"""SentimentClassifier: estimator contract, learning, persistence, export, errors."""

import os
import subprocess

import keras
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score

from pipelines import SentimentClassifier
from rnnkit import layers
from tests.helpers import run_without_rnnkit

GOOD = ["good", "great", "fine", "nice", "superb"]
BAD = ["bad", "awful", "poor", "dull", "weak"]
MEH = ["so-so", "average", "okay", "middling", "mediocre"]


def _toy(words_by_label, per_label=10, seed=0):
    """Sentences whose label is given by one sentiment word among neutral filler."""
    rng = np.random.default_rng(seed)
    filler = ["the", "film", "plot", "was", "a", "cast"]
    texts, labels = [], []
    for label, words in words_by_label.items():
        for i in range(per_label):
            tokens = list(rng.choice(filler, size=rng.integers(1, 4)))
            tokens.insert(int(rng.integers(0, len(tokens) + 1)), words[i % len(words)])
            texts.append(" ".join(tokens))
            labels.append(label)
    order = rng.permutation(len(texts))
    return [texts[i] for i in order], [labels[i] for i in order]


TINY = dict(units=4, embedding_dim=8, verbose=0, seed=0)
# Enough epochs at a high learning rate for the toy sets to be learnt exactly.
LEARN = dict(TINY, epochs=40, learning_rate=0.05, validation_split=0.0)


@pytest.fixture(scope="module")
def binary():
    return _toy({"fresh": GOOD, "rotten": BAD})


@pytest.fixture(scope="module")
def fitted(binary):
    return SentimentClassifier(**LEARN).fit(*binary)


# -- learning ---------------------------------------------------------------------------------
def test_learns_a_separable_toy_set(fitted, binary):
    texts, labels = binary
    assert fitted.evaluate(texts, labels)["accuracy"] == 1.0
    # Unseen combinations of seen words are classified by the sentiment word.
    assert fitted.predict(["a superb cast", "the plot was awful"]) == ["fresh", "rotten"]


def test_multiclass(binary):
    texts, labels = _toy({"pos": GOOD, "neg": BAD, "mid": MEH})
    clf = SentimentClassifier(**LEARN).fit(texts, labels)
    assert clf.classes_.tolist() == ["mid", "neg", "pos"]
    proba = clf.predict_proba(texts)
    assert proba.shape == (len(texts), 3)
    assert clf.evaluate(texts, labels)["accuracy"] == 1.0
    assert [clf.classes_[i] for i in proba.argmax(1)] == clf.predict(texts)


# -- facade contracts -------------------------------------------------------------------------
def test_predict_proba_and_evaluate_contracts(fitted, binary):
    texts, labels = binary
    proba = fitted.predict_proba(texts)
    assert isinstance(proba, np.ndarray) and proba.shape == (len(texts), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert fitted.classes_.tolist() == ["fresh", "rotten"]
    predicted = fitted.predict(texts)
    assert isinstance(predicted, list) and all(isinstance(p, str) for p in predicted)
    assert predicted == [fitted.classes_[i] for i in proba.argmax(axis=1)]

    # Half the labels flipped: every metric is checked against a hand computation.
    noisy = [("rotten" if y == "fresh" else "fresh") if i % 2 else y for i, y in enumerate(labels)]
    scores = fitted.evaluate(texts, noisy)
    assert sorted(scores) == ["accuracy", "loss", "macro_f1", "precision", "recall"]
    truth = np.array([fitted.classes_.tolist().index(y) for y in noisy])
    hits = proba.argmax(1) == truth
    assert scores["accuracy"] == pytest.approx(hits.mean())
    chosen = np.clip(proba[np.arange(len(truth)), truth], 1e-7, 1 - 1e-7)
    assert scores["loss"] == pytest.approx(-np.log(chosen).mean(), rel=1e-5)
    recalls = [hits[truth == k].mean() for k in (0, 1)]
    assert scores["recall"] == pytest.approx(np.mean(recalls))
    # The backbone's own Keras loss on the same data agrees with `evaluate`.
    ids = fitted.model.get_layer("preprocessor")(np.array(texts))
    keras_loss = keras.losses.sparse_categorical_crossentropy(
        truth, fitted.model.get_layer("backbone")(ids)
    )
    assert scores["loss"] == pytest.approx(float(np.mean(keras_loss)), rel=1e-4)


def test_inputs_may_be_arrays_and_series(fitted, binary):
    pd = pytest.importorskip("pandas")
    texts, _ = binary
    expected = fitted.predict_proba(texts)
    np.testing.assert_allclose(fitted.predict_proba(np.array(texts)), expected, atol=1e-6)
    np.testing.assert_allclose(fitted.predict_proba(pd.Series(texts)), expected, atol=1e-6)
    np.testing.assert_allclose(fitted.predict_proba(tuple(texts)), expected, atol=1e-6)
    assert fitted.predict_proba([]).shape == (0, 2)


def test_end_to_end_model_equals_preprocessor_then_backbone(fitted, binary):
    texts, _ = binary
    model = fitted.model
    assert isinstance(model, keras.Model)
    end_to_end = keras.ops.convert_to_numpy(model(np.array(texts)))
    ids = model.get_layer("preprocessor")(np.array(texts))
    detached = keras.ops.convert_to_numpy(model.get_layer("backbone")(ids))
    np.testing.assert_allclose(end_to_end, detached, atol=1e-6)
    np.testing.assert_allclose(fitted.predict_proba(texts), end_to_end, atol=1e-5)


def test_padding_and_batching_do_not_change_a_text_score(fitted):
    short = "good film"
    batch = [short, "the plot was a film the cast was the plot was bad", "", "   "]
    alone = fitted.predict_proba([short])
    np.testing.assert_allclose(fitted.predict_proba(batch)[:1], alone, atol=1e-6)
    # Empty texts are valid input: no token at all gives a finite, normalised answer.
    empty = fitted.predict_proba(["", "   "])
    assert np.all(np.isfinite(empty)) and np.allclose(empty.sum(1), 1.0)


def test_max_length_truncates_the_tail(binary):
    options = dict(pooling="mean", dropout=0.0, embedding_dropout=0.0, word_dropout=0.5)
    clf = SentimentClassifier(**dict(TINY, epochs=1, max_length=3, **options)).fit(*binary)
    np.testing.assert_allclose(
        clf.predict_proba(["the cast was good bad"]),
        clf.predict_proba(["the cast was"]),
        atol=1e-6,
    )
    # Word dropout drops whole token vectors (all components at once), in training only.
    drop = clf.model.get_layer("backbone").get_layer("word_dropout")
    ones = np.ones((2, 50, 8), "float32")
    out = keras.ops.convert_to_numpy(drop(ones, training=True))
    assert np.all(out.std(axis=-1) == 0) and 0 < (out[..., 0] == 0).mean() < 1
    np.testing.assert_array_equal(drop(ones, training=False), ones)


def test_uses_rnnkit_layers_and_clips_gradients(fitted):
    bidirectional = fitted.model.get_layer("backbone").get_layer("bidirectional_0")
    assert isinstance(bidirectional.forward_layer, layers.LSTM)
    assert fitted.model.get_layer("backbone").optimizer.clipnorm == 1.0


@pytest.mark.parametrize(
    "options, rnn_class",
    [
        (dict(cell="gru", bidirectional=False, pooling="last"), layers.GRU),
        (dict(cell="simple_rnn", num_layers=2, pooling="max"), layers.SimpleRNN),
        (dict(cell="mingru", pooling="mean"), layers.MinGRU),
        (dict(cell="minlstm", bidirectional=False, pooling="last"), layers.MinLSTM),
    ],
)
def test_cells_and_shapes(binary, options, rnn_class):
    clf = SentimentClassifier(**dict(TINY, epochs=1, **options)).fit(*binary)
    backbone = clf.model.get_layer("backbone")
    rnns = [
        layer.forward_layer if isinstance(layer, keras.layers.Bidirectional) else layer
        for layer in backbone.layers
        if isinstance(layer, keras.layers.Bidirectional | keras.layers.RNN)
    ]
    assert len(rnns) == options.get("num_layers", 1)
    assert all(isinstance(rnn, rnn_class) for rnn in rnns)
    assert clf.predict_proba(binary[0]).shape == (len(binary[0]), 2)


def test_seed_makes_fit_reproducible(binary):
    a = SentimentClassifier(**dict(TINY, epochs=2)).fit(*binary).predict_proba(binary[0])
    b = SentimentClassifier(**dict(TINY, epochs=2)).fit(*binary).predict_proba(binary[0])
    np.testing.assert_array_equal(a, b)


def test_early_stopping_on_validation_data_restores_the_best_epoch(binary):
    texts, labels = binary
    flipped = ["rotten" if y == "fresh" else "fresh" for y in labels]
    seen = []
    record = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(logs))
    clf = SentimentClassifier(**dict(LEARN, epochs=30, patience=2, callbacks=[record]))
    clf.fit(texts, labels, validation_data=(texts, flipped))
    # Learning the training labels makes the flipped validation loss grow from epoch 1 on.
    val_losses = [logs["val_loss"] for logs in seen]
    best = int(np.argmin(val_losses))
    assert len(val_losses) == best + 1 + 2 < 30
    assert clf.history_["val_loss"] == pytest.approx(val_losses)
    assert clf.evaluate(texts, flipped)["loss"] == pytest.approx(val_losses[best], rel=1e-4)


def test_validation_split_holds_out_stratified_texts(binary):
    texts, labels = binary
    clf = SentimentClassifier(**dict(TINY, validation_split=0.2, seed=3))
    y = np.array([int(label == "fresh") for label in labels])
    (train_texts, train_y), (val_texts, val_y) = clf._split(texts, y)
    assert sorted(train_texts + val_texts) == sorted(texts)
    assert len(val_texts) == 4 and np.bincount(val_y).tolist() == [2, 2]
    clf.set_params(epochs=1).fit(texts, labels)
    assert len(clf.history_["val_loss"]) == 1
    with pytest.raises(ValueError, match="`validation_split`=0.9 leaves 0 training"):
        SentimentClassifier(**dict(TINY, validation_split=0.9)).fit(texts[:2], labels[:2])


def test_pretrained_embeddings_initialise_the_embedding(binary, tmp_path):
    path = tmp_path / "vectors.txt"
    vectors = {"good": [0.5, -0.5, 0.25], "bad": [-0.5, 0.5, -0.25]}
    path.write_text("".join(f"{w} {' '.join(map(str, v))}\n" for w, v in vectors.items()))
    captured = {}

    def grab(logs=None):
        embedding = clf.model.get_layer("backbone").get_layer("embedding")
        captured["weights"] = keras.ops.convert_to_numpy(embedding.embeddings)

    clf = SentimentClassifier(
        **dict(
            TINY,
            embedding_dim=None,
            epochs=1,
            pretrained_embeddings=str(path),
            callbacks=[keras.callbacks.LambdaCallback(on_train_begin=grab)],
        )
    )
    clf.fit(*binary)
    vocabulary = clf.model.get_layer("preprocessor").get_layer("vectorizer").get_vocabulary()
    assert captured["weights"].shape == (len(vocabulary), 3)
    for word, vector in vectors.items():
        np.testing.assert_allclose(captured["weights"][vocabulary.index(word)], vector)
    with pytest.raises(ValueError, match="`embedding_dim`"):
        SentimentClassifier(**dict(TINY, embedding_dim=5, pretrained_embeddings=str(path))).fit(
            *binary
        )


# -- labels -----------------------------------------------------------------------------------
def test_non_string_labels_come_back_as_the_original_objects(binary, tmp_path):
    import tensorflow as tf

    texts, labels = binary
    ints = np.array([1 if y == "fresh" else 0 for y in labels])
    clf = SentimentClassifier(**LEARN).fit(texts, ints)
    assert clf.classes_.tolist() == [0, 1]
    predicted = clf.predict(texts)
    assert predicted == ints.tolist()
    assert all(type(p) is int for p in predicted)  # NumPy labels come back as plain Python ints
    # The export returns `str(label)`: documented, since a SavedModel output has one dtype.
    served = tf.saved_model.load(clf.export(tmp_path / "ints"))
    out = served.signatures["serving_default"](text=tf.constant(texts))
    assert out["label"].numpy().tolist() == [str(p).encode() for p in predicted]

    tuples = [("review", y) for y in labels]
    by_tuple = SentimentClassifier(**dict(TINY, epochs=1)).fit(texts, tuples)
    assert list(by_tuple.classes_) == [("review", "fresh"), ("review", "rotten")]
    assert set(by_tuple.predict(texts)) <= {("review", "fresh"), ("review", "rotten")}
    path = tmp_path / "tuples.keras"
    by_tuple.save(path)
    assert list(SentimentClassifier.load(path).classes_) == list(by_tuple.classes_)


def test_predict_returns_the_very_label_objects(binary):
    class Mood:
        def __init__(self, name):
            self.name = name

        def __lt__(self, other):
            return self.name < other.name

    happy, sad = Mood("happy"), Mood("sad")
    texts, labels = binary
    clf = SentimentClassifier(**dict(TINY, epochs=1)).fit(
        texts, [happy if y == "fresh" else sad for y in labels]
    )
    assert all(p is happy or p is sad for p in clf.predict(texts))
    with pytest.raises(TypeError, match="cannot be saved"):
        clf.save("never-written.keras")


# -- scikit-learn -----------------------------------------------------------------------------
def test_sklearn_estimator_contract(binary):
    clf = SentimentClassifier(units=4, epochs=1, verbose=0)
    params = clf.get_params()
    assert params["units"] == 4 and params["cell"] == "lstm" and params["bidirectional"] is True
    copy = clone(clf)
    assert copy.get_params() == params and copy is not clf
    assert clf.set_params(units=8) is clf and clf.units == 8
    fitted = SentimentClassifier(**dict(TINY, epochs=1))
    assert fitted.fit(*binary) is fitted
    assert not hasattr(clone(fitted), "model_")


def test_cross_val_score_and_grid_search(binary):
    texts, labels = binary
    scores = cross_val_score(SentimentClassifier(**dict(TINY, epochs=1)), texts, labels, cv=2)
    assert scores.shape == (2,) and np.all((0 <= scores) & (scores <= 1))
    search = GridSearchCV(
        SentimentClassifier(**dict(TINY, epochs=1)), {"units": [2, 4]}, cv=2, refit=True
    )
    search.fit(texts, labels)
    assert search.best_params_["units"] in (2, 4)
    assert len(search.predict(texts[:3])) == 3


# -- persistence and export -------------------------------------------------------------------
def test_save_load_gives_identical_predictions(fitted, binary, tmp_path):
    texts, _ = binary
    path = tmp_path / "m.keras"
    fitted.save(path)
    loaded = SentimentClassifier.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(texts), fitted.predict_proba(texts))
    assert loaded.predict(texts) == fitted.predict(texts)
    assert loaded.get_params() == {**fitted.get_params(), "callbacks": None}
    assert loaded.classes_.tolist() == fitted.classes_.tolist()
    plain = keras.saving.load_model(path)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(plain(np.array(texts))), fitted.predict_proba(texts), atol=1e-5
    )


def test_export_runs_without_rnnkit_and_matches_predict(fitted, binary, tmp_path):
    texts = binary[0][:6] + ["", "a superb film nobody saw"]
    path = fitted.export(tmp_path / "sentiment_savedmodel")
    result = run_without_rnnkit(
        f"""
        import tensorflow as tf
        served = tf.saved_model.load({str(path)!r})
        out = served.signatures["serving_default"](text=tf.constant({texts!r}))
        result = {{
            "label": [x.decode() for x in out["label"].numpy()],
            "score": out["score"].numpy().tolist(),
            "probabilities": out["probabilities"].numpy().tolist(),
        }}
        empty = served.signatures["serving_default"](text=tf.constant([], tf.string))
        result["empty"] = empty["probabilities"].numpy().shape
        try:
            served.signatures["serving_default"](text=tf.constant([b"ok", b"bad \\xff"]))
            result["utf8"] = "accepted"
        except tf.errors.InvalidArgumentError as err:
            result["utf8"] = err.message
        """
    )
    proba = fitted.predict_proba(texts)
    assert result["label"] == fitted.predict(texts)
    np.testing.assert_allclose(result["probabilities"], proba, atol=1e-5)
    np.testing.assert_allclose(result["score"], proba.max(axis=1), atol=1e-5)
    assert list(result["empty"]) == [0, 2]
    # Like the Python API, the export refuses bytes that are not UTF-8, naming the text.
    assert "`text[i]` is not valid UTF-8" in result["utf8"] and "[1]" in result["utf8"]
    with pytest.raises(ValueError, match=r"`texts\[1\]` is not valid UTF-8"):
        fitted.predict([b"ok", b"bad \xff"])
    with pytest.raises(FileExistsError):
        fitted.export(path)


def test_saved_model_cli_lists_a_string_signature(fitted, tmp_path):
    import sys

    path = fitted.export(tmp_path / "cli")
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    if not os.path.exists(cli):
        pytest.skip(f"saved_model_cli is not installed beside {sys.executable}")
    proc = subprocess.run(
        [cli, "show", "--dir", str(path), "--all"], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    signature = proc.stdout.split("signature_def['serving_default']")[1]
    assert "inputs['text'] tensor_info:" in signature
    assert "dtype: DT_STRING" in signature.split("outputs")[0]
    for output in ("label", "score", "probabilities"):
        assert f"outputs['{output}']" in signature


# -- errors -----------------------------------------------------------------------------------
def test_bad_inputs_give_clear_errors(fitted, binary):
    texts, labels = binary
    with pytest.raises(TypeError, match=r"`texts\[1\]` must be a string"):
        SentimentClassifier(**TINY).fit(["good", 3], ["a", "b"])
    with pytest.raises(ValueError, match="`texts` and `labels` must have the same length"):
        SentimentClassifier(**TINY).fit(texts, labels[:-1])
    with pytest.raises(TypeError, match="`texts` must be a list of strings.*wrap it in a list"):
        fitted.predict("a gorgeous, witty film")
    with pytest.raises(
        ValueError,
        match=r"`cell` must be one of \['gru', 'lstm', 'mingru', 'minlstm', 'simple_rnn'\]",
    ):
        SentimentClassifier(cell="transformer").fit(texts, labels)
    with pytest.raises(ValueError, match="`recurrent_dropout` must be 0 with cell='mingru'"):
        SentimentClassifier(cell="mingru", recurrent_dropout=0.1).fit(texts, labels)
    with pytest.raises(ValueError, match="at least two classes"):
        SentimentClassifier(**TINY).fit(texts, ["fresh"] * len(texts))
    with pytest.raises(ValueError, match="`labels` holds classes never seen in `fit`"):
        fitted.evaluate(texts[:2], ["fresh", "spoiled"])
    with pytest.raises(ValueError, match="`units` must be a positive integer"):
        SentimentClassifier(units=0).fit(texts, labels)
    with pytest.raises(ValueError, match="`dropout`"):
        SentimentClassifier(dropout=1.5).fit(texts, labels)
    with pytest.raises(FileNotFoundError, match="`pretrained_embeddings`"):
        SentimentClassifier(pretrained_embeddings="/no/such/glove.txt").fit(texts, labels)
    with pytest.raises(TypeError, match="`validation_data`"):
        SentimentClassifier(**TINY).fit(texts, labels, validation_data=texts)


def test_nan_labels_are_refused(binary):
    texts, labels = binary
    numeric = [float(label == labels[0]) for label in labels]
    numeric[2] = float("nan")
    with pytest.raises(ValueError, match=r"`labels\[2\]` is NaN"):
        SentimentClassifier(epochs=1, verbose=0).fit(texts, np.array(numeric))
    with pytest.raises(ValueError, match=r"`validation_data\[1\]\[0\]` is NaN"):
        SentimentClassifier(epochs=1, verbose=0).fit(
            texts, labels, validation_data=(texts[:1], [float("nan")])
        )


def test_predict_before_fit_says_to_fit():
    with pytest.raises(NotFittedError, match="call `fit` first"):
        SentimentClassifier().predict(["a gorgeous, witty film"])
    with pytest.raises(NotFittedError):
        SentimentClassifier().model  # noqa: B018


# -- real data --------------------------------------------------------------------------------
def _rotten_tomatoes():
    from rnnkit import datasets

    try:
        return datasets.rotten_tomatoes(seed=0)
    except ModuleNotFoundError as err:
        pytest.skip(f"Rotten Tomatoes corpus not installed: {err}")


@pytest.mark.data
def test_fits_a_subset_of_rotten_tomatoes():
    splits = _rotten_tomatoes()
    texts, labels = (column[:400] for column in splits["train"])
    clf = SentimentClassifier(units=8, embedding_dim=16, epochs=1, verbose=0, seed=0)
    clf.fit(texts, labels, validation_data=tuple(c[:100] for c in splits["validation"]))
    assert clf.classes_.tolist() == ["fresh", "rotten"]
    scores = clf.evaluate(*(c[:200] for c in splits["test"]))
    assert 0.0 <= scores["accuracy"] <= 1.0 and np.isfinite(scores["loss"])
    assert set(clf.predict(splits["test"][0][:20])) <= {"fresh", "rotten"}


@pytest.mark.slow
def test_defaults_match_the_tfidf_baseline_on_rotten_tomatoes():
    from rnnkit.baselines import tfidf_logistic_regression

    splits = _rotten_tomatoes()
    baseline = tfidf_logistic_regression(splits["train"], splits["validation"])
    baseline_accuracy = baseline.score(*splits["test"])
    clf = SentimentClassifier(seed=0, verbose=0)
    clf.fit(*splits["train"], validation_data=splits["validation"])
    assert clf.evaluate(*splits["test"])["accuracy"] >= baseline_accuracy
