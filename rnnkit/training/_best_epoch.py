"""Early stopping on any score computed after each epoch, keeping the best epoch's weights."""

from __future__ import annotations

import math
from collections.abc import Callable

import keras

from rnnkit.checks import check_positive_int


class BestEpoch(keras.callbacks.Callback):
    """Scores the model after each epoch with `score()`, keeps the best weights, stops early.

    Unlike `keras.callbacks.EarlyStopping` on a logged loss, the score can be what the model
    is judged by (entity F1, token accuracy), computed by any Python function. Higher is
    better. The score is logged as `name`; at the end of training the best epoch's weights
    are restored (`best`, `best_epoch` say which).

    Args:
        score: called after every epoch, returns a float (higher is better).
        patience: epochs without a better score before training stops; None: never stops.
        name: the key the score is logged under.

    Example:
    >>> import numpy as np
    >>> model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    >>> model.compile("sgd", "mse")
    >>> scores = iter([0.5, 0.9, 0.7, 0.6])
    >>> best = BestEpoch(lambda: next(scores), patience=2)
    >>> x = np.ones((4, 1))
    >>> history = model.fit(x, x, epochs=4, callbacks=[best], verbose=0)
    >>> best.best, best.best_epoch, history.history["val_score"]
    (0.9, 1, [0.5, 0.9, 0.7, 0.6])
    """

    def __init__(self, score: Callable[[], float], patience: int | None, name: str = "val_score"):
        super().__init__()
        check_positive_int(patience, "patience", allow_none=True)
        self.score, self.patience, self.name = score, patience, name

    def on_train_begin(self, logs=None):
        self.best, self.best_weights, self.best_epoch, self.wait = -math.inf, None, None, 0

    def on_epoch_end(self, epoch, logs=None):
        score = float(self.score())
        if logs is not None:
            logs[self.name] = score
        if score > self.best:
            self.best, self.wait = score, 0
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        else:
            self.wait += 1
            if self.patience and self.wait >= self.patience:
                self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)
