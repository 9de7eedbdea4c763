"""The result record of a finished run: the table's checked patterns, estimates, warnings."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from .. import estimators
from ..records import package_version
from .affine import PatternCheck
from .checks import float32_warning
from .record import RegionCount
from .table import TableState, sketch_summary


@dataclasses.dataclass(frozen=True)
class Tally:
    """What the record reports of a table: the kept patterns' counts (faces dropped)."""

    counts: np.ndarray  # per valid pattern
    level: int
    on_breakpoints: int  # samples whose pattern was a face's (scaled up in sketch mode)
    counted: int  # samples behind ``counts`` (all samples in exact mode, minus the above)

    @classmethod
    def of(cls, state: TableState, patterns: PatternCheck) -> Tally:
        scale = 2**state.level
        dropped = int(np.sum(state.counts[~patterns.valid])) * scale
        total = int(state.total if state.total is not None else np.sum(state.counts))
        return cls(state.counts[patterns.valid], state.level, dropped, total - dropped)

    def freq_of_freq(self) -> dict[int, int]:
        ks, fs = np.unique(self.counts, return_counts=True)
        return {int(k): int(f) for k, f in zip(ks, fs)}


def _warnings(plan: Any, tally: Tally, sketch: dict | None, patterns: PatternCheck,
              check: dict | None) -> list[str]:  # fmt: skip
    out = []
    if sketch is not None:
        out.append(
            f"the pattern table exceeded its budget of {plan.max_table_rows:,} patterns: "
            f"distinct and the frequency table are estimated from a hash-sampled "
            f"2^-{tally.level} subset of patterns (relative std error "
            f"{sketch['relative_std_error']:.2%}); affine_distinct counts the maps of that "
            "subset only"
        )
    if check is not None:
        out.append(float32_warning(plan.arith, check))
    if tally.on_breakpoints:
        out.append(
            f"{tally.on_breakpoints:,} samples lay exactly on a breakpoint of the network with "
            "a pattern of no region (a face's: samples sit on a finite grid, which hyperplanes "
            "with rational normals cross) and were not counted"
        )
    if patterns.unverified:
        out.append(
            f"{patterns.unverified} patterns could not be recomputed at their sample (rounding "
            "differs between programs): they are counted but unchecked, without an affine map"
        )
    return out


def build_record(plan: Any, state: TableState, patterns: PatternCheck, check: dict | None,
                 execution: dict, seconds: float) -> RegionCount:  # fmt: skip
    """The :class:`RegionCount` of a run planned by ``plan`` (an ``engine._Plan``)."""
    tally = Tally.of(state, patterns)
    fof = tally.freq_of_freq()
    sketch = sketch_summary(tally.level, int(tally.counts.size)) if tally.level else None
    warnings = _warnings(plan, tally, sketch, patterns, check)
    if sketch is not None:
        fof_est = {k: v * 2**tally.level for k, v in fof.items()}
        distinct = round(sketch["distinct_estimate"])
        est = estimators.estimate(fof_est)
    else:
        fof_est = fof
        distinct = sum(fof.values())
        est = estimators.estimate(fof, tally.counted)
    warnings.extend(est.warnings)
    coll = plan.spec.collision_probability(distinct)
    if coll > 1e-6:
        warnings.append(f"hash collisions are possible (probability {coll:.2g})")
    net = plan.net
    processed = execution["samples_this_run"]
    return RegionCount(
        n_samples=plan.n,
        distinct=distinct,
        freq_of_freq=dict(sorted(fof_est.items())),
        coverage=est.coverage,
        chao1=est.chao1,
        chao1_ci=est.chao1_ci,
        good_toulmin_2x=est.good_toulmin_2x,
        saturated=est.saturated,
        collision_probability=coll,
        seconds=seconds,
        throughput=processed / max(seconds, 1e-9),
        seed=plan.seed,
        domain=plan.sampling.description,
        fingerprint=net.fingerprint,
        network=net.describe(),
        key_kind=plan.spec.kind,
        key_bits=plan.spec.key_bits if plan.spec.hashed else plan.spec.num_bits,
        warnings=tuple(warnings),
        sketch=sketch,
        execution=execution,
        package_version=package_version(),
        precision=plan.precision,
        affine_distinct=patterns.affine_distinct,
        affine=patterns.describe(),
        arithmetic={**plan.arith.describe(), "float32_check": check},
        on_breakpoints=tally.on_breakpoints,
    )
