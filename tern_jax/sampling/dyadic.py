"""Exact dyadic arrays: integer numerators over one power of two, for host-side planning.

Every float64 is a dyadic rational, so a domain's corners and a network's parameters can be
combined exactly (the first layer folded with the domain's affine map, layers rescaled to
integers) before anything runs on device. A :class:`Dyadic` holds ``num / 2**exp`` with
``num`` an int64 array while :mod:`tern_jax.arith` proves it cannot overflow, Python ints
otherwise. Only the planning of a run uses it (small arrays, once per run).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from .. import arith


def _shl(num: np.ndarray, k: int) -> np.ndarray:
    """``num * 2**k`` exactly (k >= 0)."""
    if k == 0:
        return num
    if num.dtype != object and arith.maxabs(num) < arith.INT64_LIMIT >> k:
        return num << np.int64(k)
    return arith.to_object(num) * (1 << k)


def add_exact(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a + b`` of integer arrays, exactly (int64 when safe, Python ints otherwise)."""
    if a.dtype != object and b.dtype != object:
        if arith.maxabs(a) + arith.maxabs(b) < arith.INT64_LIMIT:
            return a + b
    return arith.shrink(arith.to_object(a) + arith.to_object(b))


def two_adic(num: np.ndarray) -> int:
    """The largest k with 2**k dividing every entry (0 for an all-zero array)."""
    num = np.asarray(num)
    if num.dtype != object:
        nz = num[num != 0].astype(np.int64)
        if not nz.size:
            return 0
        low = np.bitwise_and(nz, -nz)  # lowest set bit, a power of two
        return int(np.min(np.log2(low.astype(np.float64))).round())
    nz = [int(v) for v in num.ravel() if v]
    if not nz:
        return 0
    return min((v & -v).bit_length() - 1 for v in nz)


@dataclasses.dataclass(frozen=True)
class Dyadic:
    """The exact array ``num / 2**exp`` (``exp`` may be negative: ``num * 2**-exp``)."""

    num: np.ndarray
    exp: int

    @classmethod
    def of(cls, values: Any) -> Dyadic:
        """Exact value of a float64 array (or anything numpy reads as one)."""
        num, k = arith.dyadic(np.asarray(values, dtype=np.float64))
        return cls(num, int(k))

    @classmethod
    def integers(cls, num: np.ndarray) -> Dyadic:
        return cls(np.asarray(num), 0)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.num.shape)

    def at_exp(self, exp: int) -> np.ndarray:
        """Numerators over ``2**exp`` (``exp >= self.exp``)."""
        if exp < self.exp:
            raise ValueError("at_exp can only refine the denominator")
        return _shl(self.num, exp - self.exp)

    def __add__(self, other: Dyadic) -> Dyadic:
        e = max(self.exp, other.exp)
        return Dyadic(add_exact(self.at_exp(e), other.at_exp(e)), e)

    def __neg__(self) -> Dyadic:
        return Dyadic(-self.num, self.exp)

    def __sub__(self, other: Dyadic) -> Dyadic:
        return self + (-other)

    def __mul__(self, other: Dyadic) -> Dyadic:
        """Elementwise product (numpy broadcasting)."""
        return Dyadic(arith.mul(self.num, other.num), self.exp + other.exp)

    def __matmul__(self, other: Dyadic) -> Dyadic:
        return Dyadic(arith.matmul(self.num, other.num), self.exp + other.exp)

    def times_pow2(self, k: int) -> Dyadic:
        """``self * 2**k`` (exact, no rounding)."""
        return Dyadic(self.num, self.exp - k)

    def normalized(self) -> Dyadic:
        """The same values with the smallest numerators (common power of two divided out)."""
        v = two_adic(self.num)
        if v == 0:
            return self
        num = self.num // (1 << v) if self.num.dtype == object else self.num >> np.int64(v)
        return Dyadic(arith.shrink(num) if num.dtype == object else num, self.exp - v)

    def as_integers(self) -> np.ndarray:
        """The values as integers (int64 or Python ints); they must be integers."""
        if self.exp <= 0:
            return _shl(self.num, -self.exp)
        if two_adic(self.num) < self.exp and np.any(self.num != 0):
            raise ValueError("not integers")
        if self.num.dtype == object:
            return arith.shrink(self.num // (1 << self.exp))
        return self.num >> np.int64(self.exp)

    def to_float(self) -> np.ndarray:
        """Correctly rounded float64 values (inf where out of range)."""
        num = self.num
        if num.dtype != object and arith.maxabs(num) <= arith.FLOAT_EXACT:
            return np.ldexp(num.astype(np.float64), -self.exp)
        out = []
        for v in num.ravel():
            v = int(v)
            try:
                out.append(v / (1 << self.exp) if self.exp >= 0 else float(v << -self.exp))
            except OverflowError:
                out.append(np.inf if v > 0 else -np.inf)
        return np.array(out, dtype=np.float64).reshape(num.shape)

    def max_magnitude(self) -> float:
        """max |value| as a float (inf when it exceeds float64's range)."""
        if self.num.size == 0:
            return 0.0
        return float(np.max(np.abs(self.to_float())))
