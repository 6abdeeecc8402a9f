"""Placeholder: being written (see issues 3 and 4)."""

class GRU:  # placeholder, replaced by the real layer
    pass

class GRUCell:  # placeholder, replaced by the real layer
    pass

