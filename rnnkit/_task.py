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
import time
import zipfile
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from rnnkit._checks import is_int
from rnnkit.export import export_saved_model

_STATE_ENTRY = "rnnkit.json"
_FORMAT_VERSION = 1


def as_text_list(values: Any, name: str) -> list[str]:
    """Validates a 1-D collection of strings (list, tuple, NumPy array, pandas Series)."""
    if isinstance(values, str | bytes):
        raise TypeError(
            f"`{name}` must be a list of strings, got a single {type(values).__name__}; "
            f"wrap it in a list: [{values!r:.40}]."
        )
    if hasattr(values, "tolist") and not isinstance(values, list):
        values = values.tolist()
    if not isinstance(values, Iterable):
        raise TypeError(f"`{name}` must be a list of strings, got {type(values).__name__}.")
    out = []
    for i, value in enumerate(values):
        if isinstance(value, bytes):
            value = value.decode("utf-8")
        if not isinstance(value, str):
            raise TypeError(
                f"`{name}[{i}]` must be a string, got {type(value).__name__} ({value!r:.60})."
            )
        out.append(value)
    return out


def as_token_lists(values: Any, name: str) -> list[list[str]]:
    """Validates a collection of token lists (each a list of strings)."""
    if isinstance(values, str | bytes):
        raise TypeError(f"`{name}` must be a list of token lists, got a single string.")
    out = []
    for i, tokens in enumerate(values):
        if isinstance(tokens, str | bytes):
            raise TypeError(
                f"`{name}[{i}]` must be a list of tokens, got a string ({tokens!r:.60}); "
                "split it into tokens first."
            )
        out.append(as_text_list(tokens, f"{name}[{i}]"))
    return out


def check_same_length(a: Sequence, b: Sequence, name_a: str, name_b: str) -> None:
    if len(a) != len(b):
        raise ValueError(
            f"`{name_a}` and `{name_b}` must have the same length, got {len(a)} and {len(b)}."
        )
    if len(a) == 0:
        raise ValueError(f"`{name_a}` is empty: pass at least one example.")


def check_choice(value: Any, name: str, choices: Sequence[Any]) -> None:
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {list(choices)}, got {value!r}.")


def check_positive_int(value: Any, name: str, *, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if not is_int(value, minimum=1):
        raise ValueError(f"`{name}` must be a positive integer, got {value!r}.")


def check_fraction(value: Any, name: str, *, upper_inclusive: bool = False) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    ok = ok and 0.0 <= value and (value <= 1.0 if upper_inclusive else value < 1.0)
    if not ok:
        bound = "]" if upper_inclusive else ")"
        raise ValueError(f"`{name}` must be a number in [0, 1{bound}, got {value!r}.")


def check_bool(value: Any, name: str) -> None:
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"`{name}` must be True or False, got {value!r}.")


def check_number(value: Any, name: str, *, minimum: float = 0.0, strict: bool = True) -> None:
    """A real number above `minimum` (or at least `minimum` when `strict=False`)."""
    ok = isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)
    ok = ok and (value > minimum if strict else value >= minimum)
    if not ok:
        sign = ">" if strict else ">="
        raise ValueError(f"`{name}` must be a number {sign} {minimum}, got {value!r}.")


def check_callbacks(callbacks: Any) -> None:
    if callbacks is not None and not all(
        isinstance(cb, keras.callbacks.Callback) for cb in callbacks
    ):
        raise TypeError("`callbacks` must be a list of `keras.callbacks.Callback` instances.")


def check_embeddings_path(path: Any, name: str = "pretrained_embeddings") -> None:
    """None, or the path of an existing GloVe/word2vec text file."""
    if path is None:
        return
    if not isinstance(path, str | os.PathLike):
        raise TypeError(
            f"`{name}` must be the path of a GloVe/word2vec text file, got {type(path).__name__}."
        )
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"`{name}` {os.fspath(path)!r} does not exist; pass the path of a GloVe/word2vec "
            "text file, or None."
        )


def check_vocabulary_size(value: Any, name: str) -> None:
    """A vocabulary size: ids 0-3 are reserved, so at least 5 leaves one real word."""
    check_positive_int(value, name)
    if value < 5:
        raise ValueError(
            f"`{name}` must be >= 5 (ids 0-3 are reserved for padding, [UNK], [START] and "
            f"[END], plus at least one word), got {value}."
        )


class TimeBudget(keras.callbacks.Callback):
    """Stops training once `seconds` of wall time have passed (checked after each batch)."""

    def __init__(self, seconds: float):
        super().__init__()
        self.seconds = float(seconds)
        self.stopped_early = False

    def on_train_begin(self, logs=None):
        self._start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if time.perf_counter() - self._start > self.seconds:
            self.stopped_early = True
            self.model.stop_training = True


