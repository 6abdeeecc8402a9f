"""The one training runner every pipeline shares: build -> compile -> fit -> choose weights."""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import keras

from rnnkit.checks import check_callbacks, check_fraction, check_number, check_positive_int
from rnnkit.training._callbacks import MovingAverage, TimeBudget

__all__ = ["Trainer", "resolve_loss", "resolve_optimizer"]


def resolve_optimizer(
    optimizer: Any, *, learning_rate: float = 1e-3, clipnorm: float | None = None
) -> keras.optimizers.Optimizer:
    """The optimizer of one training run.

    Args:
        optimizer: `"auto"` (Adam with `learning_rate` and gradient clipping by `clipnorm`:
            RNNs suffer exploding gradients), a Keras optimizer name (`"sgd"`, made with
            `learning_rate`), or a `keras.optimizers.Optimizer`. An instance is copied from its
            config, so one facade can be fitted again (a Keras optimizer is tied to the
            variables it first updated).
        learning_rate: the rate of `"auto"` and of a named optimizer.
        clipnorm: gradient norm clipping of `"auto"`; None or 0: none.

    Returns:
        A new `keras.optimizers.Optimizer`.

    Example:
    >>> resolve_optimizer("auto", learning_rate=0.01, clipnorm=1.0).clipnorm
    1.0
    >>> type(resolve_optimizer(keras.optimizers.SGD(0.1))).__name__
    'SGD'
    """
    if isinstance(optimizer, keras.optimizers.Optimizer):
        return type(optimizer).from_config(optimizer.get_config())
    if optimizer == "auto":
        kwargs = {"learning_rate": learning_rate}
        if clipnorm:
            kwargs["clipnorm"] = clipnorm
        return keras.optimizers.Adam(**kwargs)
    if isinstance(optimizer, str):
        try:
            made = keras.optimizers.get(optimizer)
        except ValueError:
            raise ValueError(
                f"`optimizer` must be 'auto', a Keras optimizer name (e.g. 'sgd', 'adam') or a "
                f"`keras.optimizers.Optimizer`, got {optimizer!r}."
            ) from None
        made.learning_rate = learning_rate
        return made
    raise TypeError(
        "`optimizer` must be 'auto', a Keras optimizer name or a `keras.optimizers.Optimizer`, "
        f"got {type(optimizer).__name__}."
    )


def resolve_loss(loss: Any, default: Any) -> Any:
    """`default` for `"auto"`, else the user's loss (a Keras loss, its name, or a callable).

    Example:
    >>> resolve_loss("auto", "mse"), resolve_loss("mae", "mse")
    ('mse', 'mae')
    """
    if isinstance(loss, str) and loss == "auto":
        return default
    if isinstance(loss, str):
        try:
            keras.losses.get(loss)
        except ValueError:
            raise ValueError(
                f"`loss` must be 'auto', a Keras loss name, a `keras.losses.Loss` or a callable "
                f"`loss(y_true, y_pred)`, got {loss!r}."
            ) from None
        return loss
    if isinstance(loss, keras.losses.Loss) or callable(loss):
        return loss
    raise TypeError(
        "`loss` must be 'auto', a Keras loss name, a `keras.losses.Loss` or a callable "
        f"`loss(y_true, y_pred)`, got {type(loss).__name__}."
    )


def is_auto(value: Any) -> bool:
    return isinstance(value, str) and value == "auto"


