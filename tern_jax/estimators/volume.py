"""``estimate_regions``: the number of regions in a domain, estimated from region volumes.

For x uniform on a bounded domain D, E[vol(D) / vol(R(x) ∩ D)] is exactly the number of
activation regions with positive volume in D (each region R contributes its mass p_R times
1 / p_R). Every sampled point's region is an H-polytope known from its pattern, so its mass
can be computed (:mod:`.polytopes`), and so can its neighbours across its facets
(:mod:`.graph`). The methods (docs: math.md 5.7-5.14):

- ``"volume"`` (default): Horvitz-Thompson over the sampled regions *and their neighbours*,
  a region being included when a draw lands in it or in a neighbour (adaptive cluster
  sampling, Thompson 1990), so its inclusion probability is 1 - (1 - a_R)^m with a_R the mass
  of the region and its neighbours. Small regions next to large ones are then found with
  probability near 1, which is what makes the interval hold its level on ReLU partitions;
- ``"horvitz-thompson"``: the same over the sampled regions only (a_R = p_R);
- ``"hansen-hurwitz"``: the mean of 1 / p over the draws;
- ``"chao1"``: Chao1 and its log-normal interval from the same draws (lower-bound-type).

The interval is normal (estimate -+ z sqrt(V), V the Horvitz-Thompson variance estimator),
both ends raised to the certain lower bound: the regions found (each with a computed positive
volume), plus one when the domain's mass not covered by them is positive. When that mass is
0 (up to float64 rounding), the regions found fill the domain and their number is the count
(regions of total mass below that rounding, ~1e-14 of the domain, cannot be seen). With
Monte-Carlo inclusion probabilities (beyond 6 inputs, where the total is still right-skewed
at the m a user picks) the interval is the union of that normal interval and Chao's
log-normal interval on the part above the certain lower bound
(:func:`.horvitz.skewed_interval`).

:func:`compare_estimators` runs several methods on one set of draws (the calibration study).
"""

from __future__ import annotations

import collections
import dataclasses
import math
import time

import numpy as np

from ..errors import InvalidInput, WrongType
from ..network import ReLUNet
from ..records import package_version
from . import abundance
from .graph import RegionGraph
from .horvitz import (
    catchment_overlaps,
    hansen_hurwitz,
    horvitz_thompson,
    normal_interval,
    skewed_interval,
)
from .local import draw, local_domain
from .montecarlo import monte_carlo_total
from .record import METHODS, RegionEstimate
from .units import ActivationUnits, LinearUnits

KINDS = ("activation", "linear")
VOLUMES = ("auto", "exact", "monte-carlo")
MAX_EXACT_DIM = 6  # "auto": exact volumes (qhull) up to this many domain dimensions
DEFAULT_MAX_DRAWS = 10**8
# Unobserved mass below MASS_TOL per region found (at least MASS_TOL_MIN) is float64 rounding
# of the masses' sum, not a region: measured rounding was <= 1e-18 per region (5.6e-16 over
# 577 polygons, 1.1e-16 over 100 qhull polytopes), so the margin is about 100x.
MASS_TOL, MASS_TOL_MIN = 1e-16, 1e-14
# Methods in the order compare_estimators runs them: the ones that use only the sampled
# regions first, because "volume" adds neighbours to the shared graph.
ORDER = ("chao1", "hansen-hurwitz", "horvitz-thompson", "volume")


