"""Region-count bounds for general ReLU networks, and exact counts of our constructions.

Everything here is an exact Python integer (math.md sections 2-4); nothing is a float.

- General (real-weight) ReLU networks, math.md section 2: :func:`zaslavsky`,
  :func:`montufar2014`, :func:`serra2018_lower`, :func:`serra2018_upper`,
  :func:`montufar2017_upper`, :func:`exact_max_1d`. Each checks the hypotheses under which
  the formula is stated and raises ``InvalidInput`` naming the hypothesis otherwise.
- Constructions following the paper's claims, math.md section 3: the exact numbers of
  linear and activation regions of each network built in :mod:`tern_jax.constructions`,
  as functions of its parameters (:class:`RegionCounts`).
- Matching architectures: :func:`matching_architectures` lists, for a general
  architecture ``(n0, widths)``, the ternary architectures the paper's claim points to,
  with sizes, memory and counts next to the general network's bounds.

Modules: ``general`` (section 2), ``counts`` (section 3), ``architectures`` (the
comparison), ``intmath`` (checked arguments, big integers with size limits). Conventions:
``n0`` is the input dimension, ``widths = (n_1, ..., n_L)`` the hidden widths.
"""

from __future__ import annotations

from ..checks import check_int, check_ints
from .architectures import ArchitectureRow, Comparison, alternating_widths, matching_architectures
from .counts import (
    RegionCounts,
    check_form,
    montufar_zigzag_counts,
    ternary_all_relu_counts,
    ternary_alternating_counts,
    ternary_real_bias_counts,
)
from .general import (
    exact_max_1d,
    montufar2014,
    montufar2017_upper,
    serra2018_lower,
    serra2018_upper,
    zaslavsky,
)
from .intmath import MAX_BITS

__all__ = [
    "MAX_BITS",
    "ArchitectureRow",
    "Comparison",
    "RegionCounts",
    "alternating_widths",
    "check_form",
    "check_int",
    "check_ints",
    "exact_max_1d",
    "matching_architectures",
    "montufar2014",
    "montufar2017_upper",
    "montufar_zigzag_counts",
    "serra2018_lower",
    "serra2018_upper",
    "ternary_all_relu_counts",
    "ternary_alternating_counts",
    "ternary_real_bias_counts",
    "zaslavsky",
]