class Trainer:
    """One training run of a Keras model, in four steps: build, compile, fit, choose weights.

    `build` creates the model, its optimizer and every other variable of the run (the moving
    average of the weights too) in one place, `scope()`, which a `tf.distribute` strategy's
    scope can wrap. `fit` runs Keras's `fit` with the run's callbacks: early stopping on
    `monitor`, the time budget, the moving average and the user's callbacks. `choose_weights`
    keeps the final or the averaged weights, whichever scores better.

    Args:
        optimizer: see `resolve_optimizer` (`"auto"`: Adam with `learning_rate`, `clipnorm`).
        loss: `"auto"` (the pipeline's own loss, given to `build`) or the user's loss.
        metrics: metrics to compile with; `"auto"`: the pipeline's own (given to `build`).
        learning_rate: rate of the `"auto"` optimizer.
        clipnorm: gradient clipping of the `"auto"` optimizer.
        epochs: most epochs.
        patience: epochs without a better `monitor` before training stops and the best
            weights return (needs validation data); None or 0: no early stopping.
        monitor: the logged quantity early stopping watches.
        time_budget: seconds after which training stops (checked after every batch), counted
            from `start`; None: no limit.
        start: `time.perf_counter()` at which the budget started (default: when `Trainer`
            was made), so work before training (vocabularies, batching) can count.
        ema_momentum: keep a moving average of the weights (`MovingAverage`); None or 0: no.
        callbacks: the user's Keras callbacks, run after the runner's own.
        verbose: Keras `fit` verbosity.

    Example:
    >>> import numpy as np
    >>> trainer = Trainer(epochs=2, learning_rate=0.1, verbose=0)
    >>> def make():
    ...     return keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    >>> model = trainer.build(make, loss="mse")
    >>> x = np.ones((8, 3), "float32")
    >>> len(trainer.fit(model, (x, np.zeros((8, 1)))).history["loss"])
    2
    """

    def __init__(
        self,
        *,
        optimizer: Any = "auto",
        loss: Any = "auto",
        metrics: Any = "auto",
        learning_rate: float = 1e-3,
        clipnorm: float | None = None,
        epochs: int = 1,
        patience: int | None = None,
        monitor: str = "val_loss",
        time_budget: float | None = None,
        start: float | None = None,
        ema_momentum: float | None = None,
        callbacks: Sequence[keras.callbacks.Callback] | None = None,
        verbose: int | str = "auto",
    ):
        check_number(learning_rate, "learning_rate")
        check_positive_int(epochs, "epochs")
        check_positive_int(patience, "patience", allow_none=True) if patience else None
        if time_budget is not None:
            check_number(time_budget, "time_budget")
        if ema_momentum:
            check_fraction(ema_momentum, "ema_momentum")
        check_callbacks(callbacks)
        self.optimizer = optimizer
        self.loss = loss
        self.metrics = metrics
        self.learning_rate = learning_rate
        self.clipnorm = clipnorm
        self.epochs = int(epochs)
        self.patience = patience
        self.monitor = monitor
        self.time_budget = time_budget
        self.start = time.perf_counter() if start is None else start
        self.ema_momentum = ema_momentum
        self.callbacks = list(callbacks or [])
        self.verbose = verbose
        self.average: MovingAverage | None = None
        self.time_budget_callback: TimeBudget | None = None

    @property
    def custom_loss(self) -> bool:
        """Whether the user passed a loss of their own (the model then trains with it)."""
        return not is_auto(self.loss)

    def scope(self) -> contextlib.AbstractContextManager:
        """The context in which the run's variables are created."""
        return contextlib.nullcontext()

    def build(
        self,
        make_model: Callable[[], keras.Model],
        *,
        loss: Any,
        metrics: Any = None,
        **compile_kwargs: Any,
    ) -> keras.Model:
        """Makes the model (`make_model()`), compiles it and creates the run's variables.

        Args:
            make_model: builds the model to train (every weight created).
            loss: the pipeline's own loss, used when the runner's `loss` is `"auto"`.
            metrics: the pipeline's own metrics, used when the runner's `metrics` is `"auto"`.
            **compile_kwargs: more `model.compile` arguments.

        Returns:
            The compiled model.
        """
        with self.scope():
            model = make_model()
            model.compile(
                optimizer=resolve_optimizer(
                    self.optimizer, learning_rate=self.learning_rate, clipnorm=self.clipnorm
                ),
                loss=resolve_loss(self.loss, loss),
                metrics=metrics if is_auto(self.metrics) else self.metrics,
                **compile_kwargs,
            )
            if self.ema_momentum:
                self.average = MovingAverage(self.ema_momentum)
                self.average.build(model)
        return model

    def remaining_budget(self) -> float | None:
        """Seconds left of `time_budget` (at least a millisecond), or None without one."""
        if not self.time_budget:
            return None
        return max(1e-3, self.time_budget - (time.perf_counter() - self.start))

    def run_callbacks(
        self,
        *,
        has_validation: bool,
        first: Sequence[keras.callbacks.Callback] = (),
    ) -> list[keras.callbacks.Callback]:
        """The run's callbacks in order: `first`, moving average, early stopping, budget, user's."""
        callbacks: list[keras.callbacks.Callback] = list(first)
        if self.average is not None:
            # Before EarlyStopping, so that it folds in the last trained weights before
            # EarlyStopping's `on_train_end` restores those of the best epoch.
            callbacks.append(self.average)
        if has_validation and self.patience:
            callbacks.append(
                keras.callbacks.EarlyStopping(
                    monitor=self.monitor, patience=self.patience, restore_best_weights=True
                )
            )
        budget = self.remaining_budget()
        self.time_budget_callback = TimeBudget(budget) if budget else None
        if self.time_budget_callback is not None:
            callbacks.append(self.time_budget_callback)
        callbacks.extend(self.callbacks)
        return callbacks

    def fit(
        self,
        model: keras.Model,
        train: Any,
        validation_data: Any = None,
        *,
        first_callbacks: Sequence[keras.callbacks.Callback] = (),
        **fit_kwargs: Any,
    ) -> keras.callbacks.History:
        """Trains `model` (from `build`) on `train` (a dataset, or `(x, y)`).

        Args:
            model: the compiled model.
            train: a `tf.data.Dataset` of batches, or `(x, y)` arrays.
            validation_data: the same for validation (early stopping, `val_` logs).
            first_callbacks: the pipeline's own callbacks, run before the runner's.
            **fit_kwargs: more `model.fit` arguments.

        Returns:
            Keras's `History`.
        """
        callbacks = self.run_callbacks(
            has_validation=validation_data is not None, first=first_callbacks
        )
        if isinstance(train, tuple):
            x, y = train
            fit_kwargs = {"x": x, "y": y, **fit_kwargs}
        else:
            fit_kwargs = {"x": train, "shuffle": False, **fit_kwargs}
        with warnings.catch_warnings():
            # Bucketed datasets of unknown length end their epoch by running out of data,
            # which Keras reports after the first epoch; that is how the epoch ends.
            warnings.filterwarnings("ignore", message="Your input ran out of data")
            return model.fit(
                validation_data=validation_data,
                epochs=self.epochs,
                verbose=self.verbose,
                callbacks=callbacks,
                **fit_kwargs,
            )

    def choose_weights(
        self, model: keras.Model, score: Callable[[], float] | None
    ) -> tuple[str, dict[str, float]]:
        """Keeps the final or the moving-average weights, whichever `score()` finds lower.

        Without a moving average the final weights stay; without `score` the average is kept
        (Polyak averaging usually scores better: it smooths the last steps' noise).

        Returns:
            `(kept, scores)`: `"final"` or `"moving average"`, and the score of each.
        """
        if self.average is None:
            return "final", {}
        if score is None:
            MovingAverage.assign(model, self.average.average())
            return "moving average", {}
        candidates = {
            "final": MovingAverage.weights(model),
            "moving average": self.average.average(),
        }
        scores = {}
        for name, arrays in candidates.items():
            MovingAverage.assign(model, arrays)
            scores[name] = float(score())
        kept = min(scores, key=scores.get)
        MovingAverage.assign(model, candidates[kept])
        return kept, scores
