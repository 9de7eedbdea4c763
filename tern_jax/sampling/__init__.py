"""The sampling engine: distinct activation patterns of millions of inputs, on device.

``count_regions(net, domain, n_samples, seed)`` returns a :class:`RegionCount`. Modules:
``samplers`` (inputs drawn on device from a :mod:`tern_jax.domains` domain), ``keys``
(patterns to exact or hashed keys), ``device`` (the compiled, sharded step), ``table``
(host-side running table and sketch), ``resume`` (state on disk), ``distributed`` (several
hosts), ``engine`` (the driver).
"""

from __future__ import annotations

from ..domains import Box, Gaussian, Plane, Points, Segment
from .engine import count_regions
from .record import RegionCount

__all__ = ["Box", "Gaussian", "Plane", "Points", "RegionCount", "Segment", "count_regions"]
