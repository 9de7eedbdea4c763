"""Does a pattern whose representative sample lies on a breakpoint have a region?

The representative's *face units* (pre-activation exactly 0 on a piece that is not
identically 0) decide it: every other unit has slack there. :func:`exact_interior` settles
it exactly from the face units' integer gradients where it can (math.md 5.1); otherwise
:func:`has_interior`'s linear program decides.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog

LP_MARGIN = 1e-9  # inradius (in grid units, rows normalised) a region needs to count
PERTURB_MARGIN = 1e-6  # cosine :func:`exact_interior` needs to settle a pattern


def face_normals(pieces, row: int, point: np.ndarray) -> np.ndarray:
    """(f, k) pieces' gradients of the face units at ``point``: pre-activation exactly 0 on
    a piece that is not constant (row ``row`` of :func:`walk`'s pieces)."""
    normals = []
    for g, c, _ in pieces:
        g0 = g[row]  # (k, n)
        face = (point @ g0 + c[row] == 0) & np.any(g0 != 0, axis=0)
        normals.append(g0[:, face].T)
    return np.concatenate(normals)


def exact_interior(normals: np.ndarray) -> bool | None:
    """Does the region of a pattern whose representative has these integer face normals
    have interior? Exact where it answers; None leaves it to the linear program.

    Every unit that is not a face has slack at the representative, a face unit's bit is 0,
    and the representative is a cell centre inside the open box; so the region has interior
    iff some direction ``d`` has ``n . d < 0`` for every face normal ``n`` (then
    ``point + eps d`` and a small ball around it lie inside). Yes when ``d`` = minus the sum
    of the unit normals does it (cosines below ``-PERTURB_MARGIN``, far beyond float64
    rounding); no when two normals point in exactly opposite directions (Gordan: a unit and
    its negation, common in ternary networks, meet only on their common hyperplane).
    """
    if normals.shape[0] == 0:
        return True
    unit = normals / np.linalg.norm(normals, axis=1, keepdims=True)
    d = -unit.sum(axis=0)
    size = np.linalg.norm(d)
    if size > 0 and np.max(unit @ d) / size < -PERTURB_MARGIN:
        return True
    ints = normals.astype(np.int64)  # integers below 2^53 (the exact walk's bound)
    prim = ints // np.gcd.reduce(ints, axis=1, keepdims=True)
    seen = {tuple(v) for v in prim}
    if any(tuple(-v) in seen for v in prim):
        return False
    return None


def has_interior(pieces, row: int, box) -> bool:
    """Linear program: does the pattern's region (inside ``box``) contain a ball?"""
    rows, rhs = [], []
    for g, c, on in pieces:
        gr, cr, onr = g[row].T, c[row], on[row]  # (n, k), (n,), (n,)
        keep = onr | np.any(gr != 0, axis=1) | (cr != 0)
        sign = np.where(onr, -1.0, 1.0)[keep]  # active: -(g y + c) + s <= 0
        norm = np.maximum(np.linalg.norm(gr[keep], axis=1), 1.0)
        rows.append(np.column_stack([sign[:, None] * gr[keep], np.ones(keep.sum()) * norm])
                    / norm[:, None])  # fmt: skip
        rhs.append(-sign * cr[keep] / norm)
    a_ub, b_ub = np.concatenate(rows), np.concatenate(rhs)
    k = a_ub.shape[1] - 1
    cost = np.zeros(k + 1)
    cost[-1] = -1.0  # maximise s
    res = linprog(cost, A_ub=a_ub, b_ub=b_ub, bounds=[*([box] * k), (None, 1.0)],
                  method="highs")  # fmt: skip
    return bool(res.status == 0 and -res.fun > LP_MARGIN)
