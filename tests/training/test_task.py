"""The facade base shared by every pipeline: save/load, export, validation."""

import os
import warnings
import zipfile

import keras
import numpy as np
import pytest
import tensorflow as tf
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from rnnkit import checks, training
from rnnkit.export import export_saved_model
from tests.helpers import edit_saved_pipeline, run_without_rnnkit


class _Doubler(training.Task):
    """A minimal real task: learns y = 2x with one Dense unit."""

    def __init__(
        self, *, epochs: int = 1, seed: int | None = 0, note: str = "x", learning_rate=0.1
    ):
        self.epochs = epochs
        self.seed = seed
        self.note = note
        self.learning_rate = learning_rate

    def fit(self, x, y):
        checks.check_learning_rate(self.learning_rate)
        self._seed()
        trainer = training.Trainer(
            learning_rate=self.learning_rate, clipnorm=1.0, epochs=self.epochs, verbose=0
        )

        def make():
            inputs = keras.Input((1,), name="x")
            return keras.Model(inputs, keras.layers.Dense(1)(inputs))

        self.model_ = trainer.build(make, loss="mse")
        trainer.fit(self.model_, (np.asarray(x, "float32"), np.asarray(y, "float32")))
        self.fitted_note_ = self.note.upper()
        return self

    def predict(self, x):
        return self.model.predict(np.asarray(x, "float32"), verbose=0)

    def _get_state(self):
        return {"fitted_note": self.fitted_note_}

    def _set_state(self, state):
        self.fitted_note_ = state["fitted_note"]

    def _serving_endpoints(self):
        spec = [tf.TensorSpec([None, 1], tf.float32, name="x")]
        return {"serving_default": (lambda x: {"y": self.model_(x)}, spec)}


def _fitted():
    x = np.arange(8, dtype="float32")[:, None] / 8
    return _Doubler(epochs=3, note="hi").fit(x, 2 * x), x


def test_save_load_restores_params_state_and_numbers(tmp_path):
    task, x = _fitted()
    path = tmp_path / "t.keras"
    task.save(path)
    loaded = _Doubler.load(path)
    assert loaded.get_params() == task.get_params()
    assert loaded.fitted_note_ == "HI"
    np.testing.assert_allclose(loaded.predict(x), task.predict(x), atol=1e-6)
    # The same file is a plain Keras model file too.
    plain = keras.saving.load_model(path)
    np.testing.assert_allclose(plain.predict(x, verbose=0), task.predict(x), atol=1e-6)


def test_save_is_atomic_and_keeps_old_file_on_failure(tmp_path, monkeypatch):
    task, _ = _fitted()
    path = tmp_path / "t.keras"
    task.save(path)
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(task.model_, "save", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        task.save(path, overwrite=True)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["t.keras"]


def test_errors_name_the_problem(tmp_path):
    with pytest.raises(NotFittedError, match="call `fit` first"):
        _Doubler().model  # noqa: B018
    task, _ = _fitted()
    with pytest.raises(ValueError, match="must end with `.keras`"):
        task.save(tmp_path / "t.h5")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        _Doubler.load(tmp_path / "missing.keras")
    task.model_.save(tmp_path / "plain.keras")
    with pytest.raises(ValueError, match="not a file written by `_Doubler.save`"):
        _Doubler.load(tmp_path / "plain.keras")
    bad = tmp_path / "other.keras"
    task.save(bad)
    with zipfile.ZipFile(bad) as z:
        assert "rnnkit.json" in z.namelist()


def test_load_drops_retired_settings_and_names_unknown_ones(tmp_path, monkeypatch):
    task, x = _fitted()
    path = tmp_path / "t.keras"
    task.save(path)
    edit_saved_pipeline(path, lambda payload: payload["params"].update(old_setting=3))
    with pytest.raises(ValueError, match=r"settings \['old_setting'\].*version"):
        _Doubler.load(path)
    monkeypatch.setattr(_Doubler, "_retired_params", frozenset({"old_setting"}))
    loaded = _Doubler.load(path)
    assert loaded.get_params() == task.get_params()
    np.testing.assert_allclose(loaded.predict(x), task.predict(x), atol=1e-6)


def test_sklearn_clone_keeps_params_only():
    task, _ = _fitted()
    copy = clone(task)
    assert copy.get_params() == task.get_params()
    assert not hasattr(copy, "model_")


def test_export_runs_without_rnnkit_and_refuses_to_overwrite(tmp_path):
    task, x = _fitted()
    path = str(tmp_path / "export")
    task.export(path)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        task.export(path)
    task.export(path, overwrite=True)
    got = run_without_rnnkit(
        f"""
        import tensorflow as tf
        m = tf.saved_model.load({path!r})
        y = m.signatures["serving_default"](x=tf.constant({x.tolist()!r}, tf.float32))["y"]
        result = y.numpy().ravel().tolist()
        """
    )
    np.testing.assert_allclose(got, task.predict(x).ravel(), atol=1e-6)
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".")]


