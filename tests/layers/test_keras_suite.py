"""Keras's own LSTM / GRU / SimpleRNN test files, run with rnnkit's layers swapped in.

The files in `keras_suite/` are Keras's tests at the installed version's tag, unchanged (see
`keras_suite/README.md`). Each is executed as a module whose `layers` name is Keras's
`layers` package with `LSTM`, `GRU`, `SimpleRNN` and their cells replaced by rnnkit's, so every
`layers.GRU(...)` in them builds rnnkit's GRU; their `unittest` test classes are then
collected here. Marked `slow` (about a minute).
"""

import types
from pathlib import Path

import keras
import pytest

from rnnkit import layers as rnnkit_layers

SUITE = Path(__file__).parent / "keras_suite"
SWAPPED = ("GRU", "GRUCell", "LSTM", "LSTMCell", "SimpleRNN", "SimpleRNNCell")
SUITE_VERSION = "3.15.1"


class _SwappedLayers(types.ModuleType):
    """Keras's `layers` namespace, with rnnkit's recurrent layers and cells in place of Keras's."""

    def __init__(self, keras_layers):
        super().__init__("swapped_layers")
        self._keras_layers = keras_layers
        for name in SWAPPED:
            setattr(self, name, getattr(rnnkit_layers, name))

    def __getattr__(self, name):
        return getattr(self._keras_layers, name)


def _load(stem):
    source = (SUITE / f"{stem}_test.py.txt").read_text()
    module = types.ModuleType(f"keras_suite_{stem}_test")
    module.__file__ = str(SUITE / f"{stem}_test.py.txt")
    exec(compile(source, module.__file__, "exec"), module.__dict__)
    # The test methods look `layers` up at call time, in the module's globals.
    module.layers = _SwappedLayers(module.layers)
    return module


if keras.__version__ != SUITE_VERSION:
    pytest.skip(
        f"keras_suite/ holds Keras {SUITE_VERSION}'s tests, Keras {keras.__version__} is "
        "installed: refresh the files from that tag (keras_suite/README.md)",
        allow_module_level=True,
    )

pytestmark = pytest.mark.slow

LSTMTest = _load("lstm").LSTMTest
GRUTest = _load("gru").GRUTest
SimpleRNNTest = _load("simple_rnn").SimpleRNNTest


def test_the_swap_reaches_the_tests():
    # Guards against a suite that silently tests Keras's own layers.
    for test_class, name in [(LSTMTest, "LSTM"), (GRUTest, "GRU"), (SimpleRNNTest, "SimpleRNN")]:
        module_layers = test_class.test_basics.__globals__["layers"]
        assert getattr(module_layers, name) is getattr(rnnkit_layers, name)
        assert module_layers.Dense is keras.layers.Dense
