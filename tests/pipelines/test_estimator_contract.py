"""One test of scikit-learn's estimator contract, run over every pipeline in `pipelines.__all__`."""

import inspect

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

import pipelines

ESTIMATORS = sorted(name for name in pipelines.__all__ if inspect.isclass(getattr(pipelines, name)))

# Tiny fit data per pipeline; a new pipeline without an entry here fails the contract test.
TINY = {
    "ImageCaptioner": (
        np.random.default_rng(0).integers(0, 256, (6, 8, 8, 3)).astype(np.uint8),
        ["a red dot", "a blue dot", ["a dot", "one dot"], "red", "blue", "a dot"],
    ),
    "SentimentClassifier": (
        ["good film", "bad film", "good plot", "bad plot", "good", "bad"],
        ["pos", "neg", "pos", "neg", "pos", "neg"],
    ),
    "Translator": (
        ["uno dos", "dos tres", "tres uno", "uno", "dos", "tres"],
        ["one two", "two three", "three one", "one", "two", "three"],
    ),
    "SequenceTagger": (
        [["Ann", "saw", "Bob"], ["Bob", "ran"], ["Ann", "ran"], ["we", "saw", "Ann"]],
        [["B-PER", "O", "B-PER"], ["B-PER", "O"], ["B-PER", "O"], ["O", "O", "B-PER"]],
    ),
}

TINY_PARAMS = {"epochs": 1, "units": 4, "embedding_dim": 4, "verbose": 0}


def _tiny(cls):
    params = {k: v for k, v in TINY_PARAMS.items() if k in cls().get_params()}
    return cls(**params)


@pytest.mark.parametrize("name", ESTIMATORS)
def test_init_only_stores_arguments(name):
    cls = getattr(pipelines, name)
    signature = inspect.signature(cls.__init__)
    for param in list(signature.parameters.values())[1:]:
        assert param.kind is inspect.Parameter.KEYWORD_ONLY, f"{name}({param.name}) keyword-only"
    est = cls()
    defaults = {p.name: p.default for p in list(signature.parameters.values())[1:]}
    assert est.get_params() == defaults
    assert not [k for k in vars(est) if k.endswith("_")], "learned state set in __init__"


@pytest.mark.parametrize("name", ESTIMATORS)
def test_fit_returns_self_and_clone_is_unfitted(name):
    assert name in TINY, f"add tiny fit data for {name} to TINY"
    cls = getattr(pipelines, name)
    est = _tiny(cls)
    with pytest.raises(NotFittedError):
        est.model  # noqa: B018
    assert est.fit(*TINY[name]) is est
    assert est.model is est.model_
    copy = clone(est)
    assert copy.get_params() == est.get_params()
    assert not hasattr(copy, "model_")
    copy.set_params(epochs=2)
    assert copy.get_params()["epochs"] == 2 and est.get_params()["epochs"] == 1


@pytest.mark.parametrize("name", ESTIMATORS)
def test_set_params_rejects_unknown_names(name):
    cls = getattr(pipelines, name)
    with pytest.raises(ValueError):
        cls().set_params(no_such_option=1)
    assert np.isscalar(cls().get_params()["epochs"])


def _trained_optimizers(est):
    """The optimizers of `est.model`, of its sub-models and of `training_model_` (if any)."""
    import keras

    model = est.model
    models = [model] + [m for m in model._flatten_layers() if isinstance(m, keras.Model)]
    models += [est.training_model_] if hasattr(est, "training_model_") else []
    return [m.optimizer for m in models if getattr(m, "optimizer", None) is not None]


@pytest.mark.parametrize("name", ESTIMATORS)
def test_users_optimizer_and_loss_reach_the_model(name):
    import keras

    def zero_loss(y_true, y_pred):
        # No gradient at all: with this loss no weight may move.
        return keras.ops.sum(keras.ops.cast(y_pred, "float32")) * 0.0

    cls = getattr(pipelines, name)
    est = _tiny(cls).set_params(optimizer=keras.optimizers.SGD(0.5), loss=zero_loss, seed=0)
    est.set_params(**{k: None for k in ("time_budget",) if k in est.get_params()})
    # What the weights would be before training: a seeded model with one epoch of no loss.
    est.fit(*TINY[name])
    optimizers = _trained_optimizers(est)
    assert optimizers and all(type(o).__name__ == "SGD" for o in optimizers)
    assert all(float(o.learning_rate) == pytest.approx(0.5) for o in optimizers)
    assert all(v == 0.0 for v in est.history_["loss"]), est.history_
    # The same estimator with its own loss trains (the loss is not zero).
    default = _tiny(cls).set_params(optimizer=keras.optimizers.SGD(0.5), seed=0).fit(*TINY[name])
    assert default.history_["loss"][0] > 0


@pytest.mark.parametrize("name", ESTIMATORS)
def test_saved_model_loads_in_a_fresh_process_that_imports_only_rnnkit(name, tmp_path):
    import subprocess
    import sys

    est = _tiny(getattr(pipelines, name)).fit(*TINY[name])
    path = tmp_path / "model.keras"
    est.save(path)
    expected = [w.tolist() for w in est.model.get_weights()[:3]]
    code = (
        "import json, sys, rnnkit, keras\n"
        f"model = keras.saving.load_model({str(path)!r})\n"
        "assert 'pipelines' not in sys.modules, 'pipelines was imported'\n"
        "print('__W__' + json.dumps([w.tolist() for w in model.get_weights()[:3]]))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = __import__("json").loads(proc.stdout.split("__W__")[1])
    np.testing.assert_allclose(np.array(got[0]), np.array(expected[0]))
    assert len(got) == len(expected)
