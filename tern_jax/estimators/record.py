"""RegionEstimate: the result record of an estimated region count."""

from __future__ import annotations

import dataclasses
from typing import Any

from ..records import record_json, to_jsonable

METHODS = {
    "volume": "Horvitz-Thompson over the sampled regions and their neighbours, from region "
    "volumes (estimated)",
    "horvitz-thompson": "Horvitz-Thompson over the sampled regions, from region volumes "
    "(estimated)",
    "hansen-hurwitz": "mean of vol(D) / vol(region) over the samples (estimated)",
    "chao1": "bias-corrected Chao1 from the sample's frequency table (estimated; a "
    "lower-bound-type estimate, its interval no coverage promise)",
}


@dataclasses.dataclass(frozen=True)
class RegionEstimate:
    """An estimated number of **activation regions** (or linear regions, see ``kind``) of a
    network that have positive volume in a bounded domain, from ``n_samples`` uniform draws.

    ``estimate`` and ``interval`` (at confidence ``level``) are estimates; ``distinct`` (distinct
    patterns among the draws) and ``found`` (regions found: sampled, or neighbours of sampled
    regions, each with a positive volume computed) are certain lower bounds, and
    ``lower_bound`` adds one when ``unobserved_mass`` (the domain's share not covered by the
    regions found, known exactly when the volumes are exact) is positive. No interval ends
    below ``lower_bound``. ``volume_method`` says how region volumes were obtained
    ("interval", "exact polygon", "qhull", "monte-carlo" or "none" for Chao1). ``costs``:
    seconds per step and work counts.
    """

    estimate: float
    interval: tuple[float, float]
    level: float
    n_samples: int
    method: str
    kind: str
    domain: dict
    seconds: float
    distinct: int
    found: int
    lower_bound: int
    unobserved_mass: float | None
    std_error: float
    interval_method: str
    volume_method: str
    seed: int
    fingerprint: str
    network: dict
    costs: dict
    warnings: tuple[str, ...]
    package_version: str
    how: str = "estimated"

    def to_dict(self) -> dict[str, Any]:
        return to_jsonable(self)

    def to_json(self, **dumps_kwargs: Any) -> str:
        return record_json(self, **dumps_kwargs)

    def summary(self) -> str:
        """A readable multi-line summary naming the kind, the domain and the method."""
        lo, hi = self.interval
        d = self.domain
        body = ", ".join(f"{k}={v}" for k, v in d.items() if k not in ("type", "law"))
        lines = [
            f"network   {self.fingerprint}  input_dim={self.network['input_dim']} "
            f"widths={self.network['widths']} relu_units={self.network['num_relu_units']}",
            f"domain    {d['type']}({body}), {d.get('law', '')} law",
            f"samples   m={self.n_samples:,}  seed={self.seed}  ({self.seconds:.2f} s)",
            f"estimate  {self.estimate:,.1f} {self.kind} with positive volume in the domain "
            f"(estimated: {METHODS.get(self.method, self.method)})",
            f"interval  [{lo:,.1f}, {hi:,.1f}] at {self.level:.0%} ({self.interval_method})",
            f"certain   >= {self.lower_bound:,} {self.kind} ({self.distinct:,} distinct among "
            f"the samples, {self.found:,} found with their neighbours"
            + (
                f", unobserved mass {self.unobserved_mass:.3g})"
                if self.unobserved_mass is not None
                else ")"
            ),
            f"volumes   {self.volume_method}",
        ]
        lines.extend(f"warning   {w}" for w in self.warnings)
        return "\n".join(lines)
