"""Recurrent layers by name, so that every pipeline accepts the same `cell=` strings."""

from __future__ import annotations

from rnnkit.checks import check_choice
from rnnkit.layers._gru import GRU
from rnnkit.layers._lstm import LSTM
from rnnkit.layers._minimal import MinGRU, MinLSTM
from rnnkit.layers._simple_rnn import SimpleRNN

# name -> layer class; new recurrent layers register here (one line each).
RECURRENT_LAYERS: dict[str, type] = {
    "gru": GRU,
    "lstm": LSTM,
    "mingru": MinGRU,
    "minlstm": MinLSTM,
    "simple_rnn": SimpleRNN,
}
# States each layer carries when it is not 1 (an LSTM's h and c; a MinLSTM has only h).
_STATE_COUNTS: dict[str, int] = {"lstm": 2}


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


def state_count(cell: str) -> int:
    """How many state tensors a recurrent layer called `cell` carries (an LSTM: 2, h and c).

    Example:
    >>> state_count("lstm"), state_count("gru")
    (2, 1)
    """
    recurrent_layer(cell)
    return _STATE_COUNTS.get(cell, 1)
