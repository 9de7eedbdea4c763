"""Figures (matplotlib, Agg backend). A flat module of functions taking data and an output
path; each returns the path written. Region colours come from a hash of the activation
pattern alone, so a region keeps its colour across training checkpoints and pictures.
"""

from __future__ import annotations

import colorsys
import hashlib
import os
from collections.abc import Sequence
from fractions import Fraction

import numpy as np

from .errors import InvalidInput
from .exact.line import line_values
from .exact.result import ExactCount
from .fileio import atomic_path
from .network import ReLUNet

# What the colours and lines of a partition picture mean (also used in figure captions).
PARTITION_KEY = (
    "Colours: one per activation pattern (a hash of the pattern, stable across pictures). "
    "Thin white lines: boundaries between activation regions. Black lines: boundaries "
    "between linear regions (f's affine map changes); white without black: the pattern "
    "changes, f's affine map does not."
)


def _pyplot():
    # pyplot is imported on first use and only after choosing the Agg backend (no display
    # needed); a notebook that already chose a backend keeps it (force=False).
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: str | os.PathLike, **savefig_kwargs) -> str:
    """Write ``fig`` as ``path`` atomically (an unwritable path is an InvalidInput naming
    it) and close it; returns the path."""
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, **savefig_kwargs)
    finally:
        _pyplot().close(fig)
    return os.fspath(path)


def pattern_color(bits: Sequence[bool] | np.ndarray) -> tuple[float, float, float]:
    """A stable RGB colour for one activation pattern (hash of its packed bits)."""
    b = np.asarray(bits, dtype=bool).ravel()
    digest = hashlib.blake2b(
        np.packbits(b).tobytes() + int(b.size).to_bytes(8, "little"), digest_size=8
    ).digest()
    h = int.from_bytes(digest[:4], "little") / 2**32
    s = 0.45 + 0.4 * digest[4] / 255
    v = 0.7 + 0.28 * digest[5] / 255
    return colorsys.hsv_to_rgb(h, s, v)


def pattern_colors(patterns: np.ndarray) -> np.ndarray:
    """Colours (N, 3) for N patterns (rows of a bool array)."""
    patterns = np.asarray(patterns, dtype=bool)
    return np.array([pattern_color(p) for p in patterns]).reshape(len(patterns), 3)


def plot_plane_partition(
    polygons: Sequence[np.ndarray],
    patterns: np.ndarray,
    path: str | os.PathLike,
    *,
    linear_boundaries: np.ndarray | None = None,
    title: str | None = None,
    xlabel: str = "s",
    ylabel: str = "t",
    key: bool = True,
    dpi: int = 150,
) -> str:
    """PNG of a planar partition: cells coloured by a hash of their activation pattern,
    linear-region boundaries (segments (E, 2, 2)) drawn over them in black.

    ``polygons``: one (k, 2) array of (s, t) vertices per cell; ``patterns``: bool
    (cells, bits). Thin white lines separate activation regions; a white line with no black
    over it is a pattern change that leaves f's affine map unchanged. ``key=True`` writes
    this key under the picture, so a reader of the PNG alone knows what the lines mean.
    """
    from matplotlib.collections import LineCollection, PolyCollection

    if len(polygons) != len(patterns):
        raise InvalidInput(
            f"polygons and patterns must match: {len(polygons)} cells, {len(patterns)} patterns"
        )
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 6))
    cols = pattern_colors(patterns)
    ax.add_collection(
        PolyCollection(
            [np.asarray(p) for p in polygons], facecolors=cols, edgecolors="white", linewidths=0.3
        )
    )
    if linear_boundaries is not None and len(linear_boundaries):
        ax.add_collection(LineCollection(np.asarray(linear_boundaries), colors="k", linewidths=0.8))
    allp = np.concatenate([np.asarray(p) for p in polygons]) if len(polygons) else np.zeros((1, 2))
    lo, hi = allp.min(axis=0), allp.max(axis=0)
    pad = 0.02 * np.maximum(hi - lo, 1e-12)
    ax.set_xlim(lo[0] - pad[0], hi[0] + pad[0])
    ax.set_ylim(lo[1] - pad[1], hi[1] + pad[1])
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=9)
    if key:
        ax.text(
            0.0,
            -0.1,
            PARTITION_KEY,
            transform=ax.transAxes,
            fontsize=7,
            va="top",
            wrap=True,
        )
    path = save_figure(fig, path, dpi=dpi, bbox_inches="tight")
    return path


