"""Recurrent layers by name, so that every pipeline accepts the same `cell=` strings."""

from __future__ import annotations

from rnnkit.checks import check_choice
from rnnkit.layers._gru import GRU
from rnnkit.layers._lstm import LSTM
from rnnkit.layers._simple_rnn import SimpleRNN

# name -> layer class; new recurrent layers register here (one line each).
RECURRENT_LAYERS: dict[str, type] = {"gru": GRU, "lstm": LSTM, "simple_rnn": SimpleRNN}


def recurrent_layer(cell: str, *, name: str = "cell", choices=None) -> type:
    """The rnnkit recurrent layer class called `cell` (`"gru"`, `"lstm"`, `"simple_rnn"`, ...).

    Args:
        cell: the layer's name.
        name: the argument name used in the error message.
        choices: the names allowed (default: every registered layer).

    Returns:
        The layer class (an `RNN` subclass taking `units` and Keras's RNN arguments).

    Example:
    >>> recurrent_layer("gru").__name__
    'GRU'
    """
    check_choice(cell, name, list(choices or RECURRENT_LAYERS))
    return RECURRENT_LAYERS[cell]
