"""Training: the one runner every pipeline shares, its callbacks, and the facade base class.

`Trainer` runs build -> compile -> fit -> choose weights; `Task` is the scikit-learn style
base of the pipeline facades (fit / predict / evaluate / save / load / export).
"""

from rnnkit.training._best_epoch import BestEpoch
from rnnkit.training._callbacks import LinearDecay, MovingAverage, TimeBudget
from rnnkit.training._runner import Trainer, resolve_loss, resolve_optimizer
from rnnkit.training._task import Task

__all__ = [
    "BestEpoch",
    "LinearDecay",
    "MovingAverage",
    "Task",
    "TimeBudget",
    "Trainer",
    "resolve_loss",
    "resolve_optimizer",
]
