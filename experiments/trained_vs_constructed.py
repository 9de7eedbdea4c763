"""Study 3: trained vs constructed vs random — how much of the capacity does training use?

Quantisation-aware training (tern_jax.train) of ternary networks (alternating identity/ReLU
and all-ReLU) and of their full-precision twins on a 2D regression task. Their regions at
initialisation and after training — exact on the data square, sampled in the data box — are
compared with the ternary construction of the same shape (math.md 3.2) and with the upper
bound for networks with the same ReLU layers.
"""

from __future__ import annotations

import json
import os

from _common import plt, save, study_main

import tern_jax as tj
from tern_jax.report import Figure, StudyResult, Table
from tern_jax.train import TrainConfig, config_from_dict
from tern_jax.train import run as train_run

# Each setting overrides only what differs from the training defaults (TrainConfig's fields,
# the single source of defaults): task sines2d, absmean codes, AdamW with warm-up and cosine
# decay, 2048 training points, ...
SETTINGS = {
    "smoke": {
        "overrides": {
            "steps": 60,
            "checkpoint_every": 30,
            "count_every": 30,
            "count_samples": 2000,
        },
        "runs": [("alternating", [8, 8, 8, 8])],
    },
    "quick": {
        "overrides": {"steps": 1500, "count_every": 250},
        "runs": [("alternating", [16, 16, 16, 16]), ("all_relu", [16, 16]), ("all_relu", [8, 8])],
    },
    "full": {
        "overrides": {
            "steps": 20_000,
            "checkpoint_every": 2000,
            "count_every": 1000,
            "count_samples": 1_000_000,
        },
        "runs": [
            ("alternating", [32, 32, 32, 32]),
            ("alternating", [64, 64, 64, 64]),
            ("all_relu", [32, 32]),
            ("all_relu", [16, 16]),
            ("all_relu", [32, 32, 32, 32]),
        ],
    },
}


def run_name(architecture: str, widths: list[int]) -> str:
    return f"{architecture}_{'x'.join(map(str, widths))}"


def train_config(setting: str, architecture: str, widths: list[int]) -> TrainConfig:
    """The training config of one run: the defaults, the setting's overrides, the shape."""
    return config_from_dict(
        {
            **SETTINGS[setting]["overrides"],
            "name": run_name(architecture, widths),
            "architecture": architecture,
            "widths": widths,
        }
    )


def relu_widths(architecture: str, widths: list[int]) -> list[int]:
    """Widths of the ReLU layers (identity layers fold into the next affine map)."""
    if architecture == "all_relu":
        return list(widths)
    return [w for i, w in enumerate(widths) if i % 2 == 1]


