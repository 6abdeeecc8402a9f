"""Argument checks shared by every module: standard library only, so the layers use them too."""

import numbers
from typing import Any


def is_int(value: Any, minimum: int | None = None) -> bool:
    """Whether `value` is an integer (Python or NumPy, not a bool), and at least `minimum`.

    Example:
    >>> is_int(3, minimum=1), is_int(0, minimum=1), is_int(True), is_int(2.0)
    (True, False, False, False)
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        return False
    return minimum is None or value >= minimum
