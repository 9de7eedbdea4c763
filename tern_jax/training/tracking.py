"""Region counts of a model's network during training (the run's region series).

At step 0, every ``count_every`` steps and at the end, the model's folded
:class:`~tern_jax.network.ReLUNet` is counted four ways; each count is stored as the engine's
own record (``to_dict()``), cut down to the fields a series needs:

- ``sampled_box``: *activation* regions met by ``count_samples`` uniform points of the data
  box (sampled, a lower bound; ``chao1`` is an estimate);
- ``sampled_data``: the same over balls of ``neighbourhood_radius`` around training points;
- ``exact_line``, ``exact_plane``: *exact* activation and linear regions on a segment
  through two training points (the whole interval for 1D tasks) and on a plane (the input
  box for 2D tasks, through three training points otherwise).

Region counts are deterministic functions of (parameters, seed), so a resumed run recomputes
exactly the records a killed run lost.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from ..exact import ExactCount, exact_regions_1d, exact_regions_2d
from ..network import ReLUNet
from ..sampling import Box, Points, RegionCount, count_regions
from ..tasks import Task
from .config import TrainConfig

# (record, figure) pairs written to regions.csv and TensorBoard, in this order.
SERIES_FIELDS = (
    ("sampled_box", "distinct"),
    ("sampled_box", "chao1"),
    ("sampled_data", "distinct"),
    ("exact_line", "activation_regions"),
    ("exact_line", "linear_regions"),
    ("exact_plane", "activation_regions"),
    ("exact_plane", "linear_regions"),
)
# The fields of each engine record kept in the series (the rest: timings, devices, lists of
# breakpoints, frequency tables, is in the engines' full records, not needed here).
SAMPLED_KEYS = (
    "kind",
    "method",
    "domain",
    "n_samples",
    "seed",
    "distinct",
    "chao1",
    "chao1_ci",
    "coverage",
    "saturated",
    "precision",
)
EXACT_KEYS = (
    "how",
    "count_kinds",
    "engine",
    "domain",
    "mode",
    "tolerance",
    "activation_regions",
    "linear_regions",
)


def record_fields(record: RegionCount | ExactCount, keys: tuple[str, ...]) -> dict[str, Any]:
    """The given fields of an engine record, from its own serialisation (``to_dict``)."""
    d = record.to_dict()
    return {k: d[k] for k in keys if k in d}


def _line_through_box(a: np.ndarray, b: np.ndarray, lo: np.ndarray, hi: np.ndarray):
    """Endpoints where the line through a and b crosses the box [lo, hi]."""
    d = b - a
    t0, t1 = -np.inf, np.inf
    for i in range(len(a)):
        if d[i] != 0:
            ta, tb = sorted(((lo[i] - a[i]) / d[i], (hi[i] - a[i]) / d[i]))
            t0, t1 = max(t0, ta), min(t1, tb)
    return a + t0 * d, a + t1 * d


def region_probes(task: Task, seed: int) -> dict[str, Any]:
    """The fixed line and plane (through data points) on which exact counts are taken."""
    rng = np.random.default_rng([seed, 0x11E])
    x = np.asarray(task.x_train, np.float64)
    d = task.input_dim
    if d == 1:
        return {"line": (task.lo.copy(), task.hi.copy()), "plane": None}
    i, j, k = rng.choice(len(x), 3, replace=False)
    line = _line_through_box(x[i], x[j], task.lo, task.hi)
    if d == 2:
        plane = (
            np.zeros(2),
            np.array([1.0, 0.0]),
            np.array([0.0, 1.0]),
            (task.lo[0], task.hi[0], task.lo[1], task.hi[1]),
        )
    else:
        plane = (x[i], x[j] - x[i], x[k] - x[i], (-0.25, 1.25, -0.25, 1.25))
    return {"line": line, "plane": plane}


def count_network_regions(
    net: ReLUNet, task: Task, cfg: TrainConfig, probes: dict[str, Any]
) -> dict[str, Any]:
    """Region counts of ``net`` for the series (module docstring), one record per count."""
    box = count_regions(net, Box(task.lo, task.hi), cfg.count_samples, seed=cfg.seed)
    around = Points(task.x_train, radius=cfg.neighbourhood_radius)
    pts = count_regions(net, around, cfg.count_samples, seed=cfg.seed)
    out = {
        "sampled_box": record_fields(box, SAMPLED_KEYS),
        "sampled_data": record_fields(pts, SAMPLED_KEYS),
    }
    if cfg.exact_line:
        a, b = probes["line"]
        ends = (a, b) if len(a) > 1 else (float(a[0]), float(b[0]))
        out["exact_line"] = record_fields(exact_regions_1d(net, *ends), EXACT_KEYS)
    if cfg.exact_plane and probes["plane"] is not None:
        o, u, v, bounds = probes["plane"]
        bounds = tuple(float(t) for t in bounds)
        r = exact_regions_2d(net, o, u, v, bounds=bounds, keep_cells=False)
        out["exact_plane"] = record_fields(r, EXACT_KEYS)
    return out


def series_values(record: dict[str, Any]) -> dict[str, float | None]:
    """The figures of one series record as ``"record.figure"`` -> value (missing: None)."""
    return {f"{a}.{b}": (record.get(a) or {}).get(b) for a, b in SERIES_FIELDS}


def describe(record: dict[str, Any]) -> list[str]:
    """Readable lines for the counts of one series record, each naming the kind of region,
    the method and the domain (what ``tern-jax train`` prints at the end)."""
    lines = []
    for key in ("sampled_box", "sampled_data"):
        r = record.get(key)
        if r:
            est = "" if r.get("chao1") is None else f"; Chao1 estimate {r['chao1']:,.1f}"
            lines.append(
                f"activation regions, sampled: {r['distinct']:,} distinct patterns among "
                f"N = {r['n_samples']:,} points {_sampled_domain(r['domain'])}{est}"
            )
    for key in ("exact_line", "exact_plane"):
        r = record.get(key)
        if r:
            lines.append(
                f"activation / linear regions, exact ({r['mode']} arithmetic): "
                f"{r['activation_regions']:,} / {r['linear_regions']:,} on the "
                f"{_exact_domain(r['domain'])}"
            )
    return lines


def _point(values: list) -> str:
    # the exact engines record coordinates as exact rationals ("3/4"); 4 digits say enough
    return "(" + ", ".join(f"{float(Fraction(v)):.4g}" for v in values) + ")"


def _exact_domain(d: dict[str, Any]) -> str:
    if d.get("kind") == "segment":
        return f"segment from {_point(d['start'])} to {_point(d['end'])}"
    return d.get("description", str(d))


def _sampled_domain(d: dict[str, Any]) -> str:
    if d.get("type") == "box":
        box = " x ".join(f"[{a:g}, {b:g}]" for a, b in zip(d["lo"], d["hi"]))
        return f"drawn uniformly from the data box {box}"
    if d.get("type") == "points":
        return (
            f"drawn uniformly from balls of radius {d['radius']:g} around the "
            f"{d['num_points']:,} training points"
        )
    return f"drawn from {d}"
