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
import zipfile
import zlib
from collections.abc import Callable
from typing import Any

import keras
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from rnnkit import checks
from rnnkit._files import atomic_path
from rnnkit.export import export_saved_model

_STATE_ENTRY = "rnnkit.json"
_FORMAT_VERSION = 1
_PAYLOAD_KEYS = {"format": int, "class": str, "params": dict, "state": dict}

# The classes `Task.load` may import, by the name a file gives (`module.qualname`). A file is a
# user's input: importing a module it names would run that module's code, so nothing outside
# this list (and the `Task` subclasses already defined in this process) is ever imported.
PIPELINE_CLASSES = frozenset(
    {
        "pipelines.captioning.ImageCaptioner",
        "pipelines.sentiment.SentimentClassifier",
        "pipelines.tagging.SequenceTagger",
        "pipelines.translation.Translator",
    }
)
# Every `Task` subclass defined so far, by the same name: loading one imports nothing.
_DEFINED: dict[str, type] = {}


class Task(BaseEstimator):
    """Base class of the pipeline facades (see the module docstring)."""

    # Settings a pipeline no longer has: `load` drops them from files saved with them.
    _retired_params: frozenset[str] = frozenset()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _DEFINED[f"{cls.__module__}.{cls.__qualname__}"] = cls

    @classmethod
    def _upgrade_params(cls, params: dict) -> dict:
        """Fills in settings that files saved by older versions lack, as those versions had them.

        Files saved before facades took `optimizer` and `loss` trained with the "auto" ones.
        """
        names = cls._get_param_names()
        for name in ("optimizer", "loss"):
            if name in names:
                params.setdefault(name, "auto")
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
        seed = checks.check_seed(getattr(self, "seed", None))
        if seed is not None:
            keras.utils.set_random_seed(seed)

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
    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> None:
        """Saves the fitted pipeline to one `.keras` file, atomically.

        The file is a regular Keras archive (`keras.saving.load_model(path)` returns
        `self.model`) with the pipeline's settings and learned state added, so
        `type(self).load(path)` restores the whole pipeline. It is written under a temporary
        name in the same folder, flushed to disk and renamed into place only once complete:
        an interrupted save leaves any existing file as it was (and the temporary of a killed
        process is removed by the next save there).

        Args:
            path: file name ending in `.keras`.
            overwrite: replace an existing file; without it an existing `path` is refused.
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
        state = json.dumps(payload)
        with atomic_path(path, overwrite=overwrite) as tmp:
            self.model_.save(tmp)
            with zipfile.ZipFile(tmp, "a") as archive:
                archive.writestr(_STATE_ENTRY, state)

    @classmethod
    def load(cls, path: str | os.PathLike):
        """Loads a pipeline written by `save`.

        Only rnnkit's own pipeline classes (and `Task` subclasses already defined in this
        process) are loaded: the class a file names is checked before anything is imported,
        and the Keras model in it is read with Keras's `safe_mode` (no Python code from
        the file is run).

        Args:
            path: a `.keras` file written by `save` of this pipeline class.

        Returns:
            The fitted pipeline.

        Raises:
            FileNotFoundError: no such file.
            ValueError: the file is not one `save` wrote, or is corrupt, truncated or
                incomplete (the message names the file and what is wrong).
        """
        path = os.fspath(path)
        payload = _read_payload(path, cls)
        target = _resolve_class(path, payload["class"], cls)
        try:
            params = _restored_params(payload["params"])
        except Exception as err:  # a Keras config that does not deserialise
            raise _bad_file(path, f"its saved optimizer/loss cannot be rebuilt ({err})") from None
        qualname = target.__qualname__
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
        try:
            obj.model_ = keras.saving.load_model(path, compile=False, safe_mode=True)
        except Exception as err:  # h5py, zip and Keras config errors: the file is damaged
            reason = str(err).strip().splitlines()[0] if str(err).strip() else ""
            raise _bad_file(
                path,
                f"its Keras model cannot be read ({type(err).__name__}: {reason:.200}); the "
                "file is damaged or truncated: save the pipeline again",
            ) from None
        try:
            obj._set_state(payload["state"])
        except (KeyError, TypeError, ValueError, IndexError) as err:
            raise _bad_file(
                path, f"its learned state is incomplete ({type(err).__name__}: {err})"
            ) from None
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


# Settings that may hold Keras objects (a user's optimizer, loss or image backbone): saved as
# Keras configs.
_KERAS_OBJECT_PARAMS = ("optimizer", "loss", "backbone")
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


def _bad_file(path: str, what: str) -> ValueError:
    return ValueError(f"Cannot load {path!r}: {what}.")


def _read_payload(path: str, cls: type) -> dict:
    """The checked `rnnkit.json` of a file `save` wrote; one clear error for anything else."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"`path` {path!r} does not exist.")
    if os.path.isdir(path):
        raise _bad_file(
            path,
            f"it is a folder, not a `.keras` file written by `{cls.__name__}.save` (an "
            "exported SavedModel folder loads with `tf.saved_model.load`)",
        )
    plain = "a plain Keras model file loads with `keras.saving.load_model`"
    try:
        with zipfile.ZipFile(path) as archive:
            if _STATE_ENTRY not in archive.namelist():
                raise _bad_file(
                    path,
                    f"it is not a file written by `{cls.__name__}.save` (it has no {_STATE_ENTRY}); "
                    + plain,
                )
            raw = archive.read(_STATE_ENTRY)
    except zipfile.BadZipFile as err:
        raise _bad_file(
            path,
            f"it is not a `.keras` archive written by `{cls.__name__}.save` ({err}); it is "
            "truncated, damaged or another kind of file",
        ) from None
    except (OSError, EOFError, zlib.error, RuntimeError, NotImplementedError) as err:
        raise _bad_file(
            path, f"its {_STATE_ENTRY} cannot be read ({err}); the file is damaged"
        ) from None
    try:
        payload = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise _bad_file(path, f"its {_STATE_ENTRY} is not valid JSON ({err})") from None
    if not isinstance(payload, dict):
        raise _bad_file(path, f"its {_STATE_ENTRY} is not a JSON object")
    for key, kind in _PAYLOAD_KEYS.items():
        if key not in payload:
            raise _bad_file(path, f"its {_STATE_ENTRY} lacks {key!r}; the file is incomplete")
        if not isinstance(payload[key], kind) or isinstance(payload[key], bool):
            raise _bad_file(
                path,
                f"{_STATE_ENTRY}[{key!r}] must be a {kind.__name__}, found "
                f"{type(payload[key]).__name__}",
            )
    if payload["format"] > _FORMAT_VERSION:
        raise _bad_file(
            path,
            f"it was written in format {payload['format']} by a newer rnnkit (this one reads "
            f"up to {_FORMAT_VERSION}); upgrade rnnkit",
        )
    return payload


