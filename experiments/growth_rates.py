"""Study 2: polynomial in width, exponential in depth — measured.

Exact linear-region counts (1D line engine on the unit interval, plane engine on the unit
square) of the ternary alternating construction (math.md 3.2) for growing depth at fixed width
and growing width at fixed depth, and of random ternary alternating networks on a segment,
with least-squares fits of log(regions) against depth (exponential rate) and against
log(width) (polynomial degree).
"""

from __future__ import annotations

import numpy as np
from _common import plt, save, study_main

SETTINGS = {
    # "smoke": a seconds-long run for the test suite
    "smoke": {
        "depth_p": [2],
        "max_blocks": 3,
        "width_ps": [1, 2, 3],
        "width_blocks": [1],
        "n0_2_blocks": 1,
        "random_widths": [4, 8],
        "random_depths": [2],
        "random_seeds": 1,
    },
    "quick": {
        "depth_p": [2, 3],
        "max_blocks": 6,
        "width_ps": [1, 2, 3, 4, 6, 8],
        "width_blocks": [1, 2],
        "n0_2_blocks": 3,
        "random_widths": [4, 8, 16],
        "random_depths": [2, 4, 6],
        "random_seeds": 3,
    },
    "full": {
        "depth_p": [2, 3, 4],
        "max_blocks": 10,
        "width_ps": [1, 2, 3, 4, 6, 8, 12, 16, 24, 32],
        "width_blocks": [1, 2, 3],
        "n0_2_blocks": 4,
        "random_widths": [4, 8, 16, 32, 64],
        "random_depths": [2, 4, 6, 8, 12],
        "random_seeds": 10,
    },
}


def fit_line(x, y) -> tuple[float, float]:
    """Least-squares slope and intercept of y against x."""
    slope, intercept = np.polyfit(np.asarray(x, float), np.asarray(y, float), 1)
    return float(slope), float(intercept)


