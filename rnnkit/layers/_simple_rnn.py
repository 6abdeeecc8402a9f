"""Placeholder: being written (see issues 3 and 4)."""

class SimpleRNN:  # placeholder, replaced by the real layer
    pass

class SimpleRNNCell:  # placeholder, replaced by the real layer
    pass

