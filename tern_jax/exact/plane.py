"""Exact partition of a convex polygon in a 2D slice x(s, t) = origin + s u + t v.

The partition is refined layer by layer and, inside a ReLU layer, unit by unit: every cell
whose vertices take strictly positive *and* strictly negative values of the unit's
pre-activation is cut along the unit's zero line. The partition is kept *conforming*: cells
share vertex ids, and a new vertex on an edge is shared by both cells of that edge (the
pre-activation is continuous, so both cells see the crossing at the same point). Pre-activation
values are stored per vertex, so a cut is decided once per vertex, consistently for all cells.

Degenerate geometry needs no special case: a zero line through a vertex or along an edge
only meets vertices where the value is exactly 0 (no cut unless strict signs on both sides),
duplicate units see no strict sign change after the first one cut, and a pre-activation that
is identically 0 on a cell leaves the unit inactive there (active iff > 0).

Counts: every final cell is one activation region of the polygon (cells are convex and two
cells always differ in the unit that separated them). Linear regions are the connected
components of the graph whose nodes are cells and whose edges join cells sharing a polygon
edge and having equal affine maps of f in (s, t) (gradient and offset).

Arithmetic modes: ``exact`` keeps vertices in homogeneous integer coordinates (X, Y, W),
W > 0, and the cells' affine maps as integer numerators over a common denominator; int64 while
a bound proves it safe, Python ints otherwise. ``float64``: vertex values with
``|z| <= tol * max_vertices |z_unit|`` count as 0, and output maps are equal when they differ
by at most ``tol`` times their term magnitudes.
"""

from __future__ import annotations

import math
import time
from itertools import chain
from typing import Any

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from .. import arith as nb
from ..domains import Box, Domain, Plane
from ..errors import InvalidInput
from ..network import ReLUNet
from ._common import DEFAULT_TOL, check_mode, check_net, integer_layers, resolve_mode
from .result import ExactCount

# Cells (polygons, patterns) are kept in the result when at most this many (keep_cells=None).
MAX_STORED_CELLS = 50_000


class _Grow:
    """A 2-D array with amortised O(1) row appends."""

    def __init__(self, a: np.ndarray):
        self.n = a.shape[0]
        self.buf = a.copy()

    @property
    def a(self) -> np.ndarray:
        return self.buf[: self.n]

    def append(self, rows: np.ndarray) -> np.ndarray:
        """Append rows, return their indices."""
        k = rows.shape[0]
        need = self.n + k
        if need > self.buf.shape[0] or rows.dtype != self.buf.dtype:
            dt = object if (rows.dtype == object or self.buf.dtype == object) else self.buf.dtype
            cap = max(need, 2 * self.buf.shape[0], 16)
            nbuf = np.zeros((cap, *self.buf.shape[1:]), dtype=dt)
            nbuf[: self.n] = self.buf[: self.n]
            self.buf = nbuf
        self.buf[self.n : need] = rows
        idx = np.arange(self.n, need)
        self.n = need
        return idx

    def replace(self, a: np.ndarray) -> None:
        self.buf = a.copy()
        self.n = a.shape[0]


def _check_plane(net: ReLUNet, domain: Domain):
    """(origin, u, v, polygon vertices (s, t), domain dict) of a Plane, or a Box of a 2-input
    network (the plane x = s e1 + t e2 over the box), as exact rationals."""
    n0 = net.input_dim
    if isinstance(domain, Box):
        if n0 != 2:
            raise InvalidInput(
                f"the plane engine takes a Box only for 2 inputs; this network has {n0}"
            )
        ex = domain.exact(2)
        (l0, l1), (h0, h1) = ex["lo"], ex["hi"]
        domain = Plane([0, 0], [1, 0], [0, 1], bounds=(l0, h0, l1, h1))
    elif not isinstance(domain, Plane):
        raise InvalidInput(
            f"the plane engine partitions a Plane (or a Box of a 2-input network), not a "
            f"{type(domain).__name__}"
        )
    ex = domain.exact(n0)
    o, uu, vv = ex["origin"], ex["u"], ex["v"]
    if ex["polygon"] is not None:
        pts = _convex_ccw(ex["polygon"])
        desc = "convex polygon " + ", ".join(f"({a}, {b})" for a, b in pts)
    else:
        u0, u1, v0, v1 = ex["bounds"]
        pts = [(u0, v0), (u1, v0), (u1, v1), (u0, v1)]
        desc = f"box s in [{u0}, {u1}], t in [{v0}, {v1}]"
    dom = {
        "kind": "plane",
        "input_dim": n0,
        "origin": [str(x) for x in o],
        "u": [str(x) for x in uu],
        "v": [str(x) for x in vv],
        "polygon": [[str(a), str(b)] for a, b in pts],
        "description": f"{desc} of the plane x = origin + s u + t v in R^{n0}, origin "
        f"({', '.join(map(str, o))}), u ({', '.join(map(str, uu))}), "
        f"v ({', '.join(map(str, vv))})",
    }
    return o, uu, vv, pts, dom


