"""Bounds on the maximal number of linear regions of general (real-weight) ReLU networks
(math.md section 2), as exact Python integers. Each function checks the hypotheses under
which its formula is stated and raises :class:`~tern_jax.errors.InvalidInput` naming the
hypothesis otherwise."""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence

from ..checks import check_int, check_ints
from ..errors import TooLarge
from .intmath import (
    MAX_BITS,
    MAX_DP_OPS,
    _log2_comb,
    _pow,
    _prod,
    _sum_binom,
    _too_large,
    require_widths,
)

# -- math.md section 2: general ReLU networks -----------------------------------------------


def zaslavsky(n0: int, n1: int) -> int:
    """Regions of ``n1`` hyperplanes in general position in R^n0: sum_{j<=n0} C(n1, j).

    This is the exact number of (activation = linear, generically) regions of one hidden ReLU
    layer of width ``n1`` with random weights, over all of R^n0.
    """
    n0 = check_int(n0, "n0", 1)
    n1 = check_int(n1, "n1", 1)
    return _sum_binom(n1, n0)


def montufar2014(n0: int, widths: Sequence[int]) -> int:
    """Montufar, Pascanu, Cho, Bengio (2014) lower bound on the maximal number of regions.

    prod_{l<L} floor(n_l / n0)^n0 * sum_{j<=n0} C(n_L, j). Hypothesis: every n_l >= n0.
    """
    n0 = check_int(n0, "n0", 1)
    ws = check_ints(widths, "widths", 1)
    require_widths(ws, n0, "montufar2014", "n0")
    what = "montufar2014"
    return _prod([*(_pow(w // n0, n0, what) for w in ws[:-1]), _sum_binom(ws[-1], n0)], what)


def serra2018_lower(n0: int, widths: Sequence[int]) -> int:
    """Serra, Tjandraatmadja, Ramalingam (2018) lower bound on the maximal number of regions.

    prod_{l<L} (floor(n_l / n0) + 1)^n0 * sum_{j<=n0} C(n_L, j). Hypothesis (as recalled in
    math.md section 2): every n_l >= 3 n0.
    """
    n0 = check_int(n0, "n0", 1)
    ws = check_ints(widths, "widths", 1)
    require_widths(ws, 3 * n0, "serra2018_lower", "3 n0")
    what = "serra2018_lower"
    return _prod([*(_pow(w // n0 + 1, n0, what) for w in ws[:-1]), _sum_binom(ws[-1], n0)], what)


def serra2018_upper(n0: int, widths: Sequence[int]) -> int:
    """Serra et al. (2018) upper bound: sum over (j_1..j_L) in J of prod_l C(n_l, j_l).

    J = {0 <= j_l <= min(n0, n_1 - j_1, ..., n_{l-1} - j_{l-1}, n_l)}. Holds for every
    architecture (no hypothesis beyond n0, n_l >= 1). Computed exactly by dynamic
    programming over the running minimum ("cap"), O(n0) big-integer steps per layer.
    """
    n0 = check_int(n0, "n0", 1)
    ws = check_ints(widths, "widths", 1)
    states = {n0: 1}  # cap = min(n0, n_1 - j_1, ..., n_{l-1} - j_{l-1}) -> summed weight
    ops = 0
    for n in ws:
        cap = max(states)
        bits = _log2_comb(n, min(cap, n, n // 2)) + states[cap].bit_length()
        if bits > MAX_BITS:  # one term of the sum is already too large
            raise _too_large(bits, "serra2018_upper")
        # big-integer work of this layer: (caps + terms) steps on numbers of `bits` bits
        widest = max(v.bit_length() for v in states.values()) + _log2_comb(n, min(cap, n // 2))
        ops += (len(states) + min(cap, n) + 1) * (1 + int(widest) // 1024)
        if ops > MAX_DP_OPS:
            raise TooLarge(
                f"serra2018_upper for n0 = {n0} and {len(ws)} layers needs more than "
                f"{MAX_DP_OPS:,} big-integer steps; it is not computed"
            )
        states = _serra_layer(states, n)
        top = max(v.bit_length() for v in states.values())
        if top > MAX_BITS:
            raise _too_large(top, "serra2018_upper")
    return sum(states.values())


def _serra_layer(states: dict[int, int], n: int) -> dict[int, int]:
    """One layer of width n: every (cap, weight) spreads weight * C(n, j), j <= min(cap, n),
    to the new cap min(cap, n - j).

    Terms with j <= n - cap keep the cap: one prefix sum of binomials. The others
    (j > n - cap) go to the new cap n - j, from every state with cap >= max(n - j + 1, j):
    a suffix sum of weights over caps. So a layer costs O(#caps + n0) big-integer steps.
    """
    top = min(max(states), n)
    binom = [1]
    for j in range(1, top + 1):
        binom.append(binom[-1] * (n - j + 1) // j)
    prefix = list(itertools.accumulate(binom))
    nxt: dict[int, int] = {}
    for cap, weight in states.items():
        keep = min(cap, n - cap)
        if keep >= 0:
            nxt[cap] = nxt.get(cap, 0) + weight * prefix[keep]
    caps = sorted(states)
    suffix = list(itertools.accumulate(states[c] for c in reversed(caps)))[::-1]
    for j in range(top + 1):
        i = bisect.bisect_left(caps, max(n - j + 1, j))
        if i < len(caps):
            nxt[n - j] = nxt.get(n - j, 0) + suffix[i] * binom[j]
    return nxt


def montufar2017_upper(n0: int, widths: Sequence[int]) -> int:
    """Montufar (2017) upper bound: prod_l sum_{j<=d_l} C(n_l, j), d_l = min(n0, n_1..n_l).

    Holds for every architecture (no hypothesis beyond n0, n_l >= 1).
    """
    n0 = check_int(n0, "n0", 1)
    ws = check_ints(widths, "widths", 1)
    caps = itertools.accumulate(ws, min, initial=n0)
    next(caps)
    return _prod((_sum_binom(n, d) for n, d in zip(ws, caps)), "montufar2017_upper")


def exact_max_1d(widths: Sequence[int]) -> int:
    """Exact maximal number of linear regions of a ReLU network on the real line.

    prod_l (n_l + 1), where Serra's lower and upper bounds coincide for n0 = 1; hypothesis:
    every n_l >= 3 (the lower bound's hypothesis with n0 = 1).
    """
    ws = check_ints(widths, "widths", 1)
    require_widths(ws, 3, "exact_max_1d (Serra's lower bound with n0 = 1)", "3")
    return _prod(w + 1 for w in ws)
