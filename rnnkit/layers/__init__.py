"""Recurrent cells and layers, attention, CRF and the text-model layers, written with `keras.ops`."""

from rnnkit.layers._attention import BahdanauAttention, LuongAttention
from rnnkit.layers._character_word_encoder import CharacterWordEncoder
from rnnkit.layers._crf import CRF
from rnnkit.layers._decoder import AttentionDecoder
from rnnkit.layers._entity_bias import EntityBias
from rnnkit.layers._gru import GRU, GRUCell
from rnnkit.layers._lstm import LSTM, LSTMCell
from rnnkit.layers._masked_argmax import MaskedArgmax
from rnnkit.layers._masked_pooling import MaskedPooling1D
from rnnkit.layers._minimal import MinGRU, MinGRUCell, MinLSTM, MinLSTMCell
from rnnkit.layers._registry import RECURRENT_LAYERS, recurrent_layer, state_count
from rnnkit.layers._sequence_length import SequenceLength
from rnnkit.layers._simple_rnn import SimpleRNN, SimpleRNNCell
from rnnkit.layers._word_dropout import WordDropout

__all__ = [
    "AttentionDecoder",
    "BahdanauAttention",
    "CRF",
    "CharacterWordEncoder",
    "EntityBias",
    "GRU",
    "GRUCell",
    "LSTM",
    "LSTMCell",
    "LuongAttention",
    "MaskedArgmax",
    "MaskedPooling1D",
    "MinGRU",
    "MinGRUCell",
    "MinLSTM",
    "MinLSTMCell",
    "RECURRENT_LAYERS",
    "SequenceLength",
    "SimpleRNN",
    "SimpleRNNCell",
    "WordDropout",
    "recurrent_layer",
    "state_count",
]