def test_export_saved_model_validates_endpoints(tmp_path):
    with pytest.raises(ValueError, match="`endpoints` is empty"):
        export_saved_model(tmp_path / "e", {}, track=[])


@pytest.mark.parametrize(
    "value, error",
    [("abc", TypeError), ([1, "a"], TypeError), (42, TypeError)],
)
def test_as_text_list_rejects_non_strings(value, error):
    with pytest.raises(error, match="`texts"):
        checks.as_text_list(value, "texts")


def test_validators_accept_arrays_and_report_lengths():
    assert checks.as_text_list(np.array(["a", "b"]), "texts") == ["a", "b"]
    assert checks.as_token_lists([("a", "b"), ["c"]], "tokens") == [["a", "b"], ["c"]]
    with pytest.raises(ValueError, match="got 2 and 1"):
        checks.check_same_length([1, 2], [1], "texts", "labels")
    with pytest.raises(ValueError, match="`cell` must be one of"):
        checks.check_choice("rnn", "cell", ["lstm", "gru"])
    with pytest.raises(ValueError, match="`units` must be a positive integer"):
        checks.check_positive_int(0, "units")
    with pytest.raises(ValueError, match="`dropout`"):
        checks.check_fraction(1.5, "dropout")


def test_shared_validators_name_the_argument(tmp_path):
    checks.check_bool(np.bool_(True), "crf")
    with pytest.raises(TypeError, match="`crf` must be True or False"):
        checks.check_bool(1, "crf")
    checks.check_number(0, "clipnorm", strict=False)
    for bad in (0, -1.0, True, "0.1", float("inf"), float("nan")):
        with pytest.raises(ValueError, match="`learning_rate` must be a finite number > 0"):
            checks.check_number(bad, "learning_rate")
    assert checks.check_learning_rate(1) == 1.0
    for bad in (0, -1e-3, 1e3, True, "0.1", float("inf"), float("nan"), None):
        with pytest.raises(
            ValueError, match=r"`learning_rate` must be a finite number in \(0, 1\]"
        ):
            checks.check_learning_rate(bad)
    assert checks.check_seed(np.int64(2**32 - 1)) == 2**32 - 1
    for bad in (-1, 2**32, 1.5, "0", True, [0]):
        with pytest.raises(ValueError, match=r"`seed` must be None or an integer in \[0, 2\*\*32"):
            checks.check_seed(bad)
    with pytest.raises(TypeError, match="`callbacks`"):
        checks.check_callbacks([object()])
    checks.check_embeddings_path(None)
    with pytest.raises(FileNotFoundError, match="`pretrained_embeddings`"):
        checks.check_embeddings_path(tmp_path / "missing.txt")
    with pytest.raises(ValueError, match="`vocabulary_size` must be >= 5"):
        checks.check_vocabulary_size(4, "vocabulary_size")


@pytest.mark.parametrize(
    "settings, message",
    [({"seed": -1}, "`seed` must be None or an integer"), ({"lr": 1e3}, "`learning_rate`")],
)
def test_fit_refuses_bad_seeds_and_rates_in_our_words(settings, message, monkeypatch):
    task = _Doubler(seed=settings.get("seed", 0), learning_rate=settings.get("lr", 0.1))
    with pytest.raises(ValueError, match=message):
        task.fit([0.0], [0.0])


def test_graph_function_is_built_once_per_model_and_key():
    task, x = _fitted()
    built = []

    def build(model):
        built.append(model)
        return tf.function(lambda t: model(t))

    first = task._graph_function("predict", build)
    assert task._graph_function("predict", build) is first
    assert task._graph_function("other", build) is not first
    np.testing.assert_allclose(first(tf.constant(x)), task.predict(x), rtol=1e-6)
    # A new fit makes a new model: its functions are built again, never the old model's.
    task.fit(x, 3 * x)
    second = task._graph_function("predict", build)
    assert second is not first and built[-1] is task.model_
    np.testing.assert_allclose(second(tf.constant(x)), task.predict(x), rtol=1e-6)
    with pytest.raises(NotFittedError):
        _Doubler()._graph_function("predict", build)