def run(setting: str, out_dir: str):
    import tern_jax as tj
    from tern_jax.report import Figure, StudyResult, Table

    cfg = SETTINGS[setting]
    rows, findings, figs = [], [], []

    # -- depth at fixed width (n0 = 1) --------------------------------------------------------
    fig, (ax_d, ax_w, ax_r) = plt.subplots(1, 3, figsize=(15, 4.2))
    for p in cfg["depth_p"]:
        ks = list(range(1, cfg["max_blocks"] + 1))
        counts = []
        for k in ks:
            c = tj.constructions.ternary_alternating(1, [p] * k)
            ex = tj.exact_regions_1d(c.net, 0.0, 1.0)
            assert ex.linear_regions == c.regions_unit_cube == p**k
            counts.append(ex.linear_regions)
            rows.append(
                ["3.2 n0=1", "depth", p, 2 * k, 2 * p, ex.activation_regions, ex.linear_regions]
            )
        slope, _ = fit_line([2 * k for k in ks], np.log(counts))
        findings.append(
            f"3.2, n0=1, p={p}: linear regions on (0,1) grow by a factor {np.exp(2 * slope):.3f} "
            f"per block of two layers (theory p = {p}); exponential in depth."
        )
        ax_d.semilogy(
            [2 * k for k in ks], counts, "o-", label=f"3.2 ternary, p={p} (width {2 * p})"
        )
        mont = [tj.bounds.montufar2014(1, [p] * (k + 1)) for k in ks]
        ax_d.semilogy(
            [2 * k for k in ks],
            mont,
            "--",
            alpha=0.6,
            label=f"Montufar 2014 bound, width {p}, depth K+1",
        )
    ax_d.set_xlabel("hidden layers (2 per block)")
    ax_d.set_ylabel("linear regions on (0,1) (exact)")
    ax_d.set_title("exponential in depth (n0 = 1)")
    ax_d.legend(fontsize=7)

    # -- width at fixed depth (n0 = 1) --------------------------------------------------------
    for k in cfg["width_blocks"]:
        widths, counts = [], []
        for p in cfg["width_ps"]:
            c = tj.constructions.ternary_alternating(1, [p] * k)
            ex = tj.exact_regions_1d(c.net, 0.0, 1.0)
            assert ex.linear_regions == p**k
            widths.append(2 * p)
            counts.append(ex.linear_regions)
            rows.append(
                ["3.2 n0=1", "width", p, 2 * k, 2 * p, ex.activation_regions, ex.linear_regions]
            )
        use = [i for i, p in enumerate(cfg["width_ps"]) if p >= 2]
        deg, _ = fit_line(np.log([widths[i] for i in use]), np.log([counts[i] for i in use]))
        findings.append(
            f"3.2, n0=1, {k} block(s): linear regions ~ width^{deg:.2f} (theory: degree {k} "
            "asymptotically); polynomial in width."
        )
        ax_w.loglog(widths, counts, "o-", label=f"3.2 ternary, {k} block(s)")
    ax_w.set_xlabel("identity-layer width 2p")
    ax_w.set_ylabel("linear regions on (0,1) (exact)")
    ax_w.set_title("polynomial in width (n0 = 1)")
    ax_w.legend(fontsize=7)

    # -- n0 = 2, plane engine -------------------------------------------------------------------
    for k in range(1, cfg["n0_2_blocks"] + 1):
        c = tj.constructions.ternary_alternating(2, [2] * k)
        ex = tj.exact_regions_2d(c.net, [0.0, 0.0], [1.0, 0.0], [0.0, 1.0], bounds=(0, 1, 0, 1))
        assert ex.linear_regions == c.regions_unit_cube == 4**k
        rows.append(["3.2 n0=2", "depth", 2, 2 * k, 8, ex.activation_regions, ex.linear_regions])
    findings.append(
        f"3.2, n0=2, p=2: 4^K linear regions on the unit square (exact, plane engine) for K = 1.."
        f"{cfg['n0_2_blocks']} blocks (p^(n0 K))."
    )

    # -- random ternary alternating networks on a segment --------------------------------------
    rng = np.random.default_rng(0)
    rrows = []
    for depth in cfg["random_depths"]:
        for width in cfg["random_widths"]:
            lin, act = [], []
            for _ in range(cfg["random_seeds"]):
                net = tj.random_network(
                    2, [width] * depth, architecture="alternating", seed=int(rng.integers(2**31))
                )
                ex = tj.exact_regions_1d(net, [-3.0, -2.0], [3.0, 2.0])
                lin.append(ex.linear_regions)
                act.append(ex.activation_regions)
            rrows.append([width, depth, float(np.mean(act)), float(np.mean(lin)), int(np.max(lin))])
    for depth in cfg["random_depths"]:
        sel = [r for r in rrows if r[1] == depth]
        ax_r.loglog([r[0] for r in sel], [r[3] for r in sel], "o-", label=f"{depth} hidden layers")
    ax_r.set_xlabel("width")
    ax_r.set_ylabel("mean linear regions on a segment (exact)")
    ax_r.set_title("random ternary alternating nets, n0 = 2")
    ax_r.legend(fontsize=7)
    widest = max(cfg["random_widths"])
    sel = [r for r in rrows if r[0] == widest]
    rate, _ = fit_line([r[1] for r in sel], np.log([max(r[3], 1) for r in sel]))
    findings.append(
        f"Random ternary alternating nets (width {widest}) on a segment of length 2*sqrt(13): "
        "mean linear regions (exact, line engine) change by a factor "
        f"{np.exp(rate):.2f} per hidden layer — "
        "far below the constructions' growth."
    )
    figs.append(
        Figure(
            save(fig, out_dir, "growth.png"),
            "Left: exact linear regions of the 3.2 "
            "construction on (0,1) against depth (log scale; dashed: Montufar's general-"
            "network bound). Middle: against width (log-log). Right: random ternary "
            "alternating networks on a segment.",
        )
    )
    return StudyResult(
        name="growth_rates",
        title="Polynomial in width, exponential in depth",
        setting=f"{setting}: {cfg}",
        summary=(
            "All counts here are exact (line and plane engines, rational arithmetic). The "
            "construction's count p^(n0 K) is exponential in the number of blocks K and, at "
            "fixed K, polynomial in the width 2p of degree n0*K; the fits below measure the "
            "rates. Random ternary networks of the same shapes are shown for contrast."
        ),
        tables=[
            Table(
                "constructions",
                "Ternary alternating construction (3.2): exact activation and "
                "linear regions on the unit interval / unit square.",
                [
                    "network",
                    "sweep",
                    "p",
                    "hidden layers",
                    "identity width",
                    "activation regions",
                    "linear regions",
                ],
                rows,
            ),
            Table(
                "random",
                "Random ternary alternating networks, n0=2, exact counts on the segment "
                "(-3,-2)->(3,2), over seeds.",
                [
                    "width",
                    "hidden layers",
                    "mean activation regions",
                    "mean linear regions",
                    "max linear regions",
                ],
                rrows,
            ),
        ],
        figures=figs,
        findings=findings,
    )


if __name__ == "__main__":
    raise SystemExit(study_main(run, "growth_rates", __doc__))
