"""RegionCount: the result record of a sampled count."""

from __future__ import annotations

import dataclasses
from typing import Any

from ..records import record_json, to_jsonable

# Fields that describe how a run went rather than what it found: they differ between runs
# that must otherwise agree exactly (chunk size, devices, hosts, resume).
RUN_FIELDS = ("seconds", "throughput", "execution")


@dataclasses.dataclass(frozen=True)
class RegionCount:
    """A sampled count of **activation regions** (distinct activation patterns) of a network
    among ``n_samples`` inputs drawn from ``domain``, with estimates of the unseen ones, and
    of the distinct **affine maps** among them.

    ``distinct`` is exact for the sample: the number of activation regions the samples met,
    a lower bound on the activation regions with positive mass in the domain. It is an
    estimate with the error bound given in ``sketch`` when that is set.

    ``affine_distinct`` is the number of distinct affine maps of the output (gradient and
    offset in the sampled coordinates) over the patterns found: exact integers for integer
    and dyadic networks on the exact path, float64 compared at the relative tolerance in
    ``affine`` otherwise. Every linear region the samples met contains at least one of those
    maps and each map belongs to a region met, so if every linear region met is connected,
    ``affine_distinct <= (linear regions met) <= distinct``; ``affine_distinct`` is a lower
    bound on the linear regions of the domain (two separate regions with the same map count
    once). In sketch mode it counts the maps of the kept subset of patterns only (a lower
    bound on the maps of all patterns found).

    ``on_breakpoints``: samples that lay exactly on a breakpoint (some ReLU pre-activation
    exactly 0) and were not counted, since their pattern may be a face's rather than a
    region's; the frequency table covers the other ``n_samples - on_breakpoints``.

    ``chao1``/``chao1_ci`` are lower-bound-type estimates (None when ``saturated``): Chao1
    estimates a lower bound of the regions with positive mass, and its interval describes
    Chao1's spread, no coverage promise for the count (for a count with an interval:
    :func:`tern_jax.estimate_regions`); ``good_toulmin_2x`` is an estimate, never negative.
    ``collision_probability`` is 0 for exact keys (<= 128 ReLU units). ``precision`` is the
    float type of the forward pass; ``arithmetic`` says whether it was proven exact, on which
    sampling grid and why. In sketch mode ``freq_of_freq`` holds the kept subset's exact f_k
    scaled by 2^level (estimates).
    """

    n_samples: int
    distinct: int
    freq_of_freq: dict[int, int]
    coverage: float
    chao1: float | None
    chao1_ci: tuple[float, float] | None
    good_toulmin_2x: float | None
    saturated: bool
    collision_probability: float
    seconds: float
    throughput: float
    seed: int
    domain: dict
    fingerprint: str
    network: dict
    key_kind: str
    key_bits: int
    warnings: tuple[str, ...]
    sketch: dict | None
    execution: dict
    package_version: str
    precision: str = "float32"
    kind: str = "activation regions (distinct activation patterns)"
    method: str = "sampled"
    affine_distinct: int | None = None
    affine: dict | None = None
    arithmetic: dict | None = None
    on_breakpoints: int = 0

    def to_dict(self) -> dict[str, Any]:
        return to_jsonable(self)

    def figures(self) -> dict[str, Any]:
        """The record without run-dependent fields (timings, devices, hosts, resume)."""
        d = self.to_dict()
        for k in RUN_FIELDS:
            d.pop(k, None)
        return d

    def to_json(self, **dumps_kwargs: Any) -> str:
        return record_json(self, **dumps_kwargs)

    def summary(self) -> str:
        """A readable multi-line summary saying what each number is."""
        lines = [
            f"network   {self.fingerprint}  input_dim={self.network['input_dim']} "
            f"widths={self.network['widths']} relu_units={self.network['num_relu_units']}",
            f"domain    {_domain_text(self.domain)}",
            f"samples   N={self.n_samples:,}  seed={self.seed}  "
            f"({self.seconds:.2f} s, {self.throughput:,.0f} samples/s on "
            f"{self.execution.get('devices', '?')} device(s), "
            f"{self.execution.get('processes', 1)} process(es))",
        ]
        if self.sketch is None:
            lines.append(
                f"distinct  {self.distinct:,} activation regions found (sampled, exact count "
                "of distinct patterns in the sample)"
            )
        else:
            lo, hi = self.sketch["distinct_95ci"]
            lines.append(
                f"distinct  ~{self.distinct:,} activation regions (estimated by a "
                f"hash-sampled subset at rate 2^-{self.sketch['level']}; 95% CI "
                f"[{lo:,.0f}, {hi:,.0f}])"
            )
        if self.affine_distinct is not None:
            aff = self.affine or {}
            how = (
                "exact integer maps"
                if aff.get("exact")
                else (f"float64 maps, relative tolerance {aff.get('tolerance')}")
            )
            lines.append(
                f"affine    {self.affine_distinct:,} distinct affine maps of the output among "
                f"those patterns ({how}): a lower bound on the linear regions met, at most "
                "their number when each is connected"
            )
        lines.append(
            f"coverage  {self.coverage:.4f} (Good-Turing estimate of the sampling mass of "
            "the regions found)"
        )
        if self.chao1 is not None:
            lo, hi = self.chao1_ci
            lines.append(
                f"chao1     {self.chao1:,.1f} (lower-bound-type estimate of regions with positive "
                f"mass; Chao's interval [{lo:,.1f}, {hi:,.1f}] describes Chao1's spread, not a "
                "coverage promise; for a count with an interval: tern-jax estimate)"
            )
            lines.append(
                f"new at 2N {self.good_toulmin_2x:,.1f} (Good-Toulmin estimate of new regions "
                "that N more samples would find; never negative)"
            )
        f1 = self.freq_of_freq.get(1, 0)
        lines.append(f"f1, f2    {f1:,}, {self.freq_of_freq.get(2, 0):,} (singletons, doubletons)")
        lines.append(
            f"keys      {self.key_kind} ({self.key_bits} bits), collision probability "
            f"{self.collision_probability:.3g}; forward pass in {self.precision}"
        )
        if self.arithmetic:
            grid = self.arithmetic.get("lattice_bits")
            where = f" on a grid of 2^{grid} cells per coordinate" if grid else ""
            exact = "exact" if self.arithmetic.get("exact") else "not proven exact"
            lines.append(f"arith     {exact}{where}: {self.arithmetic.get('reason')}")
        lines.extend(f"warning   {w}" for w in self.warnings)
        return "\n".join(lines)


def _domain_text(d: dict) -> str:
    skip = {"type", "law", "data_sha256"}
    body = ", ".join(f"{k}={v}" for k, v in d.items() if k not in skip and v is not None)
    return f"{d['type']}({body}), {d.get('law', '')} law"
