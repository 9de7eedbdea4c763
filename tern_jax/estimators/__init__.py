"""Estimating how many regions a network has in a domain (math.md section 5).

**abundance** (:mod:`.abundance`): Good-Turing coverage, Chao1 and its interval,
Good-Toulmin, saturation, all from the frequency table of a sample's patterns (what
``count_regions`` reports). Chao1 and its interval are lower-bound-type estimates: they
cannot see regions that are never hit.
"""

from __future__ import annotations

from .abundance import (
    GOOD_TOULMIN_CLAMPED,
    SATURATION_WARNING,
    Estimates,
    chao1,
    chao1_ci,
    chao1_variance,
    coverage,
    estimate,
    good_toulmin,
    good_toulmin_raw,
    is_saturated,
    observed,
    sample_size,
)

__all__ = [
    "GOOD_TOULMIN_CLAMPED",
    "SATURATION_WARNING",
    "Estimates",
    "chao1",
    "chao1_ci",
    "chao1_variance",
    "coverage",
    "estimate",
    "good_toulmin",
    "good_toulmin_raw",
    "is_saturated",
    "observed",
    "sample_size",
]
