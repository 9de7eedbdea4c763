"""Exact recomputation for the filtered backend: how every float value was made, and the
integer arithmetic that redoes it for the few decisions float64 cannot certify.

A float Maps array remembers its *lineage*: a chain of steps from the input maps (affine
layers, and ReLU selections that record, for every new piece, its parent row and its active
units as packed bits). The exact maps of any rows are obtained by replaying that chain with
:class:`~.rational.RationalBackend` on those rows only. A hyperplane remembers the (lineage,
row, unit) it was the zero set of, or its given exact coefficients; a point remembers the k
hyperplanes that meet there. Exact hyperplanes and points are computed once and kept.
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


@dataclass(eq=False)
class Step:
    """One step of how a Maps array was made: the root (the input maps), an affine layer,
    or a selection of rows with a ReLU mask (packed bits of ``n`` units)."""

    parent: Step | None = None
    layer: int | None = None
    src: np.ndarray | None = None
    bits: np.ndarray | None = None
    n: int = 0


class ExactOracle:
    """Exact maps, hyperplanes and points on demand (see the module docstring)."""

    def __init__(self, net: ReLUNet, k: int):
        self.net, self.k = net, k
        self._backend: RationalBackend | None = None
        self.start_rows: list[list[Any]] = []
        self.steps: list[Step] = []
        self._step_index: dict[int, int] = {}
        # Per hyperplane: (step index, row, unit), or (-1, -1, -1) when given exactly.
        self.plane_src = Grow(np.zeros((0, 3), dtype=np.int64))
        self.point_planes = Grow(np.zeros((0, k), dtype=np.int64))
        self._planes: dict[int, tuple] = {}
        self._points: dict[int, tuple] = {}

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

    def maps(self, step: Step, rows: np.ndarray) -> Maps:
        """Exact maps (one common denominator) of rows ``rows`` of the Maps made by
        ``step``: the input maps pushed through the same layers and masks in integers."""
        chain = []
        node: Step | None = step
        while node is not None:
            chain.append(node)
            node = node.parent
        chain.reverse()
        at: dict[int, np.ndarray] = {}
        cur = np.asarray(rows, dtype=np.int64)
        for node in reversed(chain):
            if node.src is not None:
                at[id(node)] = cur
                cur = node.src[cur]
        m = cur.size
        exact = self.backend
        maps = exact.select(self._start, np.zeros(m, np.int64), None)
        for node in chain[1:]:
            if node.layer is not None:
                maps = exact.affine(maps, node.layer)
            else:
                act = None
                if node.bits is not None:
                    act = np.unpackbits(node.bits[at[id(node)]], axis=1, count=node.n)
                    act = act.astype(bool)
                maps = exact.select(maps, np.arange(m), act)
        return maps

    def given_plane(self, plane_id: int, coefs: list[int]) -> None:
        self._planes[plane_id] = tuple(coefs)

    def planes(self, ids: np.ndarray) -> np.ndarray:
        """Exact integer coefficients (m, k+1) of hyperplanes."""
        missing = [i for i in np.unique(ids).tolist() if i not in self._planes]
        if missing:
            src = self.plane_src.a[missing]
            for sid in np.unique(src[:, 0]).tolist():
                sel = np.nonzero(src[:, 0] == sid)[0]
                maps = self.maps(self.steps[sid], src[sel, 1])
                coef = maps.value[np.arange(sel.size), :, src[sel, 2]]
                for i, row in zip(sel.tolist(), coef.tolist()):
                    self._planes[missing[i]] = tuple(int(v) for v in row)
        return self._table(self._planes, ids)

    def points(self, ids: np.ndarray) -> np.ndarray:
        """Exact homogeneous coordinates (m, k+1), W > 0, of points."""
        missing = [i for i in np.unique(ids).tolist() if i not in self._points]
        if missing:
            pl = self.point_planes.a[missing]
            A = self.planes(pl.ravel()).reshape(len(missing), self.k, self.k + 1)
            X = kernel_exact(A)
            X = reduce_rows(nb.to_object(np.where((X[:, -1] < 0)[:, None], -X, X)))
            for i, row in zip(missing, X.tolist()):
                self._points[i] = tuple(int(v) for v in row)
        return self._table(self._points, ids)

    def _table(self, cache: dict, ids: np.ndarray) -> np.ndarray:
        out = np.empty((len(ids), self.k + 1), dtype=object)
        for r, i in enumerate(ids.tolist()):
            out[r] = cache[i]
        return out
