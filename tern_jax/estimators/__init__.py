"""Estimating how many regions a network has in a domain (math.md section 5).

Two families, with different promises:

- **abundance** (:mod:`.abundance`): Good-Turing coverage, Chao1 and its interval,
  Good-Toulmin, saturation, all from the frequency table of a sample's patterns (what
  ``count_regions`` reports). Chao1 and its interval are lower-bound-type estimates: they
  cannot see regions that are never hit.
- **volume** (:mod:`.volume`): :func:`estimate_regions`, from the exact volumes of the
  sampled regions and of their neighbours (Horvitz-Thompson), with an interval that holds its
  level unless whole clusters of regions are far below 1 / n_samples in mass.

Modules: ``abundance``, ``local`` (domain coordinates, draws, affine pieces), ``polytopes``
(volumes and facets), ``graph`` (regions met and their neighbours), ``horvitz`` (totals and
intervals), ``record`` (:class:`RegionEstimate`), ``volume`` (the driver).
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
from .record import RegionEstimate
from .volume import compare_estimators, estimate_regions

__all__ = [
    "GOOD_TOULMIN_CLAMPED",
    "SATURATION_WARNING",
    "Estimates",
    "RegionEstimate",
    "chao1",
    "chao1_ci",
    "chao1_variance",
    "compare_estimators",
    "coverage",
    "estimate",
    "estimate_regions",
    "good_toulmin",
    "good_toulmin_raw",
    "is_saturated",
    "observed",
    "sample_size",
]
