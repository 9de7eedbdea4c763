"""Abundance estimators: what a sample's frequency table says about unseen regions
(math.md section 5).

Everything here reads the frequency-of-frequencies table ``f = {k: f_k}`` (f_k = number of
patterns seen exactly k times) and the sample size N. What these estimate is the number of
regions with positive mass under the *sampling law on the domain*, not the network's total.

They come from species counting, and they know nothing of geometry: a region whose mass is
far below 1/N is, with high probability, never seen even once, and then no function of the
frequency table can count it. Region masses of ReLU networks span many orders of magnitude,
so on them Chao1 and its interval are **lower-bound-type** estimates: Chao1 is a lower bound
on the expected number of regions under the sampling model (Chao 1984), and its log-normal
interval is a statement about that bound, not a coverage promise for the true count (on the
calibration suite it held the exact count in about half of the runs). For an estimate of
the total with an interval that holds its level, use the volume estimator
(:func:`tern_jax.estimate_regions`). Pure numpy / Python; no JAX.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

from scipy.stats import binom, norm

from ..errors import InvalidInput

SATURATION_WARNING = (
    "saturated: most sampled patterns were seen only once (or nearly every sample found a "
    "new pattern), so the sample says little about how many regions remain; Chao1 and "
    "Good-Toulmin are not reported. Draw many more samples, or shrink the domain."
)


def _check(freq_of_freq: Mapping[int, int], n: int | None = None) -> dict[int, int]:
    f = {}
    for k, v in dict(freq_of_freq).items():
        k, v = int(k), int(v)
        if k < 1:
            raise InvalidInput(f"freq_of_freq: frequencies k must be >= 1, got {k}")
        if v < 0:
            raise InvalidInput(f"freq_of_freq: f_{k} must be >= 0, got {v}")
        if v:
            f[k] = v
    if n is not None:
        total = sum(k * v for k, v in f.items())
        if total != n:
            raise InvalidInput(f"freq_of_freq accounts for {total} samples, but N = {n}")
    return f


def observed(freq_of_freq: Mapping[int, int]) -> int:
    """S_obs: number of distinct patterns."""
    return sum(_check(freq_of_freq).values())


def sample_size(freq_of_freq: Mapping[int, int]) -> int:
    """N = sum_k k f_k."""
    return sum(k * v for k, v in _check(freq_of_freq).items())


def coverage(freq_of_freq: Mapping[int, int], n: int | None = None) -> float:
    """Good-Turing sample coverage C = 1 - f_1 / N (estimated mass of the regions seen)."""
    f = _check(freq_of_freq, n)
    n = sum(k * v for k, v in f.items())
    if n <= 0:
        raise InvalidInput("coverage needs at least one sample")
    return 1.0 - f.get(1, 0) / n


def chao1(freq_of_freq: Mapping[int, int]) -> float:
    """Bias-corrected Chao1: S_obs + f1 (f1 - 1) / (2 (f2 + 1)).

    A lower-bound-type estimate: it estimates a lower bound of the number of regions with
    positive mass, tight only when the unseen regions have about equal masses.
    """
    f = _check(freq_of_freq)
    f1, f2 = f.get(1, 0), f.get(2, 0)
    return sum(f.values()) + f1 * (f1 - 1) / (2.0 * (f2 + 1))


def chao1_variance(freq_of_freq: Mapping[int, int]) -> float:
    """Variance of bias-corrected Chao1 (Chao 2005 / EstimateS, case f2 >= 0)."""
    f = _check(freq_of_freq)
    f1, f2 = float(f.get(1, 0)), float(f.get(2, 0))
    a = f1 * (f1 - 1) / (2 * (f2 + 1))
    b = f1 * (2 * f1 - 1) ** 2 / (4 * (f2 + 1) ** 2)
    c = f1**2 * f2 * (f1 - 1) ** 2 / (4 * (f2 + 1) ** 4)
    return a + b + c


def chao1_ci(freq_of_freq: Mapping[int, int], level: float = 0.95) -> tuple[float, float]:
    """Chao's log-normal interval for Chao1 (lower end never below S_obs).

    Like Chao1 itself, a lower-bound-type statement: it describes the uncertainty of Chao1,
    which is below the true count when region masses differ, so it is no coverage promise
    for the number of regions.

    With T = Chao1 - S_obs and K = exp(z sqrt(log(1 + var / T^2))), the interval is
    [S_obs + T / K, S_obs + T K]. When T = 0 (f1 <= 1) the interval is
    [S_obs, S_obs + z sqrt(var)].
    """
    if not 0 < level < 1:
        raise InvalidInput(f"level must be in (0, 1), got {level}")
    z = float(norm.ppf(0.5 + level / 2))
    f = _check(freq_of_freq)
    s_obs = float(sum(f.values()))
    t = chao1(f) - s_obs
    var = chao1_variance(f)
    if t <= 0:
        return (s_obs, s_obs + z * math.sqrt(var))
    k = math.exp(z * math.sqrt(math.log(1.0 + var / t**2)))
    return (s_obs + t / k, s_obs + t * k)


GOOD_TOULMIN_CLAMPED = (
    "Good-Toulmin: the smoothed alternating sum came out at {raw:.3g} new regions; a number "
    "of new regions cannot be negative, so 0 is reported (the sum goes negative when "
    "doubletons outnumber singletons, i.e. when the regions the sample can see are nearly "
    "all seen)"
)


def good_toulmin_raw(freq_of_freq: Mapping[int, int], t: float = 1.0) -> float:
    """The Good-Toulmin sum itself, which can be negative (see :func:`good_toulmin`).

    For t < 1 the classical Good-Toulmin estimator -sum_k (-t)^k f_k. For t >= 1 (t = 1 is
    "how many new regions would twice the samples find") the classical sum has a variance
    that grows with the largest k, so it is smoothed with the binomial tail of Orlitsky,
    Suresh and Wu (PNAS 2016): term k is weighted by P(L >= k), L ~ Bin(kappa, 2 / (2 + t)),
    kappa = round(0.5 log_3(N t^2 / max(t - 1, 1))). Reliable up to t ~ log N.
    """
    if isinstance(t, bool) or not (isinstance(t, (int, float)) and math.isfinite(t) and t >= 0):
        raise InvalidInput(f"t must be a finite number >= 0, got {t!r}")
    f = _check(freq_of_freq)
    if t < 1:
        return float(-sum((-t) ** k * v for k, v in f.items()))
    n = sum(k * v for k, v in f.items())
    if n == 0:
        return 0.0
    kappa = max(1, round(0.5 * math.log(max(n * t * t / max(t - 1.0, 1.0), 1.0), 3)))
    q = 2.0 / (2.0 + t)
    return float(
        -sum((-t) ** k * binom.sf(k - 1, kappa, q) * v for k, v in f.items() if k <= kappa)
    )


def good_toulmin(freq_of_freq: Mapping[int, int], t: float = 1.0) -> float:
    """Expected number of new patterns in t*N further samples, never negative.

    The (smoothed) Good-Toulmin sum of :func:`good_toulmin_raw`, clamped at 0: the quantity
    estimated is >= 0, so clamping can only move the estimate towards it (its error never
    grows). We keep the smoothed sum rather than an estimator that is non-negative by
    construction (e.g. Shen, Chao and Lin 2003) because its worst-case error bound (Orlitsky,
    Suresh and Wu 2016) holds for every mass distribution, which is the point here.
    :func:`estimate` adds a warning when the clamp acts.
    """
    return max(0.0, good_toulmin_raw(freq_of_freq, t))


def is_saturated(freq_of_freq: Mapping[int, int]) -> bool:
    """True when S_obs is close to N: S_obs >= N / 2, or (with at least 10 patterns)
    singletons make up >= 90% of the patterns seen."""
    f = _check(freq_of_freq)
    s_obs = sum(f.values())
    n = sum(k * v for k, v in f.items())
    if n == 0:
        return True
    return s_obs >= 0.5 * n or (s_obs >= 10 and f.get(1, 0) >= 0.9 * s_obs)


@dataclasses.dataclass(frozen=True)
class Estimates:
    """Everything the sample's frequency table says about regions not yet seen.

    ``chao1`` and ``chao1_ci`` are lower-bound-type estimates (see the module docstring);
    ``good_toulmin_2x`` (new regions N more samples would find) is >= 0 or None.
    """

    n_samples: int
    observed: int
    coverage: float
    chao1: float | None
    chao1_ci: tuple[float, float] | None
    good_toulmin_2x: float | None
    saturated: bool
    warnings: tuple[str, ...]


def estimate(freq_of_freq: Mapping[int, int], n: int | None = None) -> Estimates:
    """All estimates at once; Chao1 and Good-Toulmin are None when the sample is saturated."""
    f = _check(freq_of_freq, n)
    n = sum(k * v for k, v in f.items())
    if n == 0:
        raise InvalidInput("no samples: the frequency table is empty")
    sat = is_saturated(f)
    warnings = [SATURATION_WARNING] if sat else []
    gt = None
    if not sat:
        raw = good_toulmin_raw(f, 1.0)
        gt = max(0.0, raw)
        if raw < 0:
            warnings.append(GOOD_TOULMIN_CLAMPED.format(raw=raw))
    return Estimates(
        n_samples=n,
        observed=sum(f.values()),
        coverage=coverage(f),
        chao1=None if sat else chao1(f),
        chao1_ci=None if sat else chao1_ci(f),
        good_toulmin_2x=gt,
        saturated=sat,
        warnings=tuple(warnings),
    )
