"""Horvitz-Thompson and Hansen-Hurwitz totals over sampled regions, and their intervals.

Pure numpy on region masses; the geometry that produces the masses is elsewhere. m points
are drawn i.i.d. from the uniform law on the domain; a region R is *included* when a draw
lands in its *catchment* B(R) (the region itself, or with neighbour discovery the region and
its neighbours), which has mass ``a_R``:

    pi_R = 1 - (1 - a_R)^m,       pi_RS = pi_R + pi_S - (1 - (1 - a_R - a_S + c_RS)^m)

(c_RS = mass of B(R) ∩ B(S)). The Horvitz-Thompson total ``sum over included R of 1 / pi_R``
is unbiased for the number of regions with positive mass, and

    V = sum_R (1 - pi_R) / pi_R^2 + sum_{R != S} (pi_RS - pi_R pi_S) / (pi_R pi_S pi_RS)

over included regions (and pairs) is the unbiased Horvitz-Thompson variance estimator. Pairs
with disjoint catchments have pi_RS <= pi_R pi_S (the draws compete), so leaving their terms
out, as :func:`horvitz_thompson` does, can only make V larger.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import sparse
from scipy.stats import norm

from ..errors import InvalidInput


def inclusion(mass, m: int) -> np.ndarray:
    """pi = 1 - (1 - mass)^m, accurate for tiny masses."""
    a = np.clip(np.asarray(mass, np.float64), 0.0, 1.0)
    with np.errstate(divide="ignore"):
        return -np.expm1(m * np.log1p(-a))


def horvitz_thompson(
    mass: np.ndarray, m: int, pairs: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
) -> tuple[float, float]:
    """(total, variance estimate) over the included regions with catchment masses ``mass``.

    ``pairs = (i, j, overlap)``: index pairs i < j of included regions whose catchments
    overlap, with the overlap's mass (terms of disjoint pairs are left out, see the module).
    """
    a = np.asarray(mass, np.float64)
    if a.size and np.any(a <= 0):
        raise InvalidInput("every included region needs a catchment of positive mass")
    pi = inclusion(a, m)
    total = float(np.sum(1.0 / pi))
    var = float(np.sum((1.0 - pi) / pi**2)) + pair_terms(a, m, pairs)
    return total, max(var, 0.0)


def pair_terms(a: np.ndarray, m: int, pairs) -> float:
    """sum over overlapping pairs R != S of (pi_RS - pi_R pi_S) / (pi_R pi_S pi_RS)."""
    if pairs is None or not len(pairs[0]):
        return 0.0
    i, j, c = pairs
    pi = inclusion(a, m)
    ok = (pi[i] > 0) & (pi[j] > 0)
    i, j, c = i[ok], j[ok], c[ok]
    union = np.clip(a[i] + a[j] - c, 0.0, 1.0)
    pij = np.maximum(pi[i] + pi[j] - inclusion(union, m), 1e-300)
    return float(2.0 * np.sum((pij - pi[i] * pi[j]) / (pi[i] * pi[j] * pij)))


def catchment_overlaps(catch: list[list], mass: dict) -> tuple[np.ndarray, tuple]:
    """Catchment masses a_R (sum of the masses of B(R)'s regions) and the overlapping pairs
    ``(i, j, mass of B(R_i) ∩ B(R_j))``, i < j, by one sparse product."""
    index = {k: i for i, k in enumerate(dict.fromkeys(q for c in catch for q in c))}
    rows = np.repeat(np.arange(len(catch)), [len(c) for c in catch])
    cols = np.array([index[q] for c in catch for q in c], int)
    inc = sparse.csr_matrix((np.ones(len(cols)), (rows, cols)), (len(catch), len(index)))
    p = np.array([mass[k] for k in index], np.float64)
    overlap = sparse.triu(inc @ sparse.diags(p) @ inc.T, k=1).tocoo()
    return np.asarray(inc @ p).ravel(), (overlap.row, overlap.col, overlap.data)


def hansen_hurwitz(values: np.ndarray) -> tuple[float, float]:
    """(mean, variance of the mean) of i.i.d. per-draw values (e.g. 1 / p of each draw)."""
    v = np.asarray(values, np.float64)
    if v.size == 0:
        raise InvalidInput("Hansen-Hurwitz needs at least one draw")
    var = float(np.var(v, ddof=1) / v.size) if v.size > 1 else math.inf
    return float(np.mean(v)), var


def z_value(level: float) -> float:
    if not (isinstance(level, float | int) and 0 < level < 1):
        raise InvalidInput(f"level must be in (0, 1), got {level!r}")
    return float(norm.ppf(0.5 + level / 2))


def normal_interval(
    estimate: float, variance: float, certain: float, level: float
) -> tuple[float, float]:
    """estimate -+ z sqrt(variance), both ends raised to at least ``certain`` (a count the
    sample proves: no interval may end below it)."""
    half = z_value(level) * math.sqrt(max(variance, 0.0))
    return max(certain, estimate - half), max(certain, estimate + half)


def skewed_interval(
    estimate: float, variance: float, certain: float, level: float
) -> tuple[float, float]:
    """The union of :func:`normal_interval` and :func:`log_normal_interval`: for totals whose
    sampling law is right-skewed (a sum of terms that are rarely hit and large when hit),
    where the symmetric normal interval ends too low on the high side."""
    a, b = normal_interval(estimate, variance, certain, level)
    c, d = log_normal_interval(estimate, variance, certain, level)
    return min(a, c), max(b, d)


def log_normal_interval(
    estimate: float, variance: float, certain: float, level: float
) -> tuple[float, float]:
    """Chao's log-normal interval on the part beyond ``certain``: with T = estimate - certain
    and K = exp(z sqrt(log(1 + variance / T^2))), [certain + T / K, certain + T K]; when
    T <= 0, [certain, certain + z sqrt(variance)]."""
    z = z_value(level)
    t = estimate - certain
    if t <= 0:
        return certain, certain + z * math.sqrt(max(variance, 0.0))
    k = math.exp(z * math.sqrt(math.log1p(max(variance, 0.0) / t**2)))
    return certain + t / k, certain + t * k