def _resolve_class(path: str, saved_class: str, cls: type) -> type:
    """The class a file names, checked against the allow-list BEFORE anything is imported."""
    target = _DEFINED.get(saved_class)
    if target is None:
        if saved_class not in PIPELINE_CLASSES:
            raise _bad_file(
                path,
                f"it names the class {saved_class!r}, which is not an rnnkit pipeline "
                f"({sorted(PIPELINE_CLASSES)}); rnnkit imports nothing else from a file. "
                "For your own `Task` subclass, import it before calling `load`",
            )
        module_name, _, qualname = saved_class.rpartition(".")
        target = getattr(importlib.import_module(module_name), qualname)
    if not issubclass(target, cls):
        raise ValueError(
            f"{path!r} holds a `{saved_class}`, not a `{cls.__name__}`; load it with "
            f"`{target.__qualname__}.load`."
        )
    return target


def _restored_params(params: dict) -> dict:
    """Undoes `_jsonable_params` for the settings that held Keras objects."""
    out = dict(params)
    for key in _KERAS_OBJECT_PARAMS:
        value = out.get(key)
        if isinstance(value, dict) and _KERAS_OBJECT_KEY in value:
            out[key] = keras.saving.deserialize_keras_object(
                value[_KERAS_OBJECT_KEY], safe_mode=True
            )
    return out
