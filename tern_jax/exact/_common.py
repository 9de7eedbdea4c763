"""Validation and arithmetic-mode selection shared by the exact engines."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from ..arith import AUTO_MAX_EXPONENT, dyadic, dyadic_exponent
from ..errors import InvalidInput, WrongType
from ..network import ReLUNet

MODES = ("auto", "exact", "float64")
DEFAULT_TOL = 1e-9


def check_net(net: Any) -> ReLUNet:
    if not isinstance(net, ReLUNet):
        raise WrongType(f"expected a tern_jax ReLUNet, got {type(net).__name__}")
    return net


def check_mode(mode: str, tol: float) -> None:
    if mode not in MODES:
        raise InvalidInput(f"mode must be one of {MODES}, got {mode!r}")
    if not (isinstance(tol, (int, float)) and np.isfinite(tol) and 0 <= tol < 1):
        raise InvalidInput(f"tol must be a finite number in [0, 1), got {tol!r}")


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
