"""rnnkit: recurrent-network NLP toolkit on Keras 3."""

from rnnkit._quiet import quiet_tensorflow_startup

quiet_tensorflow_startup()

from rnnkit import (  # noqa: E402
    baselines,
    checks,
    data,
    datasets,
    diagnostics,
    export,
    generation,
    layers,
    losses,
    metrics,
    models,
    training,
)

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "baselines",
    "checks",
    "data",
    "datasets",
    "diagnostics",
    "export",
    "generation",
    "layers",
    "losses",
    "metrics",
    "models",
    "training",
]
