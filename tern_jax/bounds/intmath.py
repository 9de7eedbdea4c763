"""Exact big-integer arithmetic with size limits, for the bounds and the constructions'
closed forms (arguments are checked by :mod:`tern_jax.checks`)."""

from __future__ import annotations

import functools
import math

from ..errors import InvalidInput, TooLarge

# Exact integers beyond this many bits (~18,000 decimal digits) are refused up front: past
# there big-integer arithmetic takes seconds to minutes and the digits say nothing more
# than the size, which the TooLarge message states.
MAX_BITS = 60_000
# serra2018_upper's dynamic programme is refused beyond this much big-integer work (steps
# times kilobits of the numbers involved; about a second on a laptop core).
MAX_DP_OPS = 200_000


def _too_large(bits: float, what: str) -> TooLarge:
    return TooLarge(
        f"{what} has about 10^{bits * math.log10(2):,.0f} (more than {MAX_BITS:,} bits); "
        "the exact integer is not computed"
    )


def _prod(values, what: str = "the product") -> int:
    out = 1
    for v in values:
        out *= v
        if out.bit_length() > MAX_BITS:
            raise _too_large(out.bit_length(), what)
    return out


def _pow(base: int, e: int, what: str = "the power") -> int:
    """base**e, refused up front when it would exceed MAX_BITS."""
    if base > 1 and e * math.log2(base) > MAX_BITS:
        raise _too_large(e * math.log2(base), what)
    return base**e


def _log2_comb(n: int, k: int) -> float:
    """log2 C(n, k) from log-gamma (a size estimate, never used as a value)."""
    return (math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)) / math.log(2)


@functools.lru_cache(maxsize=256)
def _sum_binom(n: int, d: int) -> int:
    """sum_{j=0}^{d} C(n, j), by the recurrence C(n, j) = C(n, j-1) (n - j + 1) / j (one
    big-integer multiply-divide by small numbers per term; ``math.comb`` per term costs
    far more when n and d are large)."""
    if d >= n:
        if n > MAX_BITS:
            raise _too_large(n, f"sum_(j<={d}) C({n}, j)")
        return 1 << n
    # the largest term is C(n, k); the sum is at most (d + 1) C(n, k)
    log2_term = _log2_comb(n, min(d, n // 2))
    if log2_term + math.log2(d + 1) > MAX_BITS:
        raise _too_large(log2_term, f"sum_(j<={d}) C({n}, j)")
    total = term = 1
    for j in range(1, d + 1):
        term = term * (n - j + 1) // j
        total += term
    return total


def require_widths(widths: tuple[int, ...], minimum: int, what: str, bound: str) -> None:
    """Raise InvalidInput unless every width is at least ``minimum`` (``bound`` writes the
    hypothesis, e.g. "3 n0"), naming the first width that fails."""
    for i, w in enumerate(widths):
        if w < minimum:
            raise InvalidInput(
                f"{what} hypothesis 'every n_l >= {bound}' fails: widths[{i}] = {w} < "
                f"{bound} = {minimum}"
            )
