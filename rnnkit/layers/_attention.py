"""Placeholder: being written (see issues 3 and 4)."""

class BahdanauAttention:  # placeholder, replaced by the real layer
    pass

class LuongAttention:  # placeholder, replaced by the real layer
    pass

