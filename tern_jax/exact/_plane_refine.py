"""The plane engine's refinement: cut a convex polygon layer by layer, unit by unit.

Every cell whose vertices take strictly positive *and* strictly negative values of a ReLU
unit's pre-activation is cut along the unit's zero line. The partition stays *conforming*:
cells share vertex ids, and the new vertex on an edge is shared by both cells of that edge
(both are cut in the same pass, since the pre-activation is continuous).

Signs, not values. At the start of a ReLU layer the backend gives the sign of every unit at
every vertex (int8, exact). From then on the cut is combinatorial: a vertex created on the
edge (a, b) has, for every unit whose signs at a and b are not strictly opposite, the sign
of their sum (an affine function on a segment); only units whose zero lines cross the same
edge strictly need the backend again. In particular the vertex lies exactly on the cutting
line and on the edge's line, with no arithmetic at all. Degenerate geometry (a zero line
through a vertex or along an edge, duplicate units, a pre-activation identically 0 on a
cell: inactive, since active means > 0) needs no special case.

Work per unit is limited to the cells that descend from the cells its zero line crosses at
the start of the layer (the line of an affine function meets a convex cell only if it
separates the cell's vertices), so a layer costs about the size of the arrangement inside
each cell rather than units x cells.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ..network import ReLUNet
from ._plane_cells import Cells, next_in_cycle, split_cycles
from ._store import Grow
from .kernel import Backend, Maps

# Edge keys are lo * KEY_BASE + hi for vertex ids lo < hi < KEY_BASE.
KEY_BASE = 1 << 31


class PlanePartition:
    """Refinement state: the backend (vertices and lines), the cells and their maps."""

    def __init__(self, net: ReLUNet, backend: Backend, maps: Maps, boundary: list[list]):
        self.net, self.backend, self.maps = net, backend, maps
        k = len(boundary)
        lines = backend.add_given_planes(boundary)
        # Vertex i is where boundary edge i - 1 meets edge i; edge i leaves vertex i.
        corners = backend.add_points(np.stack([np.roll(lines, 1), lines], axis=1))
        self.num_vertices = k
        self.cells = Cells(corners, lines)
        self.history: list[tuple[np.ndarray, np.ndarray]] = []  # (cell source, active)

    @property
    def num_cells(self) -> int:
        return self.cells.count

    def run(self) -> None:
        """Refine through every layer; ``self.maps`` ends as the output maps of f."""
        acts = self.net.activations
        for li, act in enumerate(acts[:-1]):
            self.maps = self.backend.affine(self.maps, li)
            if act == "relu":
                self._relu()
        self.maps = self.backend.affine(self.maps, len(acts) - 1)

    def _relu(self) -> None:
        v, _, starts = self.cells.flat()
        C = self.num_cells
        rep = np.empty(self.num_vertices, dtype=np.int64)
        rep[v] = np.repeat(np.arange(C), np.diff(starts))
        signs = Grow(self.backend.signs(self.maps, rep, np.arange(self.num_vertices)))
        crossed = _any_per_cell(signs.a > 0, v, starts) & _any_per_cell(signs.a < 0, v, starts)
        # The zero line of every unit on every source cell it crosses, made at once.
        rows, cols = np.nonzero(crossed)
        self._chord_keys = rows * crossed.shape[1] + cols  # ascending
        self._chords = self.backend.add_planes(self.maps, rows, cols)
        for assign in _schedule(crossed):
            self._cut(signs, assign)
        v, _, starts = self.cells.flat()
        active = _any_per_cell(signs.a > 0, v, starts)
        src = self.cells.src.a.copy()
        self.maps = self.backend.select(self.maps, src, active)
        self.history.append((src, active))
        self.cells.src.buf[: self.num_cells] = np.arange(self.num_cells)

    def _cut(self, signs: Grow, assign: np.ndarray) -> None:
        """Cut every cell by the unit ``assign`` gives its source cell (-1: none), if that
        unit's zero line crosses the cell."""
        cells, backend = self.cells, self.backend
        cand = np.nonzero(assign[cells.src.a] >= 0)[0]
        v, e, offs, lens = cells.gather(cand)
        unit = assign[cells.src.a[cand]]
        s = signs.a[v, np.repeat(unit, lens)]
        cut = (np.maximum.reduceat(s, offs) > 0) & (np.minimum.reduceat(s, offs) < 0)
        if not np.any(cut):
            return
        if not np.all(cut):
            keep = np.repeat(cut, lens)
            v, e, s, lens, cand, unit = v[keep], e[keep], s[keep], lens[cut], cand[cut], unit[cut]
            offs = np.concatenate([[0], np.cumsum(lens)[:-1]])
        src = cells.src.a[cand]
        key = src * signs.a.shape[1] + unit
        chord = self._chords[np.searchsorted(self._chord_keys, key)]
        # One new vertex per edge with strictly opposite signs, shared by both its cells.
        nxt = next_in_cycle(offs, lens)
        ci = np.nonzero(s * s[nxt] < 0)[0]
        a, b = v[ci], v[nxt[ci]]
        keys = np.minimum(a, b) * KEY_BASE + np.maximum(a, b)
        _, first, inv = np.unique(keys, return_index=True, return_inverse=True)
        fpos = ci[first]
        owner = np.repeat(np.arange(cand.size), lens)[fpos]
        new = backend.add_points(np.stack([e[fpos], chord[owner]], axis=1))
        self.num_vertices += new.size
        signs.append(self._new_signs(signs, a[first], b[first], src[owner], new, unit[owner]))
        w = np.full(v.size, -1, dtype=np.int64)
        w[ci] = new[inv]
        pos, neg = split_cycles(v, e, s, offs, lens, w, chord)
        cells.replace(cand, pos)
        cells.add(neg, src)

    def _new_signs(self, signs: Grow, a, b, rows, new, unit) -> np.ndarray:
        """Signs of every unit at new vertices on edges (a, b) cut by ``unit``: 0 for that
        unit, combinatorial unless a unit's signs at a and b are strictly opposite (then
        asked of the backend)."""
        sa, sb = signs.a[a], signs.a[b]
        out = np.sign(sa + sb).astype(np.int8)
        need = sa * sb < 0
        need[np.arange(unit.size), unit] = False  # the vertex lies on the cutting line
        ri, rj = np.nonzero(need)
        if ri.size:
            out[ri, rj] = self.backend.sign_entries(self.maps, rows[ri], new[ri], rj)
        return out

    # -- results --------------------------------------------------------------------------
    def linear_regions(self):
        """(label per cell, number of linear regions, number of edges, boundary segments)."""
        v, _, starts = self.cells.flat()
        C = self.num_cells
        lens = np.diff(starts)
        a, b = v, v[next_in_cycle(starts[:-1], lens)]
        cell_of = np.repeat(np.arange(C), lens)
        key = np.minimum(a, b) * KEY_BASE + np.maximum(a, b)
        order = np.argsort(key, kind="stable")
        ks = key[order]
        shared = np.nonzero(ks[1:] == ks[:-1])[0]
        ca, cb = cell_of[order[shared]], cell_of[order[shared + 1]]
        same = self.backend.same(self.maps, ca, cb)
        g = coo_matrix((np.ones(int(same.sum())), (ca[same], cb[same])), shape=(C, C))
        n_lin, labels = connected_components(g, directed=False)
        n_edges = int(ks.size - shared.size)  # an inner edge is listed by its two cells
        # Segments separating different linear regions (for pictures), plus the domain border.
        border = np.ones(ks.size, dtype=bool)
        border[shared] = False
        border[shared + 1] = False
        sel = np.concatenate([order[shared[~same]], order[border]])
        P = self.points()
        boundaries = np.stack([P[a[sel]], P[b[sel]]], axis=1)
        return labels, int(n_lin), n_edges, boundaries

    def points(self) -> np.ndarray:
        """Vertex coordinates (s, t) as float64."""
        return self.backend.point_floats(np.arange(self.num_vertices))

    def polygons(self) -> list[np.ndarray]:
        P = self.points()
        v, _, starts = self.cells.flat()
        return [P[v[starts[c] : starts[c + 1]]] for c in range(self.num_cells)]

    def patterns(self) -> np.ndarray:
        idx = np.arange(self.num_cells)
        bits = []
        for src, active in reversed(self.history):
            bits.append(active[idx])
            idx = src[idx]
        if not bits:
            return np.zeros((self.num_cells, 0), dtype=bool)
        return np.concatenate(bits[::-1], axis=1)


