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

from _common import plt, save, status, study_main

import tern_jax as tj
from tern_jax.plots import PARTITION_KEY
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


DATA_SQUARE = (-1, 1, -1, 1)  # the task's input box, where every count below is made
COLUMNS = [
    "model",
    "when",
    "step",
    "test MSE",
    "constant-predictor MSE",
    "activation (exact)",
    "linear (exact)",
    "sampled activation",
    "construction linear (exact)",
    "linear / construction",
    "upper bound R^2",
    "linear / upper bound",
]


def exact_on_square(net, **kwargs):
    """Exact partition of the data square [-1, 1]^2 (plane engine)."""
    return tj.exact_regions_2d(
        net, [0.0, 0.0], [1.0, 0.0], [0.0, 1.0], bounds=DATA_SQUARE, **kwargs
    )


def run(setting: str, out_dir: str):
    cfg = SETTINGS[setting]
    rows, series_all, findings = [], [], []
    for arch, widths in cfg["runs"]:
        tc = train_config(setting, arch, widths)
        name = tc.name
        status(f"   training {name}: {tc.steps} steps, ternary model and float twin")
        run_dir = os.path.join(out_dir, "runs", name)
        summary = train_run(
            tc, run_dir, progress=False, echo=lambda s: None, plot=tj.plots.plot_region_series
        )
        with open(os.path.join(run_dir, "regions.json")) as fh:
            series = json.load(fh)["series"]
        c = equal_shape_construction(arch, widths)
        # The construction counted on the same domain as the models (not on its unit square).
        c_lin = exact_on_square(c.net).linear_regions if c else None
        upper = tj.bounds.serra2018_upper(2, relu_widths(arch, widths))
        for kind in ("ternary", "float"):
            s = sorted((r for r in series if r["model"] == kind), key=lambda r: r["step"])
            first, last = s[0], s[-1]
            label = f"{'ternary' if kind == 'ternary' else 'float'} {arch} {widths}"
            series_all.append((label, s))
            for when, r in (("init", first), ("trained", last)):
                lin = r["exact_plane"]["linear_regions"]
                rows.append(
                    [
                        label,
                        when,
                        r["step"],
                        summary["models"][kind]["test_mse"] if when == "trained" else None,
                        summary["constant_baseline_test_mse"],
                        r["exact_plane"]["activation_regions"],
                        lin,
                        r["sampled_box"]["distinct"],
                        c_lin,
                        lin / c_lin if c_lin else None,
                        upper,
                        lin / upper,
                    ]
                )
        # a picture of the trained ternary model's partition of the data square
        net = tj.load_network(os.path.join(run_dir, "network.npz"))
        ex = exact_on_square(net, keep_cells=True)
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
    figs = [Figure(plot_series(series_all, out_dir), SERIES_CAPTION)]
    figs += [
        Figure(
            f,
            f"Exact partition of [-1,1]^2 by the trained ternary model "
            f"{f[len('partition_') : -4]}. {PARTITION_KEY}",
        )
        for f in sorted(os.listdir(out_dir))
        if f.startswith("partition_")
    ]
    findings += findings_from(rows)
    trained = [r for r in rows if r[1] == "trained"]
    compared = [r for r in trained if r[COLUMNS.index("linear / construction")] is not None]
    above = [r for r in compared if r[COLUMNS.index("linear / construction")] > 1]
    top = max(r[COLUMNS.index("linear / upper bound")] for r in trained)
    checks = [
        ["trained models compared with a construction", len(compared)],
        ["of them above the construction's count", len(above)],
        ["largest share of the upper bound", top],
    ]
    findings.append(
        f"Trained models have more linear regions on [-1,1]^2 than the same-shape construction "
        f"in {len(above)} of {len(compared)} cases, and at most {top:.2%} of the upper bound. "
        "The constructions are lower-bound witnesses built to fold the unit cube, not maxima."
    )
    first = train_config(setting, *cfg["runs"][0])  # every run shares these fields
    n = first.count_samples
    table = Table(
        "trained",
        "Regions of randomly initialised (step 0) and trained models on the data square "
        "[-1,1]^2: exact activation and linear regions (plane engine); sampled activation "
        f"regions = distinct patterns among N = {n:,} uniform samples of the square (a lower "
        "bound); the exact linear regions of the same-shape ternary construction on the same "
        "square; Serra's upper bound over R^2 for networks with the same ReLU layers. Test MSE "
        "after training (— at init) and of the constant predictor.",
        [c.replace("sampled activation", f"sampled activation (N = {n:,})") for c in COLUMNS],
        rows,
    )
    return StudyResult(
        name="trained_vs_constructed",
        title="Trained vs constructed vs random",
        setting=f"{setting}: {first.steps} steps, runs {cfg['runs']}",
        summary=(
            "Ternary models trained by quantisation-aware training (absmean / BitNet b1.58 codes, "
            "straight-through gradients, AdamW with warm-up and cosine decay) on y = sin(pi x1) "
            "sin(pi x2), and their full-precision twins. The training runs (checkpoints, "
            "exported codes, region series) are kept under runs/. Random = the same model at "
            "initialisation (step 0). Every count is on the data square [-1,1]^2, the "
            "constructions' too. Counts use float activations; BitNet-style activation "
            "quantisation is not modelled."
        ),
        tables=[
            table,
            Table(
                "checks",
                "Counted over the trained rows of the table.",
                ["quantity", "value"],
                checks,
            ),
        ],
        figures=figs,
        findings=findings,
    )


SERIES_CAPTION = (
    "Exact linear regions on the data square [-1,1]^2 against training step "
    "(solid: ternary QAT model; dashed: its float twin; one colour per architecture)."
)


def plot_series(series_all, out_dir: str) -> str:
    """regions_vs_step.png: exact linear regions through training, every model."""
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
    return save(fig, out_dir, "regions_vs_step.png")


def findings_from(rows) -> list[str]:
    """Findings built from the table's rows (every number printed is a cell of it)."""
    col = {name: i for i, name in enumerate(COLUMNS)}
    out = []
    for r in rows:
        if r[col["when"]] != "trained":
            continue
        init = next(
            x for x in rows if x[col["model"]] == r[col["model"]] and x[col["when"]] == "init"
        )
        text = (
            f"{r[col['model']]}: test MSE {r[col['test MSE']]:.4f} (constant predictor "
            f"{r[col['constant-predictor MSE']]:.4f}); exact linear regions on [-1,1]^2 "
            f"{init[col['linear (exact)']]} at init, {r[col['linear (exact)']]} trained"
        )
        if r[col["construction linear (exact)"]]:
            text += (
                f" = {r[col['linear / construction']]:.2f}x the same-shape construction's "
                f"{r[col['construction linear (exact)']]} on the same square"
            )
        text += (
            f", {r[col['linear / upper bound']]:.2%} of the upper bound "
            f"{r[col['upper bound R^2']]} over R^2."
        )
        out.append(text)
    return out


if __name__ == "__main__":
    raise SystemExit(study_main(run, "trained_vs_constructed", __doc__))
