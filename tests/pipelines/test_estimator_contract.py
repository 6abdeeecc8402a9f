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