class MovingAverage(keras.callbacks.Callback):
    """Keeps an exponential moving average of the model's trainable weights during `fit`.

    Polyak averaging as `tf.train.ExponentialMovingAverage(num_updates=...)` does it: after
    training step t the average moves towards the weights with the decay
    `min(momentum, (1 + t) / (10 + t))`, so early, fast-changing weights are forgotten quickly
    and a short run is not dominated by its initial weights. The average is updated every
    `every` batches with the decays of those steps multiplied together (the weights of the
    steps in between are not read): one pass over the weights per `every` steps instead of
    Keras's `use_ema`, which updates in every step (about 10% of a translation training step
    on 2 CPU cores). Training's last steps are folded in at the end of `fit`.

    `average()` returns the averaged weights (NumPy arrays in `model.trainable_weights` order);
    `weights(model)` and `assign(model, arrays)` read and write such a list.
    """

    def __init__(self, momentum: float, every: int = 50):
        super().__init__()
        if not 0 < momentum < 1:
            raise ValueError(f"`momentum` must be in (0, 1), got {momentum!r}.")
        self.momentum = float(momentum)
        self.every = int(every)
        self._average: list[tf.Variable] = []

    def decay(self, first: int, last: int) -> float:
        """The product of the per-step decays of training steps `first` ... `last - 1`."""
        steps = np.arange(first, last, dtype="float64")
        return float(np.prod(np.minimum(self.momentum, (1 + steps) / (10 + steps))))

    def on_train_begin(self, logs=None):
        variables = [v.value for v in self.model.trainable_weights]
        self._average = [tf.Variable(v, trainable=False) for v in variables]
        self._step = self._folded = 0

        @tf.function
        def fold(decay):
            for average, variable in zip(self._average, variables, strict=True):
                average.assign(decay * average + (1.0 - decay) * variable)

        self._fold = fold

    def _fold_steps(self) -> None:
        if self._step > self._folded:
            self._fold(tf.constant(self.decay(self._folded, self._step), "float32"))
            self._folded = self._step

    def on_train_batch_end(self, batch, logs=None):
        self._step += 1
        if self._step % self.every == 0:
            self._fold_steps()

    def on_train_end(self, logs=None):
        self._fold_steps()

    def average(self) -> list[np.ndarray]:
        return [np.array(v.numpy()) for v in self._average]

    @staticmethod
    def weights(model: keras.Model) -> list[np.ndarray]:
        return [np.array(v.numpy()) for v in model.trainable_weights]

    @staticmethod
    def assign(model: keras.Model, arrays: list[np.ndarray]) -> None:
        for variable, array in zip(model.trainable_weights, arrays, strict=True):
            variable.assign(array)


class LinearDecay(keras.callbacks.Callback):
    """Holds the learning rate at `rate`, then decays it linearly to 0 by the end of training.

    The run's progress is the larger of the share of `epochs` done and the share of
    `time_budget` seconds spent (when given), so the rate reaches 0 when the first of the
    two limits ends training, on a fast machine and on a slow one alike. The rate stays at
    `rate` for the first `hold` of the run. Updated before every batch. Batches per epoch
    are Keras's `steps` when known, else counted in the first epoch (which then decays with
    time only). With `epoch_decay`, the rate held is also multiplied by it after every epoch
    (`rate * epoch_decay**epoch`), so the linear part is a cool-down at the end of an
    exponential decay.
    """

    def __init__(
        self,
        rate: float,
        epochs: int,
        time_budget: float | None = None,
        hold: float = 0.0,
        epoch_decay: float = 1.0,
    ):
        super().__init__()
        if not 0 <= hold < 1:
            raise ValueError(f"`hold` must be in [0, 1), got {hold!r}.")
        self.rate = float(rate)
        self.epochs = int(epochs)
        self.time_budget = float(time_budget) if time_budget else None
        self.hold = float(hold)
        self.epoch_decay = float(epoch_decay)

    def on_train_begin(self, logs=None):
        self._start = time.perf_counter()
        self._steps = self.params.get("steps") if self.params else None
        self._epoch = 0
        self._seen = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._seen = 0

    def on_epoch_end(self, epoch, logs=None):
        self._steps = self._steps or self._seen
        if logs is not None:  # in the history, as keras.callbacks.LearningRateScheduler does
            logs["learning_rate"] = float(np.asarray(self.model.optimizer.learning_rate))

    def progress(self, batch: int = 0) -> float:
        """The share of the run done before `batch` of the current epoch, in [0, 1]."""
        done = self._epoch + (min(batch / self._steps, 1.0) if self._steps else 0.0)
        share = done / self.epochs
        if self.time_budget:
            share = max(share, (time.perf_counter() - self._start) / self.time_budget)
        return min(share, 1.0)

    def on_train_batch_end(self, batch, logs=None):
        # Counted at the end: Keras begins one batch more than an unsized dataset holds.
        self._seen = batch + 1

    def on_train_batch_begin(self, batch, logs=None):
        decayed = (self.progress(batch) - self.hold) / (1.0 - self.hold)
        rate = self.rate * self.epoch_decay**self._epoch
        self.model.optimizer.learning_rate = rate * (1.0 - max(decayed, 0.0))


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
        params = dict(payload["params"])
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


def _jsonable_params(params: dict) -> dict:
    out = {}
    for key, value in params.items():
        if key == "callbacks":
            value = None  # callbacks are run-time objects, not settings
        try:
            json.dumps(value)
        except TypeError:
            raise TypeError(
                f"`{key}`={value!r:.60} cannot be saved: settings must be plain Python values "
                "(str, number, bool, None, list, dict)."
            ) from None
        out[key] = value
    return out