def _any_per_cell(bits: np.ndarray, v: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """(cells x units) bool: whether some vertex of the cell has the bit (vertices x
    units), with cells as cycles ``v`` split at ``starts``; reduced on packed bits."""
    packed = np.packbits(bits, axis=1)
    per_cell = np.bitwise_or.reduceat(packed[v], starts[:-1], axis=0)
    return np.unpackbits(per_cell, axis=1, count=bits.shape[1]).astype(bool)


def _schedule(crossed: np.ndarray) -> list[np.ndarray]:
    """Group the units into passes in which no source cell is crossed by two units.

    ``crossed`` (source cells x units). Units whose zero lines cross disjoint sets of
    source cells can cut in one pass: an edge crossed by a unit lies in cells crossed by
    that unit only, so new vertices and their combinatorial signs stay consistent. First
    fit, units crossing the most cells first. Returns per pass the unit assigned to every
    source cell (-1: none).
    """
    C0, n = crossed.shape
    used = np.zeros((C0, n), dtype=bool)  # used[c, p]: cell c has a unit in pass p
    passes: list[np.ndarray] = []
    for j in np.argsort(-crossed.sum(axis=0), kind="stable").tolist():
        cells = np.nonzero(crossed[:, j])[0]
        if cells.size == 0:
            continue
        p = int(np.argmin(used[cells].any(axis=0)))  # a unit meets at most n - 1 others
        used[cells, p] = True
        if p == len(passes):
            passes.append(np.full(C0, -1, dtype=np.int64))
        passes[p][cells] = j
    return passes
