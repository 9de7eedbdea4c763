"""Validation, arithmetic-mode selection and backend construction shared by the exact
engines."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from ..arith import AUTO_MAX_EXPONENT, dyadic_exponent
from ..errors import InvalidInput, WrongType
from ..network import ReLUNet
from .filtered import FilteredBackend
from .kernel import Backend
from .rational import RationalBackend, integer_layers

# integer_layers lives with the integer backend; it stays importable from here, where the
# engines found it before.
__all__ = [
    "DEFAULT_TOL",
    "MODES",
    "check_mode",
    "check_net",
    "integer_layers",
    "make_backend",
    "resolve_mode",
]

MODES = ("auto", "exact", "float64")
# Accepted for compatibility and ignored: both modes give exact counts (no tolerance).
DEFAULT_TOL = 1e-9


def check_net(net: Any) -> ReLUNet:
    if not isinstance(net, ReLUNet):
        raise WrongType(f"expected a tern_jax ReLUNet, got {type(net).__name__}")
    return net


def check_mode(mode: str, tol: float) -> None:
    """Validate ``mode`` and the (ignored) ``tol`` so old calls keep failing loudly on
    nonsense values."""
    if mode not in MODES:
        raise InvalidInput(f"mode must be one of {MODES}, got {mode!r}")
    if not (isinstance(tol, (int, float)) and np.isfinite(tol) and 0 <= tol < 1):
        raise InvalidInput(f"tol must be a finite number in [0, 1), got {tol!r}")


def resolve_mode(mode: str, net: ReLUNet, data: list[Fraction]) -> str:
    """Resolve "auto" to the faster of two exact arithmetics: "exact" (integers) when every
    parameter and every point coordinate is a rational with a small denominator (integer,
    ternary, power-of-two scaled), else "float64" (filtered float64 with exact fallback)."""
    if mode != "auto":
        return mode
    for w, b in zip(net.weights, net.biases):
        if max(dyadic_exponent(w), dyadic_exponent(b)) > AUTO_MAX_EXPONENT:
            return "float64"
    if any(f.denominator > 2**AUTO_MAX_EXPONENT for f in data):
        return "float64"
    return "exact"


def make_backend(net: ReLUNet, mode: str, k: int, blas: bool = True) -> Backend:
    """The backend of a resolved ``mode`` for a k-dimensional domain (k = 1 line, 2 plane,
    n0 for a box of input space). ``blas``: whether exact integer products may run as
    float64 BLAS products where that is exact (:func:`tern_jax.arith.use_blas`)."""
    return RationalBackend(net, k, blas) if mode == "exact" else FilteredBackend(net, k)
