"""The part every pipeline facade shares: estimator contract, training set-up, save/load, export.

A pipeline (`pipelines.SentimentClassifier`, `pipelines.Translator`, ...) subclasses `Task`:
its `__init__` only stores keyword arguments (scikit-learn's contract), `fit` validates them,
builds `self.model_` (a plain `keras.Model`) and returns `self`. `Task` then gives it `model`,
`save`/`load` (one `.keras` file that `keras.saving.load_model` also reads) and `export`.

Subclass hooks:
    _get_state() -> dict: JSON-able learned state besides the model (classes, vocabularies...).
    _set_state(state: dict) -> None: restores it after `load` (`self.model_` is already set).
    _serving_endpoints() -> dict: signature name -> (tf function, input signature) for export.
    _export_track() -> list: the Keras objects the endpoints use (default: `[self.model_]`).
"""

from __future__ import annotations

import importlib
import json
import os
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from typing import Any

import keras
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from rnnkit.export import export_saved_model
from rnnkit.training._callbacks import TimeBudget

_STATE_ENTRY = "rnnkit.json"
_FORMAT_VERSION = 1


class Task(BaseEstimator):
    """Base class of the pipeline facades (see the module docstring)."""

    # Settings a pipeline no longer has: `load` drops them from files saved with them.
    _retired_params: frozenset[str] = frozenset()

    @classmethod
    def _upgrade_params(cls, params: dict) -> dict:
        """Fills in settings that files saved by older versions lack, as those versions had them."""
        return params

    # -- estimator plumbing -------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            name = type(self).__name__
            raise NotFittedError(
                f"This {name} is not fitted yet: call `fit` first, or `{name}.load(path)`."
            )

    @property
    def model(self) -> keras.Model:
        """The plain `keras.Model` behind the facade (available after `fit` or `load`)."""
        self._check_fitted()
        return self.model_

    def _graph_function(self, key: Any, build: Callable[[keras.Model], Any]) -> Any:
        """`build(model)` (a traced `tf.function` of the model) made once per model and key.

        The cache belongs to the current `model_`: after a new `fit` or `load` the functions
        are built again, so a function of an old model is never reused.
        """
        self._check_fitted()
        model = self.model_
        cache = self.__dict__.get("_graph_functions")
        if cache is None or cache[0] is not model:
            cache = (model, {})
            self._graph_functions = cache
        if key not in cache[1]:
            cache[1][key] = build(model)
        return cache[1][key]

    def _seed(self) -> None:
        seed = getattr(self, "seed", None)
        if seed is not None:
            keras.utils.set_random_seed(int(seed))

    def _optimizer(
        self, learning_rate: float, clipnorm: float | None
    ) -> keras.optimizers.Optimizer:
        # Gradient clipping is on by default: RNNs suffer exploding gradients.
        kwargs = {"learning_rate": learning_rate}
        if clipnorm:
            kwargs["clipnorm"] = clipnorm
        return keras.optimizers.Adam(**kwargs)

    def _callbacks(
        self,
        *,
        has_validation: bool,
        patience: int | None,
        user_callbacks: Sequence[keras.callbacks.Callback] | None,
        time_budget: float | None = None,
    ) -> list[keras.callbacks.Callback]:
        callbacks: list[keras.callbacks.Callback] = []
        if has_validation and patience:
            callbacks.append(
                keras.callbacks.EarlyStopping(
                    monitor="val_loss", patience=patience, restore_best_weights=True
                )
            )
        if time_budget:
            callbacks.append(TimeBudget(time_budget))
        callbacks.extend(user_callbacks or [])
        return callbacks

    # -- hooks ----------------------------------------------------------------------------------
    def _get_state(self) -> dict:
        return {}

    def _set_state(self, state: dict) -> None:
        del state

    def _serving_endpoints(self) -> dict:
        raise NotImplementedError(f"{type(self).__name__} does not define an export.")

    def _export_track(self) -> list:
        return [self.model_]

    # -- persistence ----------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> None:
        """Saves the fitted pipeline to one `.keras` file, atomically.

        The file is a regular Keras archive (`keras.saving.load_model(path)` returns
        `self.model`) with the pipeline's settings and learned state added, so
        `type(self).load(path)` restores the whole pipeline. An existing file is replaced only
        once the new one is completely written.

        Args:
            path: file name ending in `.keras`.
        """
        self._check_fitted()
        path = os.fspath(path)
        if not path.endswith(".keras"):
            raise ValueError(f"`path` must end with `.keras`, got {path!r}.")
        cls = type(self)
        payload = {
            "format": _FORMAT_VERSION,
            "class": f"{cls.__module__}.{cls.__qualname__}",
            "params": _jsonable_params(self.get_params(deep=False)),
            "state": self._get_state(),
        }
        parent = os.path.dirname(os.path.abspath(path))
        os.makedirs(parent, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".saving-", suffix=".keras", dir=parent)
        os.close(fd)
        try:
            self.model_.save(tmp)
            with zipfile.ZipFile(tmp, "a") as archive:
                archive.writestr(_STATE_ENTRY, json.dumps(payload))
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)

    @classmethod
    def load(cls, path: str | os.PathLike):
        """Loads a pipeline written by `save`.

        Args:
            path: a `.keras` file written by `save` of this pipeline class.

        Returns:
            The fitted pipeline.
        """
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"`path` {path!r} does not exist.")
        try:
            with zipfile.ZipFile(path) as archive:
                payload = json.loads(archive.read(_STATE_ENTRY))
        except (zipfile.BadZipFile, KeyError) as err:
            raise ValueError(
                f"{path!r} is not a file written by `{cls.__name__}.save` ({err}); a plain "
                "Keras model file loads with `keras.saving.load_model`."
            ) from None
        saved_class = payload.get("class", "")
        module_name, _, qualname = saved_class.rpartition(".")
        target = getattr(importlib.import_module(module_name), qualname, None)
        if target is None or not issubclass(target, cls):
            raise ValueError(
                f"{path!r} holds a `{saved_class}`, not a `{cls.__name__}`; load it with "
                f"`{qualname}.load`."
            )
        params = _restored_params(payload["params"])
        for name in target._retired_params:  # settings older versions had; nothing to restore
            params.pop(name, None)
        params = target._upgrade_params(params)
        unknown = sorted(set(params) - set(target._get_param_names()))
        if unknown:
            raise ValueError(
                f"{path!r} was saved with settings {unknown} that this version of "
                f"`{qualname}` does not have: load it with the rnnkit version that saved it."
            )
        obj = target(**params)
        obj.model_ = keras.saving.load_model(path, compile=False)
        obj._set_state(payload["state"])
        return obj

    def export(self, path: str | os.PathLike, *, overwrite: bool = False) -> str:
        """Exports a TensorFlow SavedModel that takes raw inputs and needs no rnnkit to run.

        Args:
            path: folder to write.
            overwrite: replace an existing folder.

        Returns:
            The path written.
        """
        self._check_fitted()
        return export_saved_model(
            path, self._serving_endpoints(), track=self._export_track(), overwrite=overwrite
        )


