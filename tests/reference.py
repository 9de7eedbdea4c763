"""Reference computations for the tests, independent of the engines under test."""

from __future__ import annotations

from fractions import Fraction

import numpy as np


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
