"""The line engine's refinement: split every piece where a ReLU pre-activation changes sign.

Along x(t) = p + t d every piece of the current partition carries the affine maps (in t) of
the current layer's units (:class:`~.kernel.Maps`, k = 1). A unit changes sign strictly
inside a piece exactly when its signs at the two ends are strictly opposite (an affine
function), so a ReLU layer asks the backend for the signs of every unit at both ends of
every piece, turns each strict sign change into a crossing point, sorts the crossings of a
piece (merging equal ones: duplicate units, several units through one point) and cuts the
piece there. A unit is active on a sub-piece when it is positive inside it: right of its
crossing when it increases, left when it decreases, and, without a crossing, when it is
positive at either end. Unbounded ends are handled by the sign at infinity: the slope's
sign, or the constant's when the slope is 0.

All pieces are processed at once with numpy, a chunk of pieces at a time (bounding the
temporaries at about CHUNK_ENTRIES pieces x units); every sign comes from the backend, so
the same code is exact in both arithmetics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..network import ReLUNet
from .kernel import Backend, Maps

# Pieces x units processed at once in a ReLU layer (bounds temporary memory).
CHUNK_ENTRIES = 1 << 22
# End markers for unbounded pieces (point ids are >= 0).
NEG_INF, POS_INF = -1, -2


@dataclass
class LinePartition:
    """The final pieces: end point ids (or NEG_INF / POS_INF), the output maps, and the
    activation pattern of every piece when asked for."""

    left: np.ndarray
    right: np.ndarray
    out: Maps
    patterns: np.ndarray | None


def refine(
    backend: Backend, net: ReLUNet, maps: Maps, left: np.ndarray, right: np.ndarray, keep: bool
) -> LinePartition:
    """Push the input maps through every layer, splitting pieces at ReLU sign changes."""
    pats = np.zeros((maps.num_pieces, 0), dtype=bool) if keep else None
    for li, act in enumerate(net.activations[:-1]):
        maps = backend.affine(maps, li)
        if act == "relu":
            maps, left, right, pats = _relu_layer(backend, maps, left, right, pats)
    out = backend.affine(maps, len(net.activations) - 1)
    return LinePartition(left, right, out, pats)


def _relu_layer(backend: Backend, maps: Maps, left, right, pats):
    P, n = maps.num_pieces, maps.width
    step = max(1, CHUNK_ENTRIES // max(n, 1))
    parts = []
    for s0 in range(0, P, step):
        idx = np.arange(s0, min(P, s0 + step))
        parts.append(_split(backend, maps, idx, left[idx], right[idx]))
    src = np.concatenate([q[0] for q in parts])
    active = np.concatenate([q[1] for q in parts])
    left = np.concatenate([q[2] for q in parts])
    right = np.concatenate([q[3] for q in parts])
    if pats is not None:
        pats = np.concatenate([pats[src], active], axis=1)
    return backend.select(maps, src, active), left, right, pats


def _end_signs(backend: Backend, maps: Maps, rows: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Signs (pieces x units) at one end of pieces ``rows``; at +-infinity the sign of the
    slope (times the direction) or, for a flat unit, of its constant."""
    out = np.empty((rows.size, maps.width), dtype=np.int8)
    fin = ends >= 0
    if np.any(fin):
        out[fin] = backend.signs(maps, rows[fin], ends[fin])
    for marker, direction in ((NEG_INF, -1), (POS_INF, 1)):
        at = np.nonzero(ends == marker)[0]
        if at.size:
            slope = backend.coef_signs(maps, rows[at], 0) * np.int8(direction)
            const = backend.coef_signs(maps, rows[at], 1)
            out[at] = np.where(slope != 0, slope, const)
    return out


def _split(backend: Backend, maps: Maps, rows: np.ndarray, left, right):
    """Split pieces ``rows`` (with ends ``left``, ``right``) at their interior crossings.

    Returns (new piece -> parent piece, active bits, new left ends, new right ends).
    """
    P, n = rows.size, maps.width
    sl = _end_signs(backend, maps, rows, left)
    sr = _end_signs(backend, maps, rows, right)
    cross = (sl * sr) < 0
    pi, ui = np.nonzero(cross)
    planes = backend.add_planes(maps, rows[pi], ui)
    pts = backend.add_points(planes[:, None])
    order, eq = backend.order(pi, pts)
    # Distinct cut points, in (piece, position) order; rank 1..m of each crossing's cut.
    distinct = np.ones(order.size, dtype=bool)
    distinct[1:] = ~eq
    cut = order[distinct]
    m = np.bincount(pi[cut], minlength=P)
    first = np.concatenate([[0], np.cumsum(m)[:-1]])
    rank = np.zeros((P, n), dtype=np.int64)
    rank[pi[order], ui[order]] = np.cumsum(distinct) - first[pi[order]]
    counts = m + 1
    parent = np.repeat(np.arange(P), counts)
    j = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    jj, rp, srp = j[:, None], rank[parent], sr[parent]
    active = np.where(
        cross[parent], np.where(srp > 0, jj >= rp, jj < rp), (sl[parent] > 0) | (srp > 0)
    )
    is_first, is_last = j == 0, j == m[parent]
    new_left = np.empty(j.size, dtype=np.int64)
    new_left[is_first] = left
    new_left[~is_first] = pts[cut]
    new_right = np.empty(j.size, dtype=np.int64)
    new_right[is_last] = right
    new_right[~is_last] = pts[cut]
    return rows[parent], active, new_left, new_right
