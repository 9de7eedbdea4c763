"""Exact activation-region counts in a box by brute force: one LP per partial pattern.

Independent of the package's estimators and engines (it shares only the network's arrays):
the ReLU units are decided one at a time in layer order; a partial pattern fixes the masks of
the earlier layers, so the next unit's pre-activation is an affine function of x, and the
partial pattern is kept when the box holds a ball of positive radius on which every decided
unit has its sign (active: z > 0; inactive: z < 0, so regions of positive volume only). The
LP (scipy's HiGHS) maximises that radius t:

    a_u . x + c_u >= t |a_u| (active),  a_u . x + c_u <= -t |a_u| (inactive),
    lo + t <= x <= hi - t,

and the pattern survives when t > ``MARGIN`` times the box's size. A unit whose
pre-activation is constant on the partial region (a_u = 0) takes the sign of c_u without a
branch (inactive when c_u <= 0, as everywhere in the package). Depth-first search, so
memory stays small; the number of LPs is about twice the number of feasible partial
patterns, which limits it to a dozen or so ReLU units in a few input dimensions.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog

MARGIN = 1e-9


def _affine_layers(net):
    """Layers as (W, b, is_relu) in float64, the output layer dropped."""
    return [
        (np.asarray(w, float), np.asarray(b, float), act == "relu")
        for w, b, act in zip(net.weights[:-1], net.biases[:-1], net.activations[:-1])
    ]


def _radius(rows: list, lo: np.ndarray, hi: np.ndarray) -> float:
    """Largest t of the module's LP for constraints rows = [(a, c, sign)], sign +1 active."""
    n = lo.shape[0]
    A, b = [], []
    for a, c, s in rows:
        # s (a.x + c) >= t |a|  <=>  -s a.x + t |a| <= s c
        A.append(np.r_[-s * a, np.linalg.norm(a)])
        b.append(s * c)
    eye = np.eye(n)
    A += list(np.hstack([eye, np.ones((n, 1))])) + list(np.hstack([-eye, np.ones((n, 1))]))
    b += list(hi) + list(-lo)
    res = linprog(
        np.r_[np.zeros(n), -1.0],
        A_ub=np.array(A),
        b_ub=np.array(b),
        bounds=[(None, None)] * n + [(0, None)],
        method="highs",
    )
    return float(res.x[n]) if res.status == 0 else -1.0


def count_box_regions(net, lo, hi) -> tuple[int, int]:
    """(activation regions of positive volume in the box [lo, hi], LPs solved)."""
    n = net.input_dim
    lo = np.broadcast_to(np.asarray(lo, float), (n,)).copy()
    hi = np.broadcast_to(np.asarray(hi, float), (n,)).copy()
    tol = MARGIN * float(np.linalg.norm(hi - lo))
    layers = _affine_layers(net)
    lps = 0

    def search(li: int, M: np.ndarray, v: np.ndarray, rows: list, unit: int, z=None) -> int:
        # M (n, width), v (width,): the current layer input h = x @ M + v on this region.
        nonlocal lps
        if li == len(layers):
            return 1
        W, b, relu = layers[li]
        if z is None:
            z = (M @ W, v @ W + b)
        A, c = z
        if not relu:
            return search(li + 1, A, c, rows, 0)
        if unit == A.shape[1]:
            on = np.array([s > 0 for s in _signs(rows, li)], bool)
            return search(li + 1, A * on, c * on, rows, 0)
        a, cu = A[:, unit], c[unit]
        if np.linalg.norm(a) <= 1e-12 * max(1.0, abs(cu)):
            s = 1 if cu > 0 else -1
            return search(li, M, v, [*rows, (a, cu, s, li, True)], unit + 1, z)
        total = 0
        for s in (1, -1):
            new = [*rows, (a, cu, s, li, False)]
            lps += 1
            if _radius([(r[0], r[1], r[2]) for r in new if not r[4]], lo, hi) > tol:
                total += search(li, M, v, new, unit + 1, z)
        return total

    count = search(0, np.eye(n), np.zeros(n), [], 0)
    return count, lps


def _signs(rows: list, li: int) -> list:
    return [r[2] for r in rows if r[3] == li]
