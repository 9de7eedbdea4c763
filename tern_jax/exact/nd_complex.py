"""The conforming cell complex of the n-dimensional engine, refined one ReLU unit at a time.

State (all numpy, no per-cell Python objects):

- vertices ``V`` (Nv, n0+1): homogeneous integer coordinates (X_1..X_n0, W), W > 0,
  gcd-reduced, so a vertex shared by several cells is stored once and shared exactly;
- incidence sets ``INC`` (Nv, words) uint64 bitsets: the hyperplanes a vertex lies on (box
  facets ``0..2 n0 - 1``, then ReLU unit ``u`` as ``2 n0 + u``);
- values ``Z`` (Nv, width): the current layer's pre-activations at every vertex times
  ``W * D`` (continuous across cells, so one row per vertex);
- cells in CSR form: vertex ids ``cv`` with lengths ``clen``, facet labels ``fl`` with
  lengths ``flen`` (one hyperplane label per facet of the cell);
- per cell the current layer's affine map ``M`` (C, n0+1, width): ``Z_v = V_v @ M_cell``.

A unit cuts a cell iff some vertex value is strictly positive and some strictly negative
(exact signs). Zero values never cut: hyperplanes through vertices, duplicate units (after the
first cut the duplicate sees no strict sign change), units identically zero or constant on a
cell need no special case, and both pieces of a cut have positive volume.

New vertices lie on edges with strictly opposite end signs. Without general position, edges
are found by the combinatorial test of the double-description method: vertices u, w of a cell
form an edge iff no third vertex x of the cell has ``INC[x] >= INC[u] & INC[w]``. It is exact
for non-simple polytopes, and valid because every label at a vertex of a cell names an affine
function that is >= 0 or <= 0 on the whole cell (box facets; units already processed, which no
longer cross any cell) and every facet of the cell is among the labels. A new vertex on edge
(u, w) has labels ``INC[u] & INC[w] | {unit}``; an old vertex with value exactly 0 gains the
unit. Each edge gets one new vertex (keyed by its end ids), shared by all cells of the edge.

Facet labels: a cut cell's facet h stays a facet of the piece on the side where the facet has
a vertex of strict sign; both pieces gain the cutting unit as a facet.
"""

from __future__ import annotations

import sys

import numpy as np

from .. import arith as nb
from ._store import Grow

# Rows of (vertex pair x cell vertex) checks built at once in the edge test (bounds memory).
CHUNK_ROWS = 1 << 21