def _convex_ccw(pts: list) -> list:
    if len(pts) < 3:
        raise InvalidInput(f"polygon needs at least 3 vertices, got {len(pts)}")
    k = len(pts)
    crosses = []
    for i in range(k):
        (ax, ay), (bx, by), (cx, cy) = pts[i], pts[(i + 1) % k], pts[(i + 2) % k]
        crosses.append((bx - ax) * (cy - by) - (by - ay) * (cx - bx))
    area2 = sum(pts[i][0] * pts[(i + 1) % k][1] - pts[(i + 1) % k][0] * pts[i][1] for i in range(k))
    if area2 == 0:
        raise InvalidInput("polygon has zero area")
    if area2 < 0:
        pts = pts[::-1]
        crosses = [-c for c in crosses[::-1]]
    if any(c < 0 for c in crosses):
        raise InvalidInput("polygon must be convex")
    return pts


def exact_regions_2d(
    net: ReLUNet,
    origin: Any,
    u: Any,
    v: Any,
    bounds: Any = (0, 1, 0, 1),
    *,
    polygon: Any = None,
    mode: str = "auto",
    tol: float = DEFAULT_TOL,
    keep_cells: bool | None = None,
) -> ExactCount:
    """Exact activation and linear regions of ``net`` on a polygon of a 2D input slice.

    The slice is x(s, t) = origin + s u + t v (u, v linearly independent vectors of the input
    space); the domain is the box ``bounds = (u0, u1, v0, v1)`` of (s, t), or a convex
    ``polygon`` given as (s, t) vertices (then ``bounds`` is ignored). A thin wrapper of
    :func:`plane_regions` with a :class:`~tern_jax.Plane` domain.
    """
    check_net(net)
    if polygon is not None and bounds is not None and tuple(bounds) != (0, 1, 0, 1):
        raise InvalidInput("give either bounds or polygon, not both")
    if polygon is None and bounds is None:
        bounds = (0, 1, 0, 1)
    domain = Plane(origin, u, v, bounds=bounds, polygon=polygon)
    return plane_regions(net, domain, mode=mode, tol=tol, keep_cells=keep_cells)


def plane_regions(
    net: ReLUNet,
    domain: Domain,
    *,
    mode: str = "auto",
    tol: float = DEFAULT_TOL,
    keep_cells: bool | None = None,
) -> ExactCount:
    """The plane engine: exact activation and linear regions on a polygon of a 2D slice.

    ``domain``: a :class:`~tern_jax.Plane` (a box of (s, t) or a convex polygon) or a
    :class:`~tern_jax.Box` of a 2-input network. ``mode``: "auto" (exact for rational
    networks and data with small denominators), "exact" or "float64" (with ``tol``).
    ``keep_cells``: keep cell polygons, patterns and linear-region labels in the result for
    plotting (``None``: when at most 50000 cells).
    """
    t0 = time.perf_counter()
    net = check_net(net)
    check_mode(mode, tol)
    o, uu, vv, pts, dom = _check_plane(net, domain)
    data = [*o, *uu, *vv, *(c for q in pts for c in q)]
    mode = resolve_mode(mode, net, data)
    exact = mode == "exact"
    layers = integer_layers(net) if exact else None
    eng = _Plane(net, layers, o, uu, vv, pts, exact, tol)
    eng.run()
    n_cells = eng.num_cells
    labels, n_linear, n_edges, boundaries = eng.linear_regions()
    if keep_cells is None:
        keep_cells = n_cells <= MAX_STORED_CELLS
    return ExactCount(
        activation_regions=n_cells,
        linear_regions=n_linear,
        engine="plane",
        domain=dom,
        mode=mode,
        tolerance=None if exact else float(tol),
        fingerprint=net.fingerprint,
        seconds=time.perf_counter() - t0,
        num_vertices=eng.V.n,
        num_edges=n_edges,
        patterns=eng.patterns() if keep_cells else None,
        cells=eng.polygons() if keep_cells else None,
        cell_linear_region=labels if keep_cells else None,
        linear_boundaries=boundaries if keep_cells else None,
    )


