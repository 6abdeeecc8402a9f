"""Placeholder: being written (see issues 3 and 4)."""

class LSTM:  # placeholder, replaced by the real layer
    pass

class LSTMCell:  # placeholder, replaced by the real layer
    pass

