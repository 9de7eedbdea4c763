"""Validation and arithmetic-mode selection shared by the exact engines."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from ..network import ReLUNet
from ._numbers import AUTO_MAX_EXPONENT, dyadic, dyadic_exponent

MODES = ("auto", "exact", "float64")
DEFAULT_TOL = 1e-9


def check_net(net: Any) -> ReLUNet:
    if not isinstance(net, ReLUNet):
        raise ValueError(f"expected a tern_jax ReLUNet, got {type(net).__name__}")
    return net


def check_mode(mode: str, tol: float) -> None:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if not (isinstance(tol, (int, float)) and np.isfinite(tol) and 0 <= tol < 1):
        raise ValueError(f"tol must be a finite number in [0, 1), got {tol!r}")


def integer_layers(net: ReLUNet) -> list[tuple[np.ndarray, np.ndarray, int]]:
    """Per layer ``(Wn, bn, k)`` with ``W = Wn / 2**k`` and ``b = bn / 2**k`` exactly."""
    out = []
    for w, b in zip(net.weights, net.biases):
        both = np.concatenate([np.asarray(w).ravel(), np.asarray(b).ravel()])
        nums, k = dyadic(both)
        wn = nums[: w.size].reshape(w.shape)
        bn = nums[w.size :]
        out.append((wn, bn, k))
    return out


def resolve_mode(mode: str, net: ReLUNet, data: list[Fraction]) -> str:
    """Resolve "auto": "exact" when every parameter and every point coordinate is a rational
    with a small denominator (integer, ternary, power-of-two scaled), else "float64"."""
    if mode != "auto":
        return mode
    for w, b in zip(net.weights, net.biases):
        if max(dyadic_exponent(w), dyadic_exponent(b)) > AUTO_MAX_EXPONENT:
            return "float64"
    if any(f.denominator > 2**AUTO_MAX_EXPONENT for f in data):
        return "float64"
    return "exact"


def point(value: Any, n0: int, what: str) -> list[Fraction]:
    """A point of R^n0 (a scalar is accepted when n0 == 1) as exact Fractions."""
    from ._numbers import as_fractions

    if isinstance(value, (str, Fraction, int, float, np.integer, np.floating)):
        vals = [value]
    else:
        try:
            vals = list(np.asarray(value, dtype=object).ravel())
        except (TypeError, ValueError):
            raise ValueError(f"{what}: cannot read {value!r} as a point") from None
    if len(vals) != n0:
        raise ValueError(f"{what}: expected {n0} coordinates for this network, got {len(vals)}")
    return as_fractions(vals, what)


def forward64(net: ReLUNet, x: np.ndarray) -> np.ndarray:
    """Outputs f(x) in numpy float64 (for plots; counts never depend on it)."""
    h = np.asarray(x, dtype=np.float64)
    for w, b, act in zip(net.weights, net.biases, net.activations):
        h = h @ np.asarray(w) + np.asarray(b)
        if act == "relu":
            h = np.maximum(h, 0.0)
    return h
