"""Exact region counts: along lines (:mod:`.line`), in planar slices (:mod:`.plane`) and in
boxes of any dimension or all of R^n0 (:mod:`.nd`), behind one entry point
:func:`exact_regions` (:mod:`.regions`).

Every engine returns :class:`ExactCount`. They consume only a :class:`~tern_jax.ReLUNet` and
a domain of :mod:`tern_jax.domains` (never Flax, optax or training code) and run in numpy on
the host.
"""

from __future__ import annotations

from .line import exact_regions_1d, line_regions
from .nd import nd_regions
from .plane import exact_regions_2d, plane_regions
from .regions import exact_regions
from .result import ExactCount

__all__ = [
    "ExactCount",
    "exact_regions",
    "exact_regions_1d",
    "exact_regions_2d",
    "line_regions",
    "nd_regions",
    "plane_regions",
]
