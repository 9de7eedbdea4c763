"""Exact integer helpers shared by the exact engines (line, plane and n-D).

Every float64 is a dyadic rational, so a layer's parameters can be written exactly as integer
numerators over one power of two. Arithmetic runs in numpy int64 while a magnitude bound
proves it cannot overflow, and falls back to numpy object arrays of Python ints otherwise
(slower, never wrong).
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np

from .errors import InvalidInput

# Largest magnitude we let an int64 result reach (headroom below 2**63).
INT64_LIMIT = 2**62
# float64 represents every integer of magnitude <= 2**53 exactly.
FLOAT_EXACT = 2**53
# "auto" mode counts exactly when every denominator is at most 2**AUTO_MAX_EXPONENT.
AUTO_MAX_EXPONENT = 20


def maxabs(a: np.ndarray) -> int:
    """Largest absolute value of an integer (int64 or object) array, as a Python int."""
    if a.size == 0:
        return 0
    if a.dtype == object:
        return int(np.max(np.abs(a)))  # abs and max of Python ints, looped in C
    # Two reductions instead of an |a| copy (integer arrays here stay below 2**63 in size).
    return max(int(a.max()), -int(a.min()))


def any_object(*arrays: np.ndarray) -> bool:
    """Whether some array holds Python integers (the slow, unbounded path)."""
    return any(a.dtype == object for a in arrays)


def to_object(a: np.ndarray) -> np.ndarray:
    """The same integers as an object array of Python ints."""
    if a.dtype == object:
        return a
    out = np.empty(a.shape, dtype=object)
    out[...] = a.astype(np.int64).tolist() if a.ndim else int(a)
    return out


def shrink(a: np.ndarray) -> np.ndarray:
    """Object array back to int64 when every entry fits (keeps the fast path fast)."""
    if a.dtype == object and maxabs(a) < INT64_LIMIT:
        return a.astype(np.int64)
    return a


def dyadic_exponent(a: Any) -> int:
    """Smallest k >= 0 such that every entry of the float64 array ``a`` times 2**k is an
    integer (every finite float64 is a dyadic rational)."""
    a = np.asarray(a, dtype=np.float64)
    if not np.all(np.isfinite(a)):
        raise InvalidInput("non-finite value where an exact rational was expected")
    nz = a[a != 0]
    if not nz.size:
        return 0
    mant, expo = np.frexp(nz)  # nz = mant * 2**expo, 0.5 <= |mant| < 1
    m = np.abs(mant * 2.0**53).astype(np.int64)  # exact 53-bit integer mantissa
    tz = np.log2((m & -m).astype(np.float64)).astype(np.int64)  # trailing zero bits
    return int(max(0, int(np.max(53 - expo.astype(np.int64) - tz))))


def dyadic(a: Any) -> tuple[np.ndarray, int]:
    """Write a float64 array exactly as ``num / 2**k`` with integer ``num`` and minimal k >= 0.

    ``num`` is int64 when it fits, else an object array of Python ints.
    """
    a = np.asarray(a, dtype=np.float64)
    k = dyadic_exponent(a)
    scaled = a * 2.0**k if k < 1000 else None
    if (
        scaled is not None
        and np.all(np.isfinite(scaled))
        and np.max(np.abs(scaled), initial=0) < 2.0**62
    ):
        return scaled.astype(np.int64), k
    flat = [int(Fraction(float(x)) * (1 << k)) for x in a.ravel()]
    out = np.empty(len(flat), dtype=object)
    out[:] = flat
    out = out.reshape(a.shape)
    return out, k


def fractions_common(values: Any) -> tuple[np.ndarray, int]:
    """Rationals (ints, Fractions, floats) -> (integer numerators, common denominator)."""
    fr = [v if isinstance(v, Fraction) else Fraction(v) for v in values]
    den = 1
    for f in fr:
        den = den * f.denominator // math.gcd(den, f.denominator)
    nums = [int(f * den) for f in fr]
    arr = np.empty(len(nums), dtype=object)
    arr[:] = nums
    return shrink(arr), den


def as_fractions(values: Any, what: str) -> list[Fraction]:
    """Validate a point given as numbers, Fractions or numeric strings; NaN/inf -> InvalidInput."""
    out = []
    for v in values:
        if isinstance(v, str):
            try:
                f = Fraction(v.strip())
            except (ValueError, ZeroDivisionError) as e:
                raise InvalidInput(f"{what}: {v!r} is not a number") from e
        elif isinstance(v, Fraction):
            f = v
        else:
            try:
                fv = float(v)
            except (TypeError, ValueError) as e:
                raise InvalidInput(f"{what}: {v!r} is not a number") from e
            if not math.isfinite(fv):
                raise InvalidInput(f"{what}: non-finite value {fv!r}")
            f = Fraction(int(v)) if isinstance(v, (int, np.integer)) else Fraction(fv)
        out.append(f)
    return out


def matmul(a: np.ndarray, b: np.ndarray, blas: bool = True) -> np.ndarray:
    """Exact integer ``a @ b``: int64 when provably safe, Python ints otherwise.

    Below 2**53 a wide product runs as a float64 BLAS product, which is exact there (every
    product and partial sum is an integer that float64 represents) and much faster than
    numpy's integer loop; narrow ones (inner dimension <= 16) stay in int64, as fast.
    ``blas=False`` keeps numpy's integer loop for every product (see :func:`use_blas`).
    """
    if a.dtype != object and b.dtype != object and a.shape[-1] > 0:
        # Column sums in float64 (an int64 sum could wrap around), rounded up generously.
        colsum = float(np.max(np.abs(b.astype(np.float64)).sum(axis=0), initial=0.0))
        bound = float(maxabs(a)) * colsum * (1 + 2.0**-40)
        if blas and use_blas(a.shape[-1], bound):
            return (a.astype(np.float64) @ b.astype(np.float64)).astype(np.int64)
        if bound < INT64_LIMIT:
            return a @ b
    return to_object(a) @ to_object(b)


def use_blas(inner: int, bound: float) -> bool:
    """Whether an integer product with inner dimension ``inner`` and entries of the result
    bounded by ``bound`` runs exactly, and faster, as a float64 BLAS product.

    Faster as measured with BLAS on one thread (benchmarks/RESULTS.md: the plane engine on
    ternary networks of width 128). With several BLAS threads on a busy machine, the threads'
    idle spinning after each call competes with the numpy work that follows; callers whose
    products are small next to that work (the n-D engine) pass ``blas=False`` to
    :func:`matmul` and to the rational backend.
    """
    return inner > 16 and bound <= FLOAT_EXACT


def mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Exact elementwise product (int64 when safe)."""
    if a.dtype != object and b.dtype != object and maxabs(a) * maxabs(b) < INT64_LIMIT:
        return a * b
    return to_object(a) * to_object(b)


def to_float(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num/den correctly rounded to float64 (so the map is monotone in the true value)."""
    if num.size == 0:
        return np.zeros(num.shape, dtype=np.float64)
    if num.dtype != object and den.dtype != object:
        if maxabs(num) <= FLOAT_EXACT and maxabs(den) <= FLOAT_EXACT:
            return num.astype(np.float64) / den.astype(np.float64)
    # Python's int / int is correctly rounded.
    return np.array([int(n) / int(d) for n, d in zip(num.ravel(), den.ravel())]).reshape(num.shape)


def reduce_fractions(num: np.ndarray, den: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Divide numerator and denominator by their gcd (den > 0 stays > 0)."""
    if num.size == 0:
        return num, den
    g = np.gcd(num, den)
    g = np.where(g == 0, 1, g)
    num, den = num // g, den // g
    return shrink(num) if num.dtype == object else num, shrink(den) if den.dtype == object else den


def sign(a: np.ndarray) -> np.ndarray:
    """Sign as int8 for int64, object or float arrays."""
    return ((a > 0).astype(np.int8) - (a < 0).astype(np.int8)).astype(np.int8)
