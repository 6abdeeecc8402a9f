"""Training callbacks shared by every pipeline: time budget, weight averaging, learning-rate decay."""

from __future__ import annotations

import time

import keras
import numpy as np
import tensorflow as tf


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

    def build(self, model: keras.Model) -> None:
        """Creates the average's variables for `model` (call it where the model's are made)."""
        variables = [v.value for v in model.trainable_weights]
        self._average = [tf.Variable(v, trainable=False) for v in variables]
        self._variables = variables
        self._built_for = model

    def on_train_begin(self, logs=None):
        if getattr(self, "_built_for", None) is not self.model:
            self.build(self.model)
        else:  # start from the weights training starts with
            for average, variable in zip(self._average, self._variables, strict=True):
                average.assign(variable)
        variables = self._variables
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