class _RateLog(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.rates = []

    def on_train_batch_end(self, batch, logs=None):
        self.rates.append(float(self.model.optimizer.learning_rate))


def _fit_with(callback, epochs=4, steps=5):
    x = np.ones((steps, 1), "float32")
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.1), "mse")
    log = _RateLog()
    model.fit(x, x, batch_size=1, epochs=epochs, verbose=0, callbacks=[callback, log])
    return np.array(log.rates)


def test_linear_decay_reaches_zero_at_the_last_epoch():
    rates = _fit_with(training.LinearDecay(0.1, epochs=4), epochs=4, steps=5)
    batches = np.arange(20)  # 4 epochs of 5 batches: progress = batch / 20
    np.testing.assert_allclose(rates, 0.1 * (1 - batches / 20), rtol=1e-6)


def test_linear_decay_follows_the_time_budget_when_it_ends_first():
    # A budget far shorter than the epochs: the rate is already 0 after the first batch.
    rates = _fit_with(training.LinearDecay(0.1, epochs=1000, time_budget=1e-9), epochs=2)
    assert rates[0] == 0.0 and np.all(rates == 0.0)
    # A budget far longer than the epochs: the epochs set the pace.
    rates = _fit_with(training.LinearDecay(0.1, epochs=2, time_budget=1e9), epochs=2, steps=4)
    np.testing.assert_allclose(rates, 0.1 * (1 - np.arange(8) / 8), rtol=1e-6)


def test_linear_decay_counts_the_batches_of_an_unsized_dataset():
    # A filtered dataset has no known length: the first epoch keeps the full rate (no time
    # budget), later epochs use the batch count of the first.
    ds = tf.data.Dataset.from_tensor_slices((np.ones((5, 1), "float32"),) * 2)
    ds = ds.filter(lambda x, y: True).batch(1)
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.1), "mse")
    log = _RateLog()
    with warnings.catch_warnings():
        # Keras's note on unsized datasets, as in the pipelines' `fit`.
        warnings.filterwarnings("ignore", message="Your input ran out of data")
        model.fit(
            ds,
            epochs=2,
            verbose=0,
            shuffle=False,
            callbacks=[training.LinearDecay(0.1, epochs=2), log],
        )
    rates = np.array(log.rates)
    np.testing.assert_allclose(rates[:5], 0.1, rtol=1e-6)
    np.testing.assert_allclose(rates[5:], 0.1 * (1 - (5 + np.arange(5)) / 10), rtol=1e-6)


def test_linear_decay_holds_the_rate_first():
    rates = _fit_with(training.LinearDecay(0.1, epochs=2, hold=0.5), epochs=2, steps=5)
    progress = np.arange(10) / 10
    expected = 0.1 * (1 - np.clip((progress - 0.5) / 0.5, 0, None))
    np.testing.assert_allclose(rates, expected, rtol=1e-6)
    assert rates[5] == pytest.approx(0.1) and rates[9] == pytest.approx(0.02)
    with pytest.raises(ValueError, match="`hold`"):
        training.LinearDecay(0.1, epochs=2, hold=1.0)


@pytest.mark.parametrize("every", [1, 4])
def test_moving_average_follows_the_warm_up_decay_schedule(every):
    # Reference: after step t (0-based) the average moves towards the weights with decay
    # min(m, (1 + t) / (10 + t)); folded every `every` steps with the decays multiplied, the
    # last steps at the end of fit.
    momentum = 0.6
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    average = training.MovingAverage(momentum, every=every)
    seen = [training.MovingAverage.weights(model)]

    class Record(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(training.MovingAverage.weights(self.model))

    x = np.arange(20, dtype="float32").reshape(10, 2) / 10
    y = x.sum(axis=1, keepdims=True)
    model.fit(x, y, batch_size=2, epochs=2, shuffle=False, verbose=0, callbacks=[Record(), average])
    steps = len(seen) - 1
    assert steps == 10
    expected = [np.array(w, "float64") for w in seen[0]]
    folded = 0
    for t in [*range(every, steps + 1, every), steps]:
        decay = np.prod([min(momentum, (1 + s) / (10 + s)) for s in range(folded, t)])
        expected = [decay * e + (1 - decay) * w for e, w in zip(expected, seen[t], strict=True)]
        folded = t
    for got, want in zip(average.average(), expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)
    # Not the final weights, and assign writes a list of arrays back into the model.
    assert not np.allclose(average.average()[0], seen[-1][0])
    training.MovingAverage.assign(model, average.average())
    np.testing.assert_allclose(model.layers[0].kernel.numpy(), average.average()[0])
    with pytest.raises(ValueError, match="`momentum`"):
        training.MovingAverage(1.0)