def _check(net, n_samples, seed, methods, level, volumes, max_draws, kind) -> None:
    if not isinstance(net, ReLUNet):
        raise WrongType(f"net must be a tern_jax.ReLUNet, got {type(net).__name__}")
    for name, v in (("n_samples", n_samples), ("seed", seed), ("max_draws", max_draws)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise WrongType(f"{name} must be an integer, got {type(v).__name__}")
    if n_samples < 2:
        raise InvalidInput(f"n_samples must be >= 2, got {n_samples}")
    if seed < 0 or max_draws < 1:
        raise InvalidInput(f"need seed >= 0 and max_draws >= 1, got {seed}, {max_draws}")
    for method in methods:
        if method not in METHODS:
            raise InvalidInput(f"method must be one of {sorted(METHODS)}, got {method!r}")
    if volumes not in VOLUMES:
        raise InvalidInput(f"volumes must be one of {VOLUMES}, got {volumes!r}")
    if kind not in KINDS:
        raise InvalidInput(f"kind must be one of {KINDS}, got {kind!r}")
    if isinstance(level, bool) or not isinstance(level, (float, int)) or not 0 < level < 1:
        raise InvalidInput(f"level must be a number in (0, 1), got {level!r}")


def estimate_regions(
    net: ReLUNet,
    domain,
    n_samples: int,
    seed: int = 0,
    *,
    method: str = "volume",
    level: float = 0.95,
    kind: str = "activation",
    volumes: str = "auto",
    max_draws: int = DEFAULT_MAX_DRAWS,
) -> RegionEstimate:
    """Estimate the number of activation regions of ``net`` with positive volume in ``domain``.

    ``domain``: a :class:`~tern_jax.Box`, :class:`~tern_jax.Plane` or
    :class:`~tern_jax.Segment` (uniform law). ``n_samples`` draws, the same as
    ``count_regions(net, domain, n_samples, seed)``. ``method``: "volume" (default),
    "horvitz-thompson", "hansen-hurwitz" or "chao1" (module docstring). ``level``: the
    interval's confidence level. ``kind``: "activation" regions, or "linear" regions (connected
    unions of neighbouring regions with one affine output map, :mod:`.units`; exact volumes
    only). ``volumes``: "exact" (interval, polygon, qhull), "monte-carlo"
    (inclusion probabilities from a stream of at most ``max_draws`` further draws,
    :mod:`.montecarlo`) or "auto" (exact up to 6 dimensions).

    What the interval assumes: that the regions the draws can reach (directly, or through a
    neighbour) carry the count. Regions whose catchment (region plus neighbours) has mass
    far below 1 / n_samples are found with probability about n_samples times that mass; a
    cluster of such regions is what makes an interval miss, and no sample-based method can
    see it.
    """
    return compare_estimators(
        net, domain, n_samples, seed, methods=(method,), level=level, kind=kind,
        volumes=volumes, max_draws=max_draws,
    )[method]  # fmt: skip


def compare_estimators(
    net: ReLUNet,
    domain,
    n_samples: int,
    seed: int = 0,
    *,
    methods=ORDER,
    level: float = 0.95,
    kind: str = "activation",
    volumes: str = "auto",
    max_draws: int = DEFAULT_MAX_DRAWS,
) -> dict[str, RegionEstimate]:
    """:func:`estimate_regions` for several ``methods`` on the same draws (and regions)."""
    methods = tuple(methods)
    _check(net, n_samples, seed, methods, level, volumes, max_draws, kind)
    t0 = time.perf_counter()
    local = local_domain(domain, net.input_dim)
    mc = volumes == "monte-carlo" or (volumes == "auto" and local.dim > MAX_EXACT_DIM)
    if kind == "linear" and mc:
        raise InvalidInput(
            f"linear regions need exact region volumes (domains of at most {MAX_EXACT_DIM} "
            f"dimensions, volumes='exact' or 'auto'); this one has {local.dim}"
        )
    geometry = "none"
    if mc and "volume" in methods:
        geometry = "lp"
    elif not mc and (set(methods) - {"chao1"} or kind == "linear"):
        geometry = "exact"
    graph = RegionGraph(net, local, geometry)
    units = LinearUnits(graph) if kind == "linear" else ActivationUnits(graph)
    sample = _Sample(net, local, graph, units, mc, int(seed), max_draws)
    sample.locate(draw(local, int(seed), int(n_samples)), time.perf_counter() - t0)
    out = {}
    for method in sorted(set(methods), key=ORDER.index):
        t1 = time.perf_counter()
        out[method] = sample.estimate(method, level, int(n_samples), t1 - t0)
    return {m: out[m] for m in methods}


@dataclasses.dataclass
class _Sample:
    """The draws of one estimate and the regions they met, shared by the methods."""

    net: ReLUNet
    local: object
    graph: RegionGraph
    units: object  # ActivationUnits or LinearUnits: what is counted
    mc: bool
    seed: int
    max_draws: int
    keys: list = dataclasses.field(default_factory=list)
    warnings: list = dataclasses.field(default_factory=list)
    seconds_draw: float = 0.0
    seconds_locate: float = 0.0

    def locate(self, y: np.ndarray, seconds_draw: float) -> None:
        self.seconds_draw = seconds_draw
        t0 = time.perf_counter()
        keys = self.graph.locate(y)
        self.seconds_locate = time.perf_counter() - t0
        void = sum(1 for k in keys if self.graph.regions[k].mass == 0)
        if void:
            self.warnings.append(
                f"{void} draw(s) fell on a region boundary (a set of volume 0, at float64 "
                "resolution) and were left out"
            )
        self.keys = [k for k in keys if self.graph.regions[k].mass != 0]
        if not self.keys:
            raise InvalidInput("every draw fell on a region boundary: nothing to estimate from")

    def estimate(self, method: str, level: float, n_samples: int, before: float):
        t0 = time.perf_counter()
        graph, units = self.graph, self.units
        draws = [units.unit(k) for k in self.keys]  # the counted unit of every draw
        m, counts = len(draws), collections.Counter(draws)
        warnings = list(self.warnings)
        # Drawing and locating the draws' regions is shared by the methods run on them.
        costs = {"seconds_draw": self.seconds_draw, "seconds_locate": self.seconds_locate}
        done = dict(graph.seconds)
        if method == "chao1":
            fof = collections.Counter(counts.values())
            est, (lo, hi) = abundance.chao1(fof), abundance.chao1_ci(fof, level)
            var, how = abundance.chao1_variance(fof), "Chao's log-normal interval"
            found, certain, unobserved, vmethod = len(counts), len(counts), None, "none"
        else:
            catch = [[u] for u in counts]
            if method == "volume":
                nb = units.neighbours(list(counts))
                nb = units.neighbours(list(dict.fromkeys(v for u in nb for v in [u, *nb[u]])))
                catch = [[u, *vs] for u, vs in nb.items()]  # each included unit's catchment
            if self.mc:
                est, var, more, notes = monte_carlo_total(
                    self.net, self.local, draws, catch, m, method, self.seed, self.max_draws
                )
                costs.update(more)
                warnings.extend(notes)
                unobserved, vmethod = None, "monte-carlo"
            else:
                est, var = _exact_total(units, draws, catch, m, method)
                vmethod = {1: "interval", 2: "exact polygon"}.get(self.local.dim, "qhull")
                unobserved = units.unobserved()
            found = units.found()
            tol = max(MASS_TOL_MIN, MASS_TOL * found)
            certain = found + int(unobserved is not None and unobserved > tol)
            how = "normal, ends raised to the certain lower bound"
            if unobserved is not None and unobserved <= tol:
                # The units found fill the domain: the count is known (to float64 rounding).
                est, var, how = (
                    float(found),
                    0.0,
                    (
                        "complete: the regions found fill the domain to float64 resolution "
                        f"(regions of relative volume below {tol:.0e} in all cannot be seen)"
                    ),
                )
            est = max(est, float(certain))
            if self.mc and var > 0:
                # Unknown volumes (high dimension): most catchments are far below 1/m, so
                # the total is still right-skewed at the m a user picks; the normal interval
                # alone ended below the truth in 4 of 8 runs on a 10-input model.
                lo, hi = skewed_interval(est, var, certain, level)
                how = (
                    "normal and log-normal above the certain lower bound, together (right-"
                    "skewed total), ends raised to the certain lower bound"
                )
            else:
                lo, hi = normal_interval(est, var, certain, level)
        if graph.unresolved_facets:
            warnings.append(
                f"{graph.unresolved_facets} facet(s) led to a neighbour thinner than float64 "
                "resolves; those neighbours were left out"
            )
        costs["seconds_neighbours"] = graph.seconds["neighbours"] - done["neighbours"]
        costs.update({"seconds_estimate": time.perf_counter() - t0, **graph.work})
        net = self.net
        return RegionEstimate(
            estimate=float(est),
            interval=(float(lo), float(hi)),
            level=float(level),
            n_samples=int(n_samples),
            method=method,
            kind=units.kind,
            domain=self.local.description,
            seconds=before + time.perf_counter() - t0,
            distinct=len(counts),
            found=found,
            lower_bound=certain,
            unobserved_mass=unobserved,
            std_error=math.sqrt(max(var, 0.0)),
            interval_method=how,
            volume_method=vmethod,
            seed=self.seed,
            fingerprint=net.fingerprint,
            network=net.describe(),
            costs=costs,
            warnings=tuple(warnings),
            package_version=package_version(),
        )


def _exact_total(units, draws, catch, m: int, method: str):
    """(estimate, variance) with exact volumes."""
    if method == "hansen-hurwitz":
        inv = {u: 1.0 / units.mass(u) for u in set(draws)}
        return hansen_hurwitz(np.array([inv[u] for u in draws]))
    mass = {u: units.mass(u) for c in catch for u in c}
    a, pairs = catchment_overlaps(catch, mass)
    return horvitz_thompson(a, m, pairs)
