"""Recurrent cells and layers, attention and CRF, written with `keras.ops`."""

from rnnkit.layers._attention import BahdanauAttention, LuongAttention
from rnnkit.layers._crf import CRF
from rnnkit.layers._decoder import AttentionDecoder
from rnnkit.layers._gru import GRU, GRUCell
from rnnkit.layers._lstm import LSTM, LSTMCell
from rnnkit.layers._minimal import MinGRU, MinGRUCell, MinLSTM, MinLSTMCell
from rnnkit.layers._registry import RECURRENT_LAYERS, recurrent_layer, state_count
from rnnkit.layers._simple_rnn import SimpleRNN, SimpleRNNCell

__all__ = [
    "AttentionDecoder",
    "BahdanauAttention",
    "CRF",
    "GRU",
    "GRUCell",
    "LSTM",
    "LSTMCell",
    "LuongAttention",
    "MinGRU",
    "MinGRUCell",
    "MinLSTM",
    "MinLSTMCell",
    "RECURRENT_LAYERS",
    "SimpleRNN",
    "SimpleRNNCell",
    "recurrent_layer",
    "state_count",
]
