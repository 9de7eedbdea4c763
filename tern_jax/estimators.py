"""Estimating how many regions a sample has not found yet (math.md section 5).

Everything here reads the frequency-of-frequencies table ``f = {k: f_k}`` (f_k = number of
patterns seen exactly k times) and the sample size N. What these estimate is the number of
regions with positive mass under the *sampling law on the domain*, not the network's total.
Pure numpy / Python; no JAX.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

from scipy.stats import binom, norm

from .errors import InvalidInput

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
    """Bias-corrected Chao1: S_obs + f1 (f1 - 1) / (2 (f2 + 1)); a lower-bound estimator."""
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
    """Chao's log-normal confidence interval for Chao1 (lower end never below S_obs).

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


def good_toulmin(freq_of_freq: Mapping[int, int], t: float = 1.0) -> float:
    """Expected number of new patterns in t*N further samples.

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
    """Everything the sample's frequency table says about regions not yet seen."""

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
    return Estimates(
        n_samples=n,
        observed=sum(f.values()),
        coverage=coverage(f),
        chao1=None if sat else chao1(f),
        chao1_ci=None if sat else chao1_ci(f),
        good_toulmin_2x=None if sat else good_toulmin(f, 1.0),
        saturated=sat,
        warnings=(SATURATION_WARNING,) if sat else (),
    )