class _Plane:
    """The refinement state: vertices, cells (flat vertex-id cycles) and per-cell maps."""

    def __init__(self, net, layers, o, uu, vv, pts, exact: bool, tol: float):
        self.net, self.layers, self.exact, self.tol = net, layers, exact, tol
        if exact:
            rows = []
            for s, t in pts:
                w = s.denominator * t.denominator
                rows.append([int(s * w), int(t * w), w])
            V = nb.shrink(np.array(rows, dtype=object))
            V = _reduce_rows(V)
            nums, D = nb.fractions_common([*uu, *vv, *o])
            self.M = nums.reshape(1, 3, -1)
            self.D = D
        else:
            V = np.array([[float(s), float(t), 1.0] for s, t in pts])
            self.M = np.array([[float(x) for x in r] for r in (uu, vv, o)])[None]
            self.AM = np.abs(self.M)
        self.V = _Grow(V)
        self.fv = np.arange(len(pts), dtype=np.int64)
        self.lengths = np.array([len(pts)], dtype=np.int64)
        self.history: list[tuple[np.ndarray, np.ndarray]] = []  # (cell source, active) per ReLU

    @property
    def num_cells(self) -> int:
        return int(self.lengths.size)

    def _starts(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self.lengths)])

    # -- layers ---------------------------------------------------------------------------
    def run(self) -> None:
        net = self.net
        for li, act in enumerate(net.activations[:-1]):
            self._affine(li)
            if act == "relu":
                self._relu()
        self._affine(len(net.activations) - 1)  # output maps G, one per cell

    def _affine(self, li: int) -> None:
        C, _, n_prev = self.M.shape
        if self.exact:
            wn, bn, k = self.layers[li]
            M = nb.matmul(self.M.reshape(C * 3, n_prev), wn).reshape(C, 3, -1)
            if bn.dtype != object and nb.maxabs(bn) * self.D + nb.maxabs(M) < nb.INT64_LIMIT:
                M[:, 2, :] = M[:, 2, :] + bn * self.D
            else:
                M = nb.to_object(M)
                M[:, 2, :] = M[:, 2, :] + nb.to_object(bn) * self.D
                M = nb.shrink(M)
            self.M = M
            self.D <<= k
            self._reduce_maps()
        else:
            w, b = np.asarray(self.net.weights[li]), np.asarray(self.net.biases[li])
            self.M = (self.M.reshape(C * 3, n_prev) @ w).reshape(C, 3, -1)
            self.M[:, 2, :] += b
            self.AM = (self.AM.reshape(C * 3, n_prev) @ np.abs(w)).reshape(C, 3, -1)
            self.AM[:, 2, :] += np.abs(b)

    def _reduce_maps(self) -> None:
        if self.D == 1:
            return
        g = math.gcd(self.D, int(np.gcd.reduce(self.M.ravel())))
        if g > 1:
            self.M = self.M // g
            self.D //= g

    def _vertex_values(self) -> np.ndarray:
        """Pre-activations of the current layer at every vertex (one incident cell each)."""
        cell_of = np.repeat(np.arange(self.num_cells), self.lengths)
        rep = np.empty(self.V.n, dtype=np.int64)
        rep[self.fv] = cell_of
        V = self.V.a
        Mr = self.M[rep]
        if self.exact:
            if (
                V.dtype == object
                or Mr.dtype == object
                or 3 * nb.maxabs(V) * nb.maxabs(Mr) >= nb.INT64_LIMIT
            ):
                V, Mr = nb.to_object(V), nb.to_object(Mr)
            Z = V[:, 0:1] * Mr[:, 0, :] + V[:, 1:2] * Mr[:, 1, :] + V[:, 2:3] * Mr[:, 2, :]
            return nb.shrink(Z) if Z.dtype == object else Z
        return np.einsum("vk,vkn->vn", V, Mr)

    def _relu(self) -> None:
        Z = _Grow(self._vertex_values())
        n = Z.buf.shape[1]
        src = np.arange(self.num_cells)
        if self.exact:
            thr = np.zeros(n)
        else:
            thr = self.tol * np.max(np.abs(Z.a), axis=0)
        for j in range(n):
            src = self._cut(Z, j, thr[j], src)
        Za = Z.a
        pos = (Za > 0) if self.exact else (Za > thr)
        starts = self._starts()
        active = np.logical_or.reduceat(pos[self.fv], starts[:-1], axis=0)
        if self.M.dtype == object:
            self.M = nb.shrink(np.where(active[:, None, :], self.M[src], 0))
        else:
            self.M = self.M[src]
            self.M *= active[:, None, :]
        if not self.exact:
            self.AM = self.AM[src]
            self.AM *= active[:, None, :]
        self.history.append((src, active))

    def _cut(self, Z: _Grow, j: int, thr: float, src: np.ndarray) -> np.ndarray:
        """Cut every cell crossed by unit j's zero line; returns the new cell -> source map."""
        zj = Z.a[:, j]
        sg = (
            nb.sign(zj)
            if self.exact
            else ((zj > thr).astype(np.int8) - (zj < -thr).astype(np.int8))
        )
        starts = self._starts()
        sgi = sg[self.fv]
        has_pos = np.maximum.reduceat(sgi > 0, starts[:-1])
        has_neg = np.maximum.reduceat(sgi < 0, starts[:-1])
        cut = has_pos & has_neg
        if not np.any(cut):
            return src
        # Edges of cut cells with strictly opposite signs get one new vertex each.
        nxt = np.arange(1, self.fv.size + 1)
        nxt[starts[1:] - 1] = starts[:-1]
        inc = np.nonzero(np.repeat(cut, self.lengths))[0]
        a, b = self.fv[inc], self.fv[nxt[inc]]
        crossing = sg[a].astype(np.int16) * sg[b] < 0
        lo = np.minimum(a[crossing], b[crossing])
        hi = np.maximum(a[crossing], b[crossing])
        keys, first = np.unique(lo * self.V.n + hi, return_index=True)
        ea, eb = lo[first], hi[first]
        new_ids = self._new_vertices(Z, j, ea, eb)
        newid = dict(zip(keys.tolist(), new_ids.tolist()))
        N = self.V.n - new_ids.size  # the key base used above
        pieces: list[list[int]] = []
        fv, sgl = self.fv, sgi
        for c in np.nonzero(cut)[0].tolist():
            s, e = int(starts[c]), int(starts[c + 1])
            vs = fv[s:e].tolist()
            ss = sgl[s:e].tolist()
            k = e - s
            p_: list[int] = []
            n_: list[int] = []
            for i in range(k):
                va, sa = vs[i], ss[i]
                if sa >= 0:
                    p_.append(va)
                if sa <= 0:
                    n_.append(va)
                i2 = i + 1 if i + 1 < k else 0
                if sa * ss[i2] < 0:
                    vb = vs[i2]
                    w = newid[va * N + vb if va < vb else vb * N + va]
                    p_.append(w)
                    n_.append(w)
            pieces.append(p_)
            pieces.append(n_)
        keep_inc = np.repeat(~cut, self.lengths)
        self.fv = np.concatenate(
            [self.fv[keep_inc], np.fromiter(chain.from_iterable(pieces), dtype=np.int64)]
        )
        self.lengths = np.concatenate(
            [self.lengths[~cut], np.array([len(q) for q in pieces], dtype=np.int64)]
        )
        return np.concatenate([src[~cut], np.repeat(src[cut], 2)])

    def _new_vertices(self, Z: _Grow, j: int, ea: np.ndarray, eb: np.ndarray) -> np.ndarray:
        """Vertices where unit j's zero line crosses edges (ea, eb); values interpolated."""
        V = self.V.a
        Za = Z.a
        za, zb = Za[ea, j], Za[eb, j]
        if self.exact:
            wa, wb = np.abs(za), np.abs(zb)
            big = nb.maxabs(wa) + nb.maxabs(wb)
            if (
                V.dtype == object
                or Za.dtype == object
                or big * max(nb.maxabs(V), nb.maxabs(Za)) >= nb.INT64_LIMIT
            ):
                wa, wb = nb.to_object(wa), nb.to_object(wb)
                Vn = wa[:, None] * nb.to_object(V[eb]) + wb[:, None] * nb.to_object(V[ea])
                Zn = wa[:, None] * nb.to_object(Za[eb]) + wb[:, None] * nb.to_object(Za[ea])
            else:
                Vn = wa[:, None] * V[eb] + wb[:, None] * V[ea]
                Zn = wa[:, None] * Za[eb] + wb[:, None] * Za[ea]
            g = np.gcd.reduce(Vn, axis=1)
            g = np.where(g == 0, 1, g)
            Vn, Zn = Vn // g[:, None], Zn // g[:, None]
            if Vn.dtype == object:
                Vn, Zn = nb.shrink(Vn), nb.shrink(Zn)
        else:
            wa, wb = np.abs(za), np.abs(zb)
            tot = (wa + wb)[:, None]
            Vn = (wa[:, None] * V[eb] + wb[:, None] * V[ea]) / tot
            Zn = (wa[:, None] * Za[eb] + wb[:, None] * Za[ea]) / tot
        Zn[:, j] = 0
        ids = self.V.append(Vn)
        Z.append(Zn)
        return ids

    # -- results --------------------------------------------------------------------------
    def linear_regions(self):
        """(labels per cell, number of linear regions, number of edges, boundary segments)."""
        starts = self._starts()
        C = self.num_cells
        nxt = np.arange(1, self.fv.size + 1)
        nxt[starts[1:] - 1] = starts[:-1]
        a, b = self.fv, self.fv[nxt]
        cell_of = np.repeat(np.arange(C), self.lengths)
        key = np.minimum(a, b) * self.V.n + np.maximum(a, b)
        order = np.argsort(key, kind="stable")
        ks = key[order]
        shared = np.nonzero(ks[1:] == ks[:-1])[0]
        ca, cb = cell_of[order[shared]], cell_of[order[shared + 1]]
        G = self.M
        if self.exact:
            same = np.all((G[ca] == G[cb]).reshape(len(ca), G[0].size), axis=1)
        else:
            scale = self.tol * (self.AM[ca] + self.AM[cb])
            same = np.all((np.abs(G[ca] - G[cb]) <= scale).reshape(len(ca), G[0].size), axis=1)
        g = coo_matrix((np.ones(int(same.sum())), (ca[same], cb[same])), shape=(C, C))
        n_lin, labels = connected_components(g, directed=False)
        n_edges = int(np.unique(ks).size)
        # Segments separating different linear regions (for pictures), plus the domain border.
        diff = ~same
        border = np.ones(ks.size, dtype=bool)
        border[shared] = False
        border[shared + 1] = False
        seg_a = np.concatenate([a[order[shared[diff]]], a[order[border]]])
        seg_b = np.concatenate([b[order[shared[diff]]], b[order[border]]])
        P = self.points()
        boundaries = np.stack([P[seg_a], P[seg_b]], axis=1)
        return labels, int(n_lin), n_edges, boundaries

    def points(self) -> np.ndarray:
        V = self.V.a
        if self.exact:
            return np.array([[int(x) / int(w), int(y) / int(w)] for x, y, w in V.tolist()])
        return V[:, :2] / V[:, 2:3]

    def polygons(self) -> list[np.ndarray]:
        P = self.points()
        starts = self._starts()
        return [P[self.fv[starts[c] : starts[c + 1]]] for c in range(self.num_cells)]

    def patterns(self) -> np.ndarray:
        idx = np.arange(self.num_cells)
        bits = []
        for src, active in reversed(self.history):
            bits.append(active[idx])
            idx = src[idx]
        if not bits:
            return np.zeros((self.num_cells, 0), dtype=bool)
        return np.concatenate(bits[::-1], axis=1)


def _reduce_rows(V: np.ndarray) -> np.ndarray:
    g = np.gcd.reduce(V, axis=1)
    g = np.where(g == 0, 1, g)
    return V // g[:, None]
