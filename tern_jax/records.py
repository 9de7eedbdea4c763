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


def package_version() -> str:
    return __version__


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
    if isinstance(obj, np.integer):
        return int(obj)
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
