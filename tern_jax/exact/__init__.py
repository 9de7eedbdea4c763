"""Exact region counts along lines (:mod:`.line`) and in planar slices (:mod:`.plane`).

Both engines return :class:`ExactCount`. They consume only a :class:`~tern_jax.ReLUNet`
(never Flax, optax or training code) and run in numpy on the host.
"""

from __future__ import annotations

from .line import exact_regions_1d
from .plane import exact_regions_2d
from .result import ExactCount

__all__ = ["ExactCount", "exact_regions_1d", "exact_regions_2d"]