def _offsets(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For groups of sizes ``counts``: (group of each row, index of the row in its group)."""
    total = int(counts.sum())
    grp = np.repeat(np.arange(counts.size), counts)
    first = np.cumsum(counts) - counts
    return grp, np.arange(total) - first[grp]


def _starts(lengths: np.ndarray) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)


def _has_bit(inc: np.ndarray, rows: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Whether vertex ``rows[i]`` carries label ``labels[i]``."""
    words = inc[rows, labels >> 6]
    return ((words >> (labels & 63).astype(np.uint64)) & np.uint64(1)).astype(bool)


def _combine_rows(za: np.ndarray, zb: np.ndarray, A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Exact ``|zb| * A + |za| * B`` row by row (int64 when a bound proves it safe)."""
    wa, wb = np.abs(zb), np.abs(za)
    if (
        nb.any_object(wa, wb, A, B)
        or (nb.maxabs(wa) + nb.maxabs(wb)) * max(nb.maxabs(A), nb.maxabs(B)) >= nb.INT64_LIMIT
    ):
        wa, wb, A, B = nb.to_object(wa), nb.to_object(wb), nb.to_object(A), nb.to_object(B)
    return wa[:, None] * A + wb[:, None] * B


class Complex:
    """A conforming complex of convex cells (see the module docstring)."""

    def __init__(self, V, inc, cv, clen, fl, flen, n0: int):
        self._V, self._INC, self._Z = Grow(V, copy=False), Grow(inc, copy=False), None
        self.cv, self.clen = cv, clen
        self.fl, self.flen = fl, flen
        self.n0 = n0
        self.edge_tests = 0  # vertex pairs that went through the combinatorial edge test
        self.cuts = 0  # cells cut

    @property
    def V(self) -> np.ndarray:
        return self._V.a

    @property
    def INC(self) -> np.ndarray:
        return self._INC.a

    @property
    def Z(self) -> np.ndarray | None:
        return None if self._Z is None else self._Z.a

    @Z.setter
    def Z(self, values: np.ndarray | None) -> None:
        self._Z = None if values is None else Grow(values, copy=False)

    @property
    def num_cells(self) -> int:
        return int(self.clen.size)

    @property
    def num_vertices(self) -> int:
        return self._V.n

    def memory_bytes(self) -> int:
        """About the bytes the complex holds: its arrays' buffers, plus the Python integers
        of object-dtype arrays (exact values past int64), sized from a sample of them."""
        arrays = [self._V.buf, self._INC.buf, self.cv, self.clen, self.fl, self.flen]
        if self._Z is not None:
            arrays.append(self._Z.buf)
        total = 0
        for a in arrays:
            total += a.nbytes
            if a.dtype == object and a.size:
                flat = a.reshape(-1)
                sample = flat[:: max(1, flat.size // 64)][:64]
                total += a.size * sum(sys.getsizeof(x) for x in sample) // len(sample)
        return total

    def rows_of(self, cells: np.ndarray, lengths: np.ndarray, flat: np.ndarray):
        """Flat rows (cell position, entry) of the given cells of a CSR array."""
        st = _starts(lengths)
        k, off = _offsets(lengths[cells])
        return k, flat[st[cells][k] + off]

    # -- one unit -------------------------------------------------------------------------
    def cut(self, j: int, label: int) -> np.ndarray | None:
        """Cut every cell crossed by unit j (column j of ``Z``) along its zero set.

        Returns the new cell -> old cell map (None when nothing was cut; cells then keep
        their ids).
        """
        sg = nb.sign(self.Z[:, j])
        zero = np.nonzero(sg == 0)[0]
        if zero.size:
            self.INC[zero, label >> 6] |= np.uint64(1 << (label & 63))
        st = _starts(self.clen)
        sgi = sg[self.cv]
        head = st[:-1]
        cut = np.maximum.reduceat(sgi > 0, head) & np.maximum.reduceat(sgi < 0, head)
        cc = np.nonzero(cut)[0]
        if not cc.size:
            return None
        self.cuts += int(cc.size)
        K = cc.size
        rk, rv = self.rows_of(cc, self.clen, self.cv)  # vertex rows of the cut cells
        rs = sg[rv]
        klen = self.clen[cc]
        kst = _starts(klen)
        fk, fh = self.rows_of(cc, self.flen, self.fl)
        fmask = np.zeros((K, self.INC.shape[1]), dtype=np.uint64)
        np.bitwise_or.at(fmask, (fk, fh >> 6), np.uint64(1) << (fh & 63).astype(np.uint64))
        rf = self.INC[rv] & fmask[rk]  # each row's facets in its cell
        eu, ew, ek = self._edges(rk, rv, rs, kst, klen, K, rf)
        nid = self._new_vertices(j, label, eu, ew)
        # Pieces: 2k (values >= 0 side) and 2k + 1 (<= 0 side); new vertices in both.
        pos, neg = rs >= 0, rs <= 0
        pid = np.concatenate([2 * rk[pos], 2 * rk[neg] + 1, 2 * ek, 2 * ek + 1])
        pv = np.concatenate([rv[pos], rv[neg], nid, nid])
        order = np.argsort(pid, kind="stable")
        plen = np.bincount(pid, minlength=2 * K)
        # Facets: kept on each side where the facet has a vertex of strict sign, + the cut.
        # The facets touched by a cell's strictly positive (negative) vertices: one OR.
        head = kst[:-1]
        touched_pos = np.bitwise_or.reduceat(np.where((rs > 0)[:, None], rf, 0), head, axis=0)
        touched_neg = np.bitwise_or.reduceat(np.where((rs < 0)[:, None], rf, 0), head, axis=0)
        fpos = _has_bit(touched_pos, fk, fh)
        fneg = _has_bit(touched_neg, fk, fh)
        qid = np.concatenate(
            [2 * fk[fpos], 2 * fk[fneg] + 1, 2 * np.arange(K), 2 * np.arange(K) + 1]
        )
        qh = np.concatenate([fh[fpos], fh[fneg], np.full(2 * K, label, dtype=fh.dtype)])
        qorder = np.argsort(qid, kind="stable")
        qlen = np.bincount(qid, minlength=2 * K)
        keep = ~cut
        self.cv = np.concatenate([self.cv[np.repeat(keep, self.clen)], pv[order]])
        self.clen = np.concatenate([self.clen[keep], plen])
        self.fl = np.concatenate([self.fl[np.repeat(keep, self.flen)], qh[qorder]])
        self.flen = np.concatenate([self.flen[keep], qlen])
        old = np.arange(cut.size)
        return np.concatenate([old[keep], np.repeat(cc, 2)])

    def _edges(self, rk, rv, rs, kst, klen, K, rf):
        """Edges (u, w, cut cell) with u > 0 > w in value, by the combinatorial test.

        Only the cell's facet labels (``rf``: each row's labels that are facets of its cell)
        take part: they describe the cell fully, so
        the test stays exact, and a vertex on exactly n0 of them is simple. From a simple
        vertex u, any n0 - 1 of its facets span an edge from u, whose other end is the one
        vertex w also on them: two simple ends meet by equal keys (cell, facets minus one);
        a simple and a non-simple end form an edge iff they share n0 - 1 facets; pairs with
        no simple end get the full test (no third vertex on all their common facets).
        """
        n0 = self.n0
        simple = np.bitwise_count(rf).sum(axis=1) == n0
        pm, nm = rs > 0, rs < 0
        eu, ew, ek = self._simple_edges(rk, rv, rs, rf, simple & (pm | nm))
        a1, b1 = _pairs(rk, pm & ~simple, nm, K)
        a2, b2 = _pairs(rk, pm & simple, nm & ~simple, K)
        a, b = np.concatenate([a1, a2]), np.concatenate([b1, b2])
        common = rf[a] & rf[b]
        enough = np.bitwise_count(common).sum(axis=1) >= n0 - 1
        one_simple = simple[a] | simple[b]
        sure, full = enough & one_simple, enough & ~one_simple
        self.edge_tests += int(eu.size + sure.sum() + full.sum())
        eu = np.concatenate([eu, rv[a[sure]]])
        ew = np.concatenate([ew, rv[b[sure]]])
        ek = np.concatenate([ek, rk[a[sure]]])
        u, w, k, common = rv[a[full]], rv[b[full]], rk[a[full]], common[full]
        is_edge = np.zeros(u.size, dtype=bool)
        sizes = klen[k]
        cs = np.cumsum(sizes)
        lo = 0
        while lo < u.size:
            base = int(cs[lo - 1]) if lo else 0
            hi = max(int(np.searchsorted(cs, base + CHUNK_ROWS, side="right")), lo + 1)
            sl = slice(lo, hi)
            pi, xo = _offsets(sizes[sl])
            x = rv[kst[k[sl]][pi] + xo]
            c = common[sl][pi]
            inside = np.all((self.INC[x] & c) == c, axis=1)
            # u and w themselves always pass; an edge has no third vertex on its face.
            is_edge[sl] = np.bincount(pi, weights=inside, minlength=hi - lo) == 2
            lo = hi
        return (
            np.concatenate([eu, u[is_edge]]),
            np.concatenate([ew, w[is_edge]]),
            np.concatenate([ek, k[is_edge]]),
        )

    def _simple_edges(self, rk, rv, rs, rf, rows):
        """Edges between two simple vertices of opposite signs, by matching edge keys."""
        n0 = self.n0
        idx = np.nonzero(rows)[0]
        S, words = idx.size, rf.shape[1]
        if S == 0 or n0 == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
        F = rf[idx]
        bits = np.unpackbits(F.view(np.uint8), axis=1, bitorder="little")
        pos = np.nonzero(bits)[1].reshape(S, n0)  # the n0 facet labels of every vertex
        keys = np.repeat(F[:, None, :], n0, axis=1)
        si, fi = np.meshgrid(np.arange(S), np.arange(n0), indexing="ij")
        keys[si, fi, pos >> 6] ^= np.uint64(1) << (pos & 63).astype(np.uint64)
        table = np.concatenate(
            [np.repeat(rk[idx], n0)[:, None].astype(np.uint64), keys.reshape(S * n0, words)],
            axis=1,
        )
        order = np.lexsort(table.T[::-1])
        t = table[order]
        row = np.repeat(idx, n0)[order]
        same = np.all(t[1:] == t[:-1], axis=1) & (rs[row[1:]] != rs[row[:-1]])
        first, second = row[:-1][same], row[1:][same]
        up = rs[first] > 0
        u = np.where(up, first, second)
        w = np.where(up, second, first)
        return rv[u], rv[w], rk[u]

    def _new_vertices(self, j: int, label: int, eu, ew) -> np.ndarray:
        """One new vertex per distinct edge; returns the new id of every (u, w) row."""
        N = self.num_vertices
        lo, hi = np.minimum(eu, ew), np.maximum(eu, ew)
        _, first, inv = np.unique(lo * N + hi, return_index=True, return_inverse=True)
        a, b = lo[first], hi[first]
        Z, V = self.Z, self.V
        za, zb = Z[a, j], Z[b, j]
        Vn = _combine_rows(za, zb, V[a], V[b])
        Zn = _combine_rows(za, zb, Z[a], Z[b])
        g = np.gcd.reduce(Vn, axis=1)
        g = np.where(g == 0, 1, g)
        Vn, Zn = Vn // g[:, None], Zn // g[:, None]
        Zn[:, j] = 0
        inc = self.INC[a] & self.INC[b]
        inc[:, label >> 6] |= np.uint64(1 << (label & 63))
        self._V.append(Vn)
        self._Z.append(Zn)
        self._INC.append(inc)
        return N + inv.ravel()


def _pairs(rk: np.ndarray, first: np.ndarray, second: np.ndarray, K: int):
    """All (row a, row b) with a in ``first``, b in ``second`` and the same cell (rows are
    grouped by cell)."""
    a_rows, b_rows = np.nonzero(first)[0], np.nonzero(second)[0]
    nb_ = np.bincount(rk[b_rows], minlength=K)
    bfirst = np.cumsum(nb_) - nb_
    grp, off = _offsets(nb_[rk[a_rows]])
    a = a_rows[grp]
    return a, b_rows[bfirst[rk[a]] + off]