def plot_line_function(
    ts: np.ndarray,
    values: np.ndarray,
    path: str | os.PathLike,
    *,
    breakpoints: np.ndarray | None = None,
    breakpoint_values: np.ndarray | None = None,
    linear_breakpoints: np.ndarray | None = None,
    linear_breakpoint_values: np.ndarray | None = None,
    title: str | None = None,
    xlabel: str = "t",
    max_marks: int = 2000,
    dpi: int = 150,
) -> str:
    """PNG of f along a line: the curve ``values`` (N,) or (N, outputs) over ``ts``,
    activation-pattern breakpoints as grey dots and linear-region breakpoints (kinks of f)
    as red crosses, each at its value of f. Marks are omitted above ``max_marks``.
    """
    ts = np.asarray(ts, dtype=float)
    values = np.asarray(values, dtype=float)
    if values.ndim == 1:
        values = values[:, None]
    if values.shape[0] != ts.shape[0]:
        raise InvalidInput(f"ts and values must match: {ts.shape[0]} vs {values.shape[0]} rows")
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 3.5))
    for k in range(values.shape[1]):
        ax.plot(ts, values[:, k], lw=0.9, label=f"f_{k}" if values.shape[1] > 1 else "f")
    notes = []
    for bps, vals, style, name in (
        (breakpoints, breakpoint_values, dict(marker="o", s=10, c="0.45"), "pattern change"),
        (linear_breakpoints, linear_breakpoint_values, dict(marker="x", s=22, c="r"), "kink"),
    ):
        if bps is None or vals is None or len(bps) == 0:
            continue
        bps = np.asarray(bps, dtype=float)
        vals = np.asarray(vals, dtype=float)
        vals = vals[:, :1] if vals.ndim == 2 else vals[:, None]
        if bps.size > max_marks:
            notes.append(f"{bps.size} {name}s not marked")
            continue
        ax.scatter(bps, vals[:, 0], zorder=3, label=name, **style)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("f")
    ax.legend(fontsize=7, loc="best")
    full = "; ".join([t for t in (title, *notes) if t])
    if full:
        ax.set_title(full, fontsize=9)
    path = save_figure(fig, path, dpi=dpi, bbox_inches="tight")
    return path


def plot_region_series(series: Sequence[dict], path: str | os.PathLike) -> str:
    """Region counts against training step, one panel per count, one line per model.

    ``series``: the records of a run's ``regions.json`` (``model``, ``step`` and per-count
    dicts such as ``sampled_box.distinct``, ``exact_plane.linear_regions``), as written by
    :func:`tern_jax.train.write_series`.
    """
    plt = _pyplot()
    panels = [
        ("sampled_box", "distinct", "activation regions, sampled\n(distinct patterns, data box)"),
        ("sampled_data", "distinct", "activation regions, sampled\n(around training points)"),
        ("exact_line", None, "exact on a line through data\n(activation: band, linear: dashed)"),
        ("exact_plane", None, "exact on a plane through data\n(activation: band, linear: dashed)"),
    ]
    panels = [p for p in panels if any(isinstance(r.get(p[0]), dict) for r in series)]
    models = sorted({r["model"] for r in series}, key=lambda m: (m != "ternary", m))
    fig, axes = plt.subplots(
        1, max(len(panels), 1), figsize=(4.2 * max(len(panels), 1), 3.4), squeeze=False
    )
    colors = {m: f"C{i}" for i, m in enumerate(models)}
    for ax, (key, field, title) in zip(axes[0], panels):
        for m in models:
            rows = sorted(
                (r for r in series if r["model"] == m and isinstance(r.get(key), dict)),
                key=lambda r: r["step"],
            )
            steps = [r["step"] for r in rows]
            if field is not None:
                ax.plot(steps, [r[key][field] for r in rows], "o-", ms=3, color=colors[m], label=m)
                continue
            # Activation: a wide pale band; linear: a thin dashed line drawn on top of it, so
            # both stay visible where the counts are equal (linear <= activation always).
            act = [r[key]["activation_regions"] for r in rows]
            lin = [r[key]["linear_regions"] for r in rows]
            ax.plot(steps, act, "-", lw=5, alpha=0.3, color=colors[m], label=f"{m} activation")
            ax.plot(
                steps,
                lin,
                "--",
                marker="x",
                ms=4,
                lw=1,
                color=colors[m],
                zorder=3,
                label=f"{m} linear",
            )
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("training step")
        ax.set_ylabel("regions")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    out = save_figure(fig, path, dpi=110)
    return out


def plot_exact(net: ReLUNet, result: ExactCount, path: str | os.PathLike) -> str:
    """A picture of an exact partition: the coloured cells of a plane result (kept with
    ``keep_cells``), or f along the line of a line result with its breakpoints."""
    kind = (
        f"{result.activation_regions} activation / {result.linear_regions} linear regions (exact)"
    )
    if result.engine == "plane":
        if result.cells is None:
            raise InvalidInput("too many cells to draw (rerun with keep_cells=True)")
        return plot_plane_partition(
            result.cells,
            result.patterns,
            path,
            linear_boundaries=result.linear_boundaries,
            title=kind,
        )
    if result.engine != "line" or result.breakpoints is None:
        raise InvalidInput(f"cannot draw a {result.engine!r} result without its breakpoints")
    bps = np.array([float(t) for t in result.breakpoints])
    lbps = np.array([float(t) for t in result.linear_breakpoints])
    lo, hi = (_end_value(t) for t in result.domain["t_range"])
    if not np.isfinite(lo) or not np.isfinite(hi):
        span = max((bps.max() - bps.min()) if bps.size else 1.0, 1.0)
        lo = lo if np.isfinite(lo) else (bps.min() if bps.size else 0.0) - 0.25 * span
        hi = hi if np.isfinite(hi) else (bps.max() if bps.size else 0.0) + 0.25 * span
    ts = np.union1d(np.linspace(lo, hi, 2001), bps[(bps >= lo) & (bps <= hi)])
    return plot_line_function(
        ts,
        line_values(net, result, ts),
        path,
        breakpoints=bps,
        breakpoint_values=line_values(net, result, bps) if bps.size else None,
        linear_breakpoints=lbps,
        linear_breakpoint_values=line_values(net, result, lbps) if lbps.size else None,
        title=f"{result.domain['description']}: {kind}",
        xlabel="x" if result.domain["input_dim"] == 1 else "t",
    )


def _end_value(text: str) -> float:
    return float(text) if "inf" in text else float(Fraction(text))
