"""Exact order of points along a line, from float keys with error bounds.

Both backends sort a line's crossing points the same way: by a float key with a bound
``err`` on its distance to the exact position (0 for the exact backend's correctly rounded
keys, a rigorous radius for the filtered one). Items whose intervals [key - err, key + err]
overlap a neighbour's (within one group) form *runs*; only runs are looked at exactly: they
are re-sorted by correctly rounded exact keys (a monotone map, so distinct floats are in the
right order), equal keys are compared by exact cross-multiplication, and the rare distinct
rationals with equal float keys are sorted as Fractions.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

import numpy as np

from .. import arith as nb

ExactPairs = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def certified_order(
    groups: np.ndarray,
    key: np.ndarray,
    err: np.ndarray,
    exact_pairs: ExactPairs,
    keys_are_exact: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """``(order, eq)``: ``order`` sorts the items by (group, exact position); ``eq[i]``
    says that items ``order[i]`` and ``order[i + 1]`` are the same point of one group.

    ``exact_pairs(idx)`` returns the exact positions of items ``idx`` as integer arrays
    ``(num, den)`` with den > 0. ``keys_are_exact``: ``key`` is already the correctly rounded
    exact position (then ``err`` is 0 and runs are ties of equal keys).
    """
    n = key.size
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, bool)
    bad = ~(np.isfinite(key) & np.isfinite(err))
    key = np.where(bad, 0.0, key)
    err = np.where(bad, np.inf, err)
    # Groups are usually intervals of a line in order (a piece's crossings lie inside it),
    # so one stable sort by key already sorts by (group, key); check, else sort by both.
    order = np.argsort(key, kind="stable")
    g = groups[order]
    if np.any(g[1:] < g[:-1]):
        order = np.lexsort((key, groups))
        g = groups[order]
    k, e = key[order], err[order]
    if keys_are_exact:  # runs are ties of equal keys
        link = (g[1:] == g[:-1]) & (k[1:] == k[:-1])
    else:
        link = _overlaps(g, k - e, k + e)
    eq = np.zeros(n - 1, dtype=bool)
    if not np.any(link):
        return order, eq
    run = np.concatenate([[0], np.cumsum(~link)])
    member = np.zeros(n, dtype=bool)
    member[:-1] |= link
    member[1:] |= link
    pos = np.nonzero(member)[0]
    num, den = exact_pairs(order[pos])
    xk = k[pos] if keys_are_exact else nb.to_float(num, den)
    if not keys_are_exact:
        sub = np.lexsort((xk, run[pos]))
        order[pos] = order[pos][sub]
        num, den, xk = num[sub], den[sub], xk[sub]
    same_run = run[pos][1:] == run[pos][:-1]
    tie = same_run & (xk[1:] == xk[:-1])
    eqx = np.zeros(tie.size, dtype=bool)
    t = np.nonzero(tie)[0]
    if t.size:
        eqx[t] = nb.mul(num[t], den[t + 1]) == nb.mul(num[t + 1], den[t])
        if np.any(tie & ~eqx):
            _sort_ties(order, pos, tie, num, den, eqx)
    eq[pos[:-1][same_run]] = eqx[same_run]
    return order, eq


def _overlaps(g: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """For items sorted by (group, key): whether items i and i + 1 may be out of order or
    equal, i.e. the largest upper end of items <= i does not lie below the smallest lower
    end of items >= i + 1 (within the group). Where it does, every item before is certainly
    below every item after."""
    gid = np.concatenate([[0], np.cumsum(g[1:] != g[:-1])])
    top = _running_max(gid, hi)
    rev = gid[-1] - gid[::-1]
    bottom = -_running_max(rev, -lo[::-1])[::-1]
    return (g[1:] == g[:-1]) & ~(top[:-1] < bottom[1:])


def _running_max(gid: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Running maximum of ``x`` restarted at every new value of ``gid`` (ascending)."""
    n = x.size
    rank = np.empty(n, dtype=np.int64)
    by_x = np.argsort(x, kind="stable")
    rank[by_x] = np.arange(n)
    # gid * n + rank exceeds anything of an earlier group, so the maximum restarts there.
    best = np.maximum.accumulate(gid * n + rank) - gid * n
    return x[by_x][best]


def _sort_ties(order, pos, tie, num, den, eqx) -> None:
    """Distinct rationals with equal float keys (huge denominators): sort each such stretch
    as Fractions and recompute its equalities (in place)."""
    i = 0
    while i < tie.size:
        if not tie[i]:
            i += 1
            continue
        j = i
        while j < tie.size and tie[j]:
            j += 1
        items = list(range(i, j + 1))
        fr = {q: Fraction(int(num[q]), int(den[q])) for q in items}
        items.sort(key=fr.__getitem__)
        order[pos[i : j + 1]] = order[pos[items]]
        for a in range(i, j):
            eqx[a] = fr[items[a - i]] == fr[items[a - i + 1]]
        i = j + 1
