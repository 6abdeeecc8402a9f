"""Placeholder: being written (see issues 3 and 4)."""

class CRF:  # placeholder, replaced by the real layer
    pass