# Settings that may hold Keras objects (a user's optimizer or loss): saved as Keras configs.
_KERAS_OBJECT_PARAMS = ("optimizer", "loss")
_KERAS_OBJECT_KEY = "__keras_object__"


def _jsonable_params(params: dict) -> dict:
    out = {}
    for key, value in params.items():
        if key == "callbacks":
            value = None  # callbacks are run-time objects, not settings
        elif key in _KERAS_OBJECT_PARAMS and not isinstance(value, str | type(None)):
            try:
                value = {_KERAS_OBJECT_KEY: keras.saving.serialize_keras_object(value)}
                json.dumps(value)
            except (TypeError, ValueError):
                raise TypeError(
                    f"`{key}`={value!r:.60} cannot be saved: pass a Keras object that "
                    "serialises (`keras.saving.register_keras_serializable`), or a name."
                ) from None
        try:
            json.dumps(value)
        except TypeError:
            raise TypeError(
                f"`{key}`={value!r:.60} cannot be saved: settings must be plain Python values "
                "(str, number, bool, None, list, dict)."
            ) from None
        out[key] = value
    return out


def _restored_params(params: dict) -> dict:
    """Undoes `_jsonable_params` for the settings that held Keras objects."""
    out = dict(params)
    for key in _KERAS_OBJECT_PARAMS:
        value = out.get(key)
        if isinstance(value, dict) and _KERAS_OBJECT_KEY in value:
            out[key] = keras.saving.deserialize_keras_object(value[_KERAS_OBJECT_KEY])
    return out
