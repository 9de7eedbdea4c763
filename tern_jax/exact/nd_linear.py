"""Facet adjacency and linear regions of the n-dimensional engine's final complex.

Every cell carries one label per facet (:mod:`.nd_complex`); the facet's vertex set is the
set of the cell's vertices carrying that label. In a conforming complex two cells sharing a
facet see the same vertex set, and an interior facet belongs to exactly two cells, so facet
adjacency is found by grouping (cell, facet) vertex sets: first by an order-independent
128-bit hash and the size, then every matched pair is verified vertex by vertex (the count
never rests on a hash). Linear regions are the connected components of the graph of
facet-adjacent cells with equal output maps (decided exactly by the backend, :mod:`.kernel`).
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from .nd_complex import CHUNK_ROWS, Complex, _has_bit, _offsets, _starts

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _mix(v: np.ndarray, seed: int) -> np.ndarray:
    """splitmix64 finaliser of vertex ids (a bijection of uint64, so ids stay distinct)."""
    with np.errstate(over="ignore"):
        z = v.astype(np.uint64) + np.uint64(seed)
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        return z ^ (z >> np.uint64(31))


def _groups(cx: Complex) -> tuple[np.ndarray, np.ndarray]:
    """(cell, label) of every (cell, facet) group, in CSR order of the facet lists."""
    cells = np.repeat(np.arange(cx.num_cells), cx.flen)
    return cells, cx.fl


def _facet_rows(cx: Complex, gc: np.ndarray, gh: np.ndarray, vst: np.ndarray):
    """(group position, vertex id) of the vertices of the given groups' facets."""
    sizes = cx.clen[gc]
    cs = np.cumsum(sizes)
    lo = 0
    while lo < gc.size:
        base = int(cs[lo - 1]) if lo else 0
        hi = max(int(np.searchsorted(cs, base + CHUNK_ROWS, side="right")), lo + 1)
        gi, off = _offsets(sizes[lo:hi])
        x = cx.cv[vst[gc[lo:hi]][gi] + off]
        on = _has_bit(cx.INC, x, gh[lo:hi][gi])
        yield lo + gi[on], x[on]
        lo = hi


def facet_pairs(cx: Complex) -> tuple[np.ndarray, np.ndarray, int, int]:
    """(cell a, cell b) of every interior facet, number of interior and boundary facets."""
    gc, gh = _groups(cx)
    G = gc.size
    vst = _starts(cx.clen)
    h1 = np.zeros(G, dtype=np.uint64)
    h2 = np.zeros(G, dtype=np.uint64)
    ln = np.zeros(G, dtype=np.int64)
    with np.errstate(over="ignore"):
        for gi, x in _facet_rows(cx, gc, gh, vst):
            np.add.at(h1, gi, _mix(x, 1))
            np.add.at(h2, gi, _mix(x, 2))
            np.add.at(ln, gi, 1)
    order = np.lexsort((h2, h1, ln))
    same = (
        (ln[order][1:] == ln[order][:-1])
        & (h1[order][1:] == h1[order][:-1])
        & (h2[order][1:] == h2[order][:-1])
    )
    ia, ib = order[:-1][same], order[1:][same]
    # Verify every candidate pair vertex by vertex (sorted vertex lists must be equal).
    ok = _verify(cx, gc, gh, vst, ia, ib)
    ia, ib = ia[ok], ib[ok]
    matched = np.zeros(G, dtype=bool)
    matched[ia] = matched[ib] = True
    if np.bincount(np.concatenate([ia, ib]), minlength=G).max(initial=0) > 1:
        raise RuntimeError("internal error: a facet shared by more than two cells")
    n0 = cx.n0
    if np.any(gh[matched] < 2 * n0) or np.any(gh[~matched] >= 2 * n0):
        raise RuntimeError("internal error: the cell complex is not conforming")
    return gc[ia], gc[ib], int(ia.size), int(G - 2 * ia.size)


def _verify(cx, gc, gh, vst, ia, ib) -> np.ndarray:
    if not ia.size:
        return np.zeros(0, dtype=bool)
    ug, inv = np.unique(np.concatenate([ia, ib]), return_inverse=True)
    gis, xs = [], []
    for gi, x in _facet_rows(cx, gc[ug], gh[ug], vst):
        gis.append(gi)
        xs.append(x)
    # Sort every group's vertex ids: one sort of the combined key group * Nv + id.
    N = cx.num_vertices
    key = np.sort(np.concatenate(gis) * N + np.concatenate(xs))
    gi, x = key // N, key % N
    lens = np.bincount(gi, minlength=ug.size)
    st = _starts(lens)
    a, b = inv[: ia.size], inv[ia.size :]
    k, off = _offsets(lens[a])
    eq = x[st[a][k] + off] == x[st[b][k] + off]
    ok = np.ones(ia.size, dtype=bool)
    np.logical_and.at(ok, k, eq)
    return ok


def linear_regions(cx: Complex, same) -> tuple[np.ndarray, int, int, int]:
    """(label per cell, number of linear regions, interior facets, boundary facets).

    ``same(ca, cb)``: whether the output maps of the cells of each facet are equal.
    """
    ca, cb, n_int, n_bd = facet_pairs(cx)
    C = cx.num_cells
    same = same(ca, cb)
    g = coo_matrix((np.ones(int(same.sum())), (ca[same], cb[same])), shape=(C, C))
    n_lin, labels = connected_components(g, directed=False)
    return labels, int(n_lin), n_int, n_bd