def equal_shape_construction(architecture: str, widths: list[int]):
    """The ternary construction with (at most) the same hidden widths, or None."""
    if architecture == "alternating":
        # identity width 2p, ReLU width 2p - 1 per block (n0 = 2: 4p and 4p - 2)
        ps = [widths[i] // 4 for i in range(0, len(widths) - 1, 2)]
        return tj.constructions.ternary_alternating(2, ps) if all(ps) else None
    # all-ReLU cube form: the same widths as 3.2, every layer ReLU
    ps = [widths[i] // 4 for i in range(0, len(widths) - 1, 2)]
    return tj.constructions.ternary_all_relu(2, ps, form="cube") if ps and all(ps) else None


SQUARE = (-1.0, 1.0, -1.0, 1.0)  # the data square of sines2d, where every count is taken


def construction_regions(architecture: str, widths: list[int]) -> int | None:
    """Exact linear regions on the data square [-1,1]^2 of the same-shape construction (the
    same domain as the trained models' counts), or None when there is none."""
    c = equal_shape_construction(architecture, widths)
    if c is None:
        return None
    return tj.exact_regions_2d(
        c.net, [0.0, 0.0], [1.0, 0.0], [0.0, 1.0], bounds=SQUARE
    ).linear_regions


def _plot_partition(run_dir: str, out_dir: str, name: str, arch: str, widths: list[int]) -> None:
    """A picture of the trained ternary model's partition of the data square."""
    net = tj.load_network(os.path.join(run_dir, "network.npz"))
    ex = tj.exact_regions_2d(
        net, [0.0, 0.0], [1.0, 0.0], [0.0, 1.0], bounds=SQUARE, keep_cells=True
    )
    if ex.cells is not None:
        tj.plots.plot_plane_partition(
            ex.cells,
            ex.patterns,
            os.path.join(out_dir, f"partition_{name}.png"),
            linear_boundaries=ex.linear_boundaries,
            xlabel="x1",
            ylabel="x2",
            title=f"trained ternary {arch} {widths}: {ex.activation_regions} activation / "
            f"{ex.linear_regions} linear regions (exact, [-1,1]^2)",
        )


def _train_one(setting: str, arch: str, widths: list[int], out_dir: str):
    """Train one architecture (and its twin); its table rows, series and findings."""
    tc = train_config(setting, arch, widths)
    run_dir = os.path.join(out_dir, "runs", tc.name)
    summary = train_run(
        tc, run_dir, progress=False, echo=lambda s: None, plot=tj.plots.plot_region_series
    )
    with open(os.path.join(run_dir, "regions.json")) as fh:
        series = json.load(fh)["series"]
    construction = construction_regions(arch, widths)
    upper = tj.bounds.serra2018_upper(2, relu_widths(arch, widths))
    rows, series_all, findings = [], [], []
    for kind in ("ternary", "float"):
        s = sorted((r for r in series if r["model"] == kind), key=lambda r: r["step"])
        first, last = s[0], s[-1]
        label = f"{kind} {arch} {widths}"
        series_all.append((label, s))
        for when, r in (("init", first), ("trained", last)):
            plane = r["exact_plane"]
            rows.append(
                [
                    label,
                    when,
                    r["step"],
                    r.get("test_loss"),
                    plane["activation_regions"],
                    plane["linear_regions"],
                    r["sampled_box"]["distinct"],
                    construction,
                    upper,
                ]
            )
        m = summary["models"][kind]
        findings.append(
            f"{label}: test MSE {m['test_mse']:.4f} (constant predictor "
            f"{summary['constant_baseline_test_mse']:.4f}); exact linear regions on [-1,1]^2 "
            f"{first['exact_plane']['linear_regions']} at init -> "
            f"{last['exact_plane']['linear_regions']} trained; upper bound for its ReLU layers "
            f"over R^2 {upper}"
            + (
                f"; construction of the same shape on [-1,1]^2 {construction}."
                if construction
                else "."
            )
        )
    _plot_partition(run_dir, out_dir, tc.name, arch, widths)
    return rows, series_all, findings


def _regions_figure(series_all: list, out_dir: str) -> Figure:
    """Exact linear regions against training step, every model."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for i, (label, s) in enumerate(series_all):
        ls = "-" if label.startswith("ternary") else "--"
        steps = [r["step"] for r in s]
        regions = [r["exact_plane"]["linear_regions"] for r in s]
        ax.plot(steps, regions, ls, marker="o", ms=3, color=f"C{i // 2}", label=label)
    ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel("linear regions on [-1,1]^2 (exact)")
    ax.set_title("regions through training (solid: ternary QAT, dashed: float twin)", fontsize=9)
    ax.legend(fontsize=7)
    return Figure(
        save(fig, out_dir, "regions_vs_step.png"),
        "Exact linear regions on the data square [-1,1]^2 against training step.",
    )


def run(setting: str, out_dir: str):
    cfg = SETTINGS[setting]
    rows, series_all, findings = [], [], []
    for arch, widths in cfg["runs"]:
        r, s, f = _train_one(setting, arch, widths, out_dir)
        rows, series_all, findings = rows + r, series_all + s, findings + f
    figs = [_regions_figure(series_all, out_dir)]
    figs += [
        Figure(
            f,
            f"Exact partition of [-1,1]^2 by the trained ternary model "
            f"{f[len('partition_') : -4]}: colours = activation patterns, black = linear-region "
            "boundaries.",
        )
        for f in sorted(os.listdir(out_dir))
        if f.startswith("partition_")
    ]
    for r in rows:
        if r[1] == "trained" and r[7]:
            findings.append(
                f"{r[0]} trained: {r[5]} linear regions on [-1,1]^2 = {r[5] / r[7]:.2f}x the "
                f"same-shape construction's {r[7]} on the same square and {r[5] / r[8]:.2%} of "
                "the upper bound over R^2."
            )
    findings.append(
        "The constructions are lower-bound witnesses built to fold the unit cube, not maxima: "
        "a trained network can cut its data square into more or fewer pieces, while staying "
        "orders of magnitude below the upper bound."
    )
    n = train_config(setting, *cfg["runs"][0])
    table = Table(
        "trained",
        "Regions of randomly initialised (step 0) and trained models on the data "
        "square [-1,1]^2: exact activation and linear regions (plane engine) and sampled distinct "
        f"activation patterns among N = {n.count_samples:,} uniform samples of the square; "
        "beside them the exact linear regions of the same-shape ternary construction on the "
        "same square, and Serra's upper bound over R^2 for networks with the same ReLU layers.",
        [
            "model",
            "when",
            "step",
            "test MSE",
            "activation (exact)",
            "linear (exact)",
            f"sampled distinct (N = {n.count_samples:,})",
            "construction linear ([-1,1]^2, exact)",
            "upper bound R^2",
        ],
        rows,
    )
    return StudyResult(
        name="trained_vs_constructed",
        title="Trained vs constructed vs random",
        setting=f"{setting}: {n.steps} steps, runs {cfg['runs']}",
        summary=(
            "Ternary models trained by quantisation-aware training (absmean / BitNet b1.58 codes, "
            "straight-through gradients, AdamW with warm-up and cosine decay) on y = sin(pi x1) "
            "sin(pi x2), and their full-precision twins. The training runs (checkpoints, "
            "exported codes, region series) are kept under runs/. Random = the same model at "
            "initialisation (step 0). Counts use float activations; BitNet-style activation "
            "quantisation is not modelled."
        ),
        tables=[table],
        figures=figs,
        findings=findings,
    )


if __name__ == "__main__":
    raise SystemExit(study_main(run, "trained_vs_constructed", __doc__))
