"""rnnkit: recurrent-network NLP toolkit on Keras 3."""

from rnnkit._quiet import quiet_tensorflow_startup

quiet_tensorflow_startup()

from rnnkit import data, datasets, export, layers  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "data",
    "datasets",
    "export",
    "layers",
]
