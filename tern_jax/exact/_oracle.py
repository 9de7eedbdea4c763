"""Exact recomputation for the filtered backend: how every float value was made, and the
integer arithmetic that redoes it for the decisions float64 cannot certify.

A float Maps array remembers its *lineage*: a chain of steps from the input maps (affine
layers, and ReLU selections that record, for every new piece, its parent row and its active
units as packed bits). The exact maps of some rows are obtained by replaying that chain with
:class:`~.rational.RationalBackend` on those rows only; when a step needs many rows exactly
(degenerate networks: ties everywhere), the exact maps of all its rows are kept and the next
step is derived from them in one layer instead of a replay. A hyperplane remembers the
(lineage, row, unit) it was the zero set of, or its given exact coefficients; a point
remembers the k hyperplanes that meet there. Exact hyperplanes and points are computed once
and kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import arith as nb
from ..network import ReLUNet
from ._store import Grow
from .kernel import Maps, kernel_exact, reduce_rows
from .rational import RationalBackend

# Keep all rows of a step exactly once a request asks for at least this share of them.
FULL_SHARE = 0.25
# Steps whose exact maps of all rows are kept at once (the latest ones).
FULL_KEEP = 4


@dataclass(eq=False)
class Step:
    """One step of how a Maps array was made: the root (the input maps), an affine layer,
    or a selection of ``rows`` rows with a ReLU mask (packed bits of ``n`` units)."""

    parent: Step | None = None
    layer: int | None = None
    src: np.ndarray | None = None
    bits: np.ndarray | None = None
    n: int = 0

    @property
    def rows(self) -> int:
        node: Step | None = self
        while node is not None and node.src is None:
            node = node.parent
        return 1 if node is None else int(node.src.size)

    def active(self, rows: np.ndarray) -> np.ndarray | None:
        if self.bits is None:
            return None
        return np.unpackbits(self.bits[rows], axis=1, count=self.n).astype(bool)


class _Table:
    """Exact integer rows by id, filled on demand."""

    def __init__(self, width: int):
        self.rows = Grow(np.zeros((0, width), dtype=np.int64))
        self.known = Grow(np.zeros(0, dtype=bool))

    def grow(self, n: int) -> None:
        if n > self.known.n:
            self.known.append(np.zeros(n - self.known.n, dtype=bool))
            self.rows.append(np.zeros((n - self.rows.n, self.rows.buf.shape[1]), np.int64))

    def missing(self, ids: np.ndarray, n: int) -> np.ndarray:
        self.grow(n)
        return np.unique(ids[~self.known.a[ids]])

    def put(self, ids: np.ndarray, rows: np.ndarray) -> None:
        if rows.dtype == object and self.rows.buf.dtype != object:
            self.rows.buf = self.rows.buf.astype(object)
        self.rows.buf[ids] = rows
        self.known.buf[ids] = True


class ExactOracle:
    """Exact maps, hyperplanes and points on demand (see the module docstring)."""

    def __init__(self, net: ReLUNet, k: int):
        self.net, self.k = net, k
        self._backend: RationalBackend | None = None
        self.start_rows: list[list[Any]] = []
        self.steps: list[Step] = []
        self._step_index: dict[int, int] = {}
        self._full: dict[int, Maps] = {}
        # Per hyperplane: (step index, row, unit), or (-1, -1, -1) when given exactly.
        self.plane_src = Grow(np.zeros((0, 3), dtype=np.int64))
        self.point_planes = Grow(np.zeros((0, k), dtype=np.int64))
        self._planes = _Table(k + 1)
        self._points = _Table(k + 1)

    @property
    def backend(self) -> RationalBackend:
        """Built on first use: turning float64 weights into integers costs more than many
        float decisions, and most runs never need it."""
        if self._backend is None:
            self._backend = RationalBackend(self.net, self.k)
            self._start = self._backend.start(self.start_rows)
        return self._backend

    def step_id(self, step: Step) -> int:
        if id(step) not in self._step_index:
            self._step_index[id(step)] = len(self.steps)
            self.steps.append(step)
        return self._step_index[id(step)]

    # -- maps -----------------------------------------------------------------------------
    def maps(self, step: Step, rows: np.ndarray) -> np.ndarray:
        """Exact integer maps (len(rows), k+1, n), one common denominator, of rows ``rows``
        of the Maps made by ``step``."""
        rows = np.asarray(rows, dtype=np.int64)
        if id(step) in self._full or rows.size >= FULL_SHARE * step.rows:
            return self._all(step).value[rows]
        return self._replay(step, rows).value

    def _all(self, step: Step) -> Maps:
        """Exact maps of every row of ``step``, derived from its parent's when kept."""
        if id(step) not in self._full:
            exact = self.backend
            if step.parent is None:
                maps = self._start
            elif id(step.parent) in self._full:
                parent = self._full[id(step.parent)]
                if step.layer is not None:
                    maps = exact.affine(parent, step.layer)
                else:
                    maps = exact.select(parent, step.src, step.active(np.arange(step.rows)))
            else:
                maps = self._replay(step, np.arange(step.rows))
            maps = Maps(maps.value, den=maps.den)  # materialise a lazy selection once
            self._full[id(step)] = maps
            while len(self._full) > FULL_KEEP:
                self._full.pop(next(iter(self._full)))
        return self._full[id(step)]

    def _replay(self, step: Step, rows: np.ndarray) -> Maps:
        """The input maps pushed through the layers and masks of ``step``'s chain, in
        integers, for rows ``rows`` only."""
        chain = []
        node: Step | None = step
        while node is not None:
            chain.append(node)
            node = node.parent
        chain.reverse()
        at: dict[int, np.ndarray] = {}
        cur = rows
        for node in reversed(chain):
            if node.src is not None:
                at[id(node)] = cur
                cur = node.src[cur]
        exact = self.backend
        maps = exact.select(self._start, np.zeros(rows.size, np.int64), None)
        for node in chain[1:]:
            if node.layer is not None:
                maps = exact.affine(maps, node.layer)
            else:
                maps = exact.select(maps, np.arange(rows.size), node.active(at[id(node)]))
        return maps

    # -- hyperplanes and points -----------------------------------------------------------
    def given_plane(self, plane_id: int, coefs: list[int]) -> None:
        self._planes.grow(plane_id + 1)
        row = np.empty((1, self.k + 1), dtype=object)
        row[0] = coefs
        self._planes.put(np.array([plane_id]), nb.shrink(row))

    def planes(self, ids: np.ndarray) -> np.ndarray:
        """Exact integer coefficients (m, k+1) of hyperplanes."""
        missing = self._planes.missing(ids, self.plane_src.n)
        if missing.size:
            src = self.plane_src.a[missing]
            for sid in np.unique(src[:, 0]).tolist():
                sel = np.nonzero(src[:, 0] == sid)[0]
                value = self.maps(self.steps[sid], src[sel, 1])
                self._planes.put(missing[sel], value[np.arange(sel.size), :, src[sel, 2]])
        return self._planes.rows.a[ids]

    def points(self, ids: np.ndarray) -> np.ndarray:
        """Exact homogeneous coordinates (m, k+1), W > 0, of points."""
        missing = self._points.missing(ids, self.point_planes.n)
        if missing.size:
            pl = self.point_planes.a[missing]
            A = self.planes(pl.ravel()).reshape(missing.size, self.k, self.k + 1)
            X = kernel_exact(A)
            self._points.put(missing, reduce_rows(np.where((X[:, -1] < 0)[:, None], -X, X)))
        return self._points.rows.a[ids]
