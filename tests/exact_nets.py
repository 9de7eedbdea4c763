"""Networks for the exact engines' property tests: generic, degenerate and rescaled, and an
independent reference count for one hidden layer (a line arrangement, in Fractions).

Independent of the engines: plain Fraction arithmetic and numpy array surgery.
"""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
from hypothesis import strategies as st

import tern_jax as tj


def net_from(ws, bs, acts) -> tj.ReLUNet:
    return tj.ReLUNet.from_arrays([np.asarray(w, float) for w in ws], bs, acts)


@st.composite
def generic_nets(draw, n0: int = 2, max_width: int = 5, max_depth: int = 3):
    """Gaussian float64 weights and biases (no structure; denominators near 2**52)."""
    depth = draw(st.integers(1, max_depth))
    widths = [draw(st.integers(1, max_width)) for _ in range(depth)]
    acts = [draw(st.sampled_from(["relu", "relu", "identity"])) for _ in range(depth)]
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    dims = [n0, *widths, 1]
    ws = [rng.normal(size=(a, b)) for a, b in itertools.pairwise(dims)]
    bs = [rng.normal(size=b) for b in dims[1:]]
    return net_from(ws, bs, [*acts, "identity"])


@st.composite
def degenerate_nets(draw, n0: int = 2, max_width: int = 5, max_depth: int = 3):
    """Small networks with degeneracies the engines must count exactly: dyadic or ternary
    layers, or a Gaussian first layer under ternary ones; duplicated units, dead units (zero
    weights and bias), first-layer units through one point, cancelling pairs (a duplicate
    with negated outgoing weights), layers rescaled by powers of two (the next layer
    compensating)."""
    depth = draw(st.integers(1, max_depth))
    widths = [draw(st.integers(2, max_width)) for _ in range(depth)]
    acts = ["relu"] + [draw(st.sampled_from(["relu", "identity"])) for _ in range(depth - 1)]
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    ternary = draw(st.booleans())
    # Gaussian first layer under ternary layers: later units' zero sets pass exactly
    # through first-layer vertices (h_i - h_j = 0 where both are 0), but float64 values
    # there are rounding noise, not 0. This is what the filtered backend must settle.
    gaussian_first = draw(st.booleans())
    dims = [n0, *widths, 1]
    ws, bs = [], []
    for li, (a, b) in enumerate(itertools.pairwise(dims)):
        if gaussian_first and li == 0:
            ws.append(rng.normal(size=(a, b)))
            bs.append(rng.normal(size=b))
        elif ternary or gaussian_first:
            ws.append(rng.integers(-1, 2, size=(a, b)).astype(float))
            bias = rng.integers(-1, 2, size=b).astype(float)
            bs.append(bias * (0 if gaussian_first and rng.random() < 0.7 else 1))
        else:
            ws.append(np.round(rng.normal(size=(a, b)) * 8) / 8)
            bs.append(np.round(rng.normal(size=b) * 8) / 8)
    if draw(st.booleans()):  # first-layer units through one dyadic point p
        p = np.round(rng.normal(size=n0) * 4) / 4
        k = draw(st.integers(2, widths[0]))
        bs[0][:k] = -(p @ ws[0][:, :k])
    for _ in range(draw(st.integers(0, 3))):
        layer = draw(st.integers(0, depth - 1))
        i, j = rng.integers(0, widths[layer], size=2)
        kind = draw(st.sampled_from(["duplicate", "dead", "cancel", "scale"]))
        if kind == "duplicate" and i != j:
            ws[layer][:, j], bs[layer][j] = ws[layer][:, i], bs[layer][i]
        elif kind == "dead":
            ws[layer][:, j], bs[layer][j] = 0.0, 0.0
        elif kind == "cancel" and i != j:
            ws[layer][:, j], bs[layer][j] = ws[layer][:, i], bs[layer][i]
            ws[layer + 1][j] = -ws[layer + 1][i]
        elif kind == "scale":
            e = int(rng.integers(-20, 21))
            ws[layer] = ws[layer] * 2.0**e
            bs[layer] = bs[layer] * 2.0**e
            ws[layer + 1] = ws[layer + 1] * 2.0**-e
    return net_from(ws, bs, [*acts, "identity"])


@st.composite
def one_layer_arrangements(draw, max_units: int = 8):
    """(weights (2, n), biases (n,)) of one ReLU layer in the plane whose zero lines pass
    near [-1, 1]^2: generic (Gaussian), or dyadic with duplicates, parallels, dead units
    and several lines through one point."""
    n = draw(st.integers(1, max_units))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    if draw(st.booleans()):
        w = rng.normal(size=(2, n))
        pts = rng.uniform(-1, 1, size=(n, 2))
        return w, -np.einsum("in,ni->n", w, pts)
    w = np.round(rng.normal(size=(2, n)) * 4) / 4
    pts = np.round(rng.uniform(-1, 1, size=(n, 2)) * 4) / 4
    hub = np.round(rng.uniform(-1, 1, size=2) * 4) / 4
    for j in range(n):
        kind = draw(st.sampled_from(["plain", "plain", "hub", "copy", "parallel", "dead"]))
        if kind == "hub":
            pts[j] = hub
        elif kind == "copy" and j:
            w[:, j], pts[j] = w[:, j - 1], pts[j - 1]
        elif kind == "parallel" and j:
            w[:, j] = w[:, j - 1]
        elif kind == "dead":
            w[:, j] = 0.0
            pts[j] = 0.0
    return w, -np.einsum("in,ni->n", w, pts)


def arrangement(w: np.ndarray, b: np.ndarray):
    """Regions of the lines w[:, j] . x + b[j] = 0 (exact, in Fractions) inside any convex
    window holding all their crossings and a point of every line: 1 + lines + sum over
    crossing points of (lines through it - 1), identical lines counted once. Returns
    (regions, largest |coordinate| of a crossing or of a line's point nearest 0)."""
    lines = []
    for a, c, d in zip(w[0], w[1], b):
        a, c, d = Fraction(float(a)), Fraction(float(c)), Fraction(float(d))
        if a == 0 and c == 0:
            continue  # constant pre-activation: no line
        s = a if a != 0 else c
        if (a / s, c / s, d / s) not in lines:
            lines.append((a / s, c / s, d / s))
    through: dict = {}
    reach = Fraction(0)
    for a, c, d in lines:  # the line's point nearest the origin
        t = -d / (a * a + c * c)
        reach = max(reach, abs(a * t), abs(c * t))
    for (a1, c1, d1), (a2, c2, d2) in itertools.combinations(lines, 2):
        det = a1 * c2 - a2 * c1
        if det == 0:
            continue
        p = ((c1 * d2 - c2 * d1) / det, (a2 * d1 - a1 * d2) / det)
        through.setdefault(p, set()).update({(a1, c1, d1), (a2, c2, d2)})
        reach = max(reach, abs(p[0]), abs(p[1]))
    regions = 1 + len(lines) + sum(len(s) - 1 for s in through.values())
    return regions, reach
