"""Reference computations for the tests, independent of the engines under test."""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
from hypothesis import strategies as st

import tern_jax as tj


def exact_patterns(net, num: np.ndarray, den: int) -> np.ndarray:
    """Reference patterns at the points num / den, in exact integer arithmetic.

    Independent of the engines: a plain forward pass over Python ints (every float64
    parameter is a dyadic rational), so pre-activations that cancel to 0 are exactly 0.
    """
    h = np.asarray(num, dtype=object)
    scale = den
    bits = []
    for w, b, act in zip(net.weights, net.biases, net.activations):
        fr = [Fraction(float(x)) for x in (*np.ravel(w), *np.ravel(b))]
        big = max(f.denominator for f in fr)
        wn = np.array([int(Fraction(float(x)) * big) for x in np.ravel(w)], dtype=object)
        bn = np.array([int(Fraction(float(x)) * big) for x in np.ravel(b)], dtype=object)
        z = h @ wn.reshape(w.shape) + bn * scale  # true value: z / (scale * big)
        scale *= big
        if act == "relu":
            bits.append((z > 0).astype(bool))
            z = np.where(z > 0, z, 0)
        h = z
    return np.concatenate(bits, axis=1) if bits else np.zeros((len(h), 0), bool)


@st.composite
def small_nets(draw, n0=None, ternary=None, max_width=5):
    """Random small networks for property tests: ternary codes, or dyadic reals (multiples
    of 1/8, on which float64 arithmetic is exact enough that float64 and exact modes must
    agree). ``n0`` None draws the input dimension from 1..3."""
    n0 = draw(st.integers(1, 3)) if n0 is None else n0
    ternary = draw(st.booleans()) if ternary is None else ternary
    depth = draw(st.integers(1, 3))
    widths = [draw(st.integers(1, max_width)) for _ in range(depth)]
    acts = [draw(st.sampled_from(["relu", "relu", "identity"])) for _ in range(depth)]
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    dims = [n0, *widths, draw(st.integers(1, 2))]
    return random_net(rng, dims, acts, ternary, grid=8)


def random_net(rng, dims, acts, ternary=False, grid=None):
    """A network of layer sizes ``dims`` (input first) and hidden activations ``acts``:
    ternary codes, or Gaussian reals (rounded to multiples of 1/grid when ``grid`` is set)."""
    ws, bs = [], []
    for a, b in itertools.pairwise(dims):
        if ternary:
            ws.append(rng.integers(-1, 2, size=(a, b)).astype(float))
            bs.append(rng.integers(-1, 2, size=b).astype(float))
        else:
            w, v = rng.normal(size=(a, b)), rng.normal(size=b)
            ws.append(w if grid is None else np.round(w * grid) / grid)
            bs.append(v if grid is None else np.round(v * grid) / grid)
    return tj.ReLUNet.from_arrays(ws, bs, [*acts, "identity"])
