"""Shared helpers for result records: plain dataclasses that serialise to JSON.

Every record carries the network fingerprint, the domain, the seed (where random), the
package version and its figures. Use :func:`to_jsonable` / :func:`record_json` rather than
writing another encoder.
"""

from __future__ import annotations

import dataclasses
import json
import math
from fractions import Fraction
from typing import Any

import numpy as np

from ._version import __version__

# Integers with more decimal digits than this are written in scientific form (Python also
# refuses to convert them to decimal text by default beyond 4300 digits).
MAX_EXACT_DIGITS = 4000


def package_version() -> str:
    return __version__


def decimal_digits(x: int) -> int:
    """Number of decimal digits of |x| (1 for 0), without converting x to text."""
    x = abs(int(x))
    if x == 0:
        return 1
    d = max(1, int(x.bit_length() * 0.30102999566398120))
    while x >= 10**d:
        d += 1
    while d > 1 and x < 10 ** (d - 1):
        d -= 1
    return d


def format_int(x: int, max_digits: int = MAX_EXACT_DIGITS, significant: int = 6) -> str:
    """``x`` in full when it has at most ``max_digits`` digits, else ``1.23457e+80786``
    (``significant`` digits, truncated) with the digit count: exact integers beyond a few
    thousand digits say no more than their size."""
    x = int(x)
    d = decimal_digits(x)
    if d <= max_digits:
        return str(x)
    lead = str(abs(x) // 10 ** (d - significant))
    sign = "-" if x < 0 else ""
    return f"{sign}{lead[0]}.{lead[1:]}e+{d - 1} ({d} digits)"


def to_jsonable(obj: Any) -> Any:
    """Convert numpy scalars/arrays, dataclasses, Fractions, tuples and int-keyed dicts."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)) and not isinstance(obj, (bool, np.bool_)):
        obj = int(obj)
        if abs(obj) >= 10**MAX_EXACT_DIGITS:
            return format_int(obj)
        return obj
    if isinstance(obj, (np.floating, float)):
        v = float(obj)
        return v if math.isfinite(v) else str(v)  # JSON has no inf/nan
    if isinstance(obj, Fraction):
        return str(obj)
    return obj


def record_json(record: Any, **dumps_kwargs: Any) -> str:
    """JSON text of a record (dataclass or dict), keys sorted for stable output."""
    dumps_kwargs.setdefault("sort_keys", True)
    return json.dumps(to_jsonable(record), **dumps_kwargs)
