"""ExactCount: the result record of the exact line, plane and n-D engines."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..records import package_version, record_json, to_jsonable

# Fields kept in memory for plots and tests but never written to JSON (they can be huge).
_IN_MEMORY_ONLY = (
    "patterns",
    "cells",
    "cell_linear_region",
    "linear_boundaries",
    "piece_slopes",
)


@dataclass
class ExactCount:
    """Exact region counts of a network on a segment, line or planar polygon.

    ``activation_regions``: full-dimensional pieces of the domain with one activation pattern
    (every such piece is convex, so along a line it is one interval and in a plane one cell).
    Patterns that occur only on a set of measure zero (a single point of a line, an edge of a
    plane) are not counted. ``linear_regions``: maximal unions of *adjacent* pieces on which
    the network's output f has one affine map (along a line: one slope in t; in a plane: one
    gradient and offset in (s, t)). Both are exact partitions of the domain, not samples.
    ``mode`` is the arithmetic: "exact" (integers) or "float64" (float64 with rigorous error
    bounds, exact where a decision is close); both give the exact counts of the network as
    stored. ``arithmetic`` says what was used, in words. ``tolerance`` is always None (no
    tolerance is involved; the field is kept for old readers).
    """

    activation_regions: int
    linear_regions: int
    engine: str  # "line", "plane" or "nd"
    domain: dict
    mode: str
    tolerance: float | None
    fingerprint: str
    seconds: float
    arithmetic: str | None = None
    num_breakpoints: int | None = None
    breakpoints: list | None = None
    linear_breakpoints: list | None = None
    num_vertices: int | None = None
    num_edges: int | None = None
    # n-D engine work counters: facets of the final complex (domain boundary included),
    # vertex pairs put through the combinatorial edge test, cells cut.
    num_facets: int | None = None
    num_edge_tests: int | None = None
    num_cuts: int | None = None
    version: str = field(default_factory=package_version)
    # in-memory extras (not serialised)
    patterns: np.ndarray | None = field(default=None, repr=False)
    cells: list | None = field(default=None, repr=False)
    cell_linear_region: np.ndarray | None = field(default=None, repr=False)
    linear_boundaries: np.ndarray | None = field(default=None, repr=False)
    piece_slopes: np.ndarray | None = field(default=None, repr=False)

    @property
    def kind(self) -> str:
        return "exact"

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of the serialisable fields (counts, domain, mode, provenance)."""
        d = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name not in _IN_MEMORY_ONLY
        }
        d["how"] = "exact partition"
        d["count_kinds"] = {
            "activation_regions": "activation regions (distinct patterns, full-dimensional)",
            "linear_regions": "linear regions (adjacent pieces with equal affine map merged)",
        }
        return to_jsonable(d)

    def to_json(self, **kwargs: Any) -> str:
        """One JSON object (keys sorted); see :func:`tern_jax.records.record_json`."""
        return record_json(self.to_dict(), **kwargs)

    def summary(self) -> str:
        """Readable multi-line summary naming the kind of count, domain and arithmetic."""
        arith = (
            "exact partition, rational arithmetic"
            if self.mode == "exact"
            else "exact partition, filtered float64 arithmetic"
        )
        lines = [
            f"domain: {self.domain.get('description', self.domain)}",
            f"activation regions ({arith}): {self.activation_regions}",
            f"linear regions     ({arith}): {self.linear_regions}",
        ]
        if self.engine == "line" and self.num_breakpoints is not None:
            lines.append(f"breakpoints (pattern changes inside the domain): {self.num_breakpoints}")
        if self.engine == "plane" and self.num_vertices is not None:
            lines.append(f"partition: {self.num_vertices} vertices, {self.num_edges} edges")
        if self.engine == "nd" and self.num_vertices is not None:
            lines.append(
                f"partition: {self.num_vertices} vertices, {self.num_facets} facets, "
                f"{self.num_cuts} cuts, {self.num_edge_tests} edge tests"
            )
        if self.arithmetic:
            lines.append(f"arithmetic: {self.arithmetic}")
        lines.append(f"network {self.fingerprint}, {self.seconds:.3f} s, tern_jax {self.version}")
        return "\n".join(lines)
