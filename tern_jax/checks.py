"""Checked numeric arguments, one rule for the whole package.

A count, a width, a seed or a dimension must be an integer (``numbers.Integral``: Python or
numpy integers; ``True`` is refused: a boolean as a width is a bug, not a 1) within the
stated range; a budget or a timeout a real number > 0 and finite. Anything else is an
:class:`~tern_jax.errors.InvalidInput` naming the argument and the value.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

from .errors import InvalidInput


def check_int(value: Any, what: str, minimum: int | None = None, below: int | None = None) -> int:
    """``value`` as an int, checked: an integer with ``minimum <= value < below``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidInput(f"{what} must be an integer, got {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise InvalidInput(f"{what} must be >= {minimum}, got {value}")
    if below is not None and value >= below:
        raise InvalidInput(f"{what} must be < {below}, got {value}")
    return value


def check_ints(values: Any, what: str, minimum: int, allow_empty: bool = False) -> tuple[int, ...]:
    """A sequence of checked integers (``what[i]`` names a bad entry)."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        try:
            values = list(values)
        except TypeError as e:
            raise InvalidInput(f"{what} must be a list of integers, got {values!r}") from e
    if len(values) == 0 and not allow_empty:
        raise InvalidInput(f"{what} must not be empty")
    return tuple(check_int(v, f"{what}[{i}]", minimum) for i, v in enumerate(values))


def check_positive(value: Any, what: str) -> float:
    """``value`` as a float, checked: a real number (not a boolean), > 0 and finite."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidInput(f"{what} must be a number, got {value!r}")
    if not (value > 0 and math.isfinite(value)):
        raise InvalidInput(f"{what} must be > 0 and finite, got {value!r}")
    return float(value)
