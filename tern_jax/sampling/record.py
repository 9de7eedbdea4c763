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
    among ``n_samples`` inputs drawn from ``domain``, with estimates of the unseen ones.

    ``distinct`` is exact for the sample (a lower bound on the regions with positive mass in
    the domain) unless ``sketch`` is set, in which case it is an estimate with the error
    bound given there. ``chao1``/``chao1_ci``/``good_toulmin_2x`` are estimates (None when
    ``saturated``). ``collision_probability`` is 0 for exact keys (<= 128 ReLU units).
    ``precision`` is the float type of the forward pass (float32 or float64). In sketch
    mode ``freq_of_freq`` holds the kept subset's exact f_k scaled by 2^level (estimates).
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
        lines.append(
            f"coverage  {self.coverage:.4f} (Good-Turing estimate of the sampling mass of "
            "the regions found)"
        )
        if self.chao1 is not None:
            lo, hi = self.chao1_ci
            lines.append(
                f"chao1     {self.chao1:,.1f} (estimated regions with positive mass; 95% CI "
                f"[{lo:,.1f}, {hi:,.1f}])"
            )
            lines.append(
                f"new at 2N {self.good_toulmin_2x:,.1f} (Good-Toulmin estimate of new regions "
                "that N more samples would find)"
            )
        f1 = self.freq_of_freq.get(1, 0)
        lines.append(f"f1, f2    {f1:,}, {self.freq_of_freq.get(2, 0):,} (singletons, doubletons)")
        lines.append(
            f"keys      {self.key_kind} ({self.key_bits} bits), collision probability "
            f"{self.collision_probability:.3g}; forward pass in {self.precision}"
        )
        lines.extend(f"warning   {w}" for w in self.warnings)
        return "\n".join(lines)


def _domain_text(d: dict) -> str:
    skip = {"type", "law", "data_sha256"}
    body = ", ".join(f"{k}={v}" for k, v in d.items() if k not in skip and v is not None)
    return f"{d['type']}({body}), {d.get('law', '')} law"
