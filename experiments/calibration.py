"""Study 4: how good are the sampled counts and the estimates?

For networks whose activation-region count on a square is known exactly (exact plane engine),
draw N uniform samples on the same square for growing N and several seeds, and compare the
sampled distinct count and the Chao1 estimate (with its interval) with the truth.
"""

from __future__ import annotations

import numpy as np
from _common import plt, save, study_main

import tern_jax as tj
from tern_jax.report import Figure, StudyResult, Table

SETTINGS = {
    "smoke": {"ns": [100, 3000], "seeds": 2},  # a seconds-long run for the test suite
    "quick": {"ns": [100, 1_000, 10_000, 100_000, 1_000_000], "seeds": 8},
    "full": {"ns": [10**k for k in range(2, 8)], "seeds": 20},
}


def networks():
    """(label, net, lo, hi): networks with n0 = 2 and a square domain."""
    out = [
        (
            "3.2 ternary alternating, p=[3,2], unit square",
            tj.constructions.ternary_alternating(2, [3, 2]).net,
            0.0,
            1.0,
        )
    ]
    n = 12  # one hidden layer, Gaussian weights
    out.append(
        (
            f"random 1-hidden-layer, width {n}, [-4,4]^2",
            tj.random_network(2, [n], weights="gaussian", seed=7),
            -4.0,
            4.0,
        )
    )
    out.append(
        (
            "random ternary alternating, widths 8,8,8,8, [-2,2]^2",
            tj.random_network(2, [8, 8, 8, 8], architecture="alternating", seed=7),
            -2.0,
            2.0,
        )
    )
    return out


def _num(x: float) -> str:
    """A number for the prose: 3 significant digits, never in exponent notation above 1."""
    return f"{x:,.0f}" if x >= 1000 else f"{x:.3g}"


def region_masses(exact) -> np.ndarray:
    """Mass of every activation region under the uniform law on the square: its area (the
    plane engine's cells are the activation regions) over the square's area."""
    areas = []
    for poly in exact.cells:
        x, y = np.asarray(poly, float).T
        areas.append(0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))))
    areas = np.asarray(areas)
    return areas / areas.sum()


def run(setting: str, out_dir: str):
    cfg = SETTINGS[setting]
    rows, mass_rows, figs, findings = [], [], [], []
    nets = networks()
    n_max = max(cfg["ns"])
    fig, axes = plt.subplots(1, len(nets), figsize=(5 * len(nets), 4), squeeze=False)
    for ax, (label, net, lo, hi) in zip(axes[0], nets):
        exact = tj.exact_regions_2d(
            net, [0.0, 0.0], [1.0, 0.0], [0.0, 1.0], bounds=(lo, hi, lo, hi), keep_cells=True
        )
        truth = exact.activation_regions
        masses = region_masses(exact)
        assert len(masses) == truth
        med_d, med_c, lo_c, hi_c = [], [], [], []
        for n in cfg["ns"]:
            res = [tj.count_regions(net, tj.Box(lo, hi), n, seed=s) for s in range(cfg["seeds"])]
            distinct = np.array([r.distinct for r in res], float)
            chao = np.array([r.chao1 if r.chao1 is not None else np.nan for r in res], float)
            ci = np.array([r.chao1_ci if r.chao1_ci else (np.nan, np.nan) for r in res], float)
            inside = np.mean((ci[:, 0] <= truth) & (truth <= ci[:, 1]))
            cover = np.mean([r.coverage for r in res])
            sat = int(sum(bool(r.saturated) for r in res))
            assert distinct.max() <= truth, "sampled distinct patterns exceeded the exact count"
            rows.append(
                [
                    label,
                    truth,
                    n,
                    float(np.mean(distinct)),
                    float(np.nanmean(chao)),
                    float(np.nanmean(ci[:, 0])),
                    float(np.nanmean(ci[:, 1])),
                    float(inside),
                    float(cover),
                    sat,
                ]
            )
            med_d.append(np.median(distinct) / truth)
            med_c.append(np.nanmedian(chao) / truth)
            lo_c.append(np.nanmedian(ci[:, 0]) / truth)
            hi_c.append(np.nanmedian(ci[:, 1]) / truth)
        # What sampling can miss: regions whose mass is about 1/N or below.
        final = rows[-1]
        mass_rows.append(
            [
                label,
                truth,
                float(masses.min()),
                n_max,
                float(masses.min() * n_max),
                int(np.sum(masses < 1.0 / n_max)),
                float(np.sum((1.0 - masses) ** n_max)),
                float(truth - final[3]),
            ]
        )
        ns = cfg["ns"]
        ax.fill_between(ns, lo_c, hi_c, alpha=0.25, label="Chao1 interval (median ends)")
        ax.plot(ns, med_c, "o-", label="Chao1 / exact")
        ax.plot(ns, med_d, "s-", label="sampled distinct / exact")
        ax.axhline(1.0, color="k", lw=1)
        ax.set_xscale("log")
        ax.set_xlabel("samples N")
        ax.set_ylabel("estimate / exact activation regions")
        ax.set_title(f"{label}\nexact: {truth} activation regions", fontsize=9)
        ax.legend(fontsize=7)
    for r, m in zip([r for r in rows if r[2] == n_max], mass_rows):
        findings.append(
            f"{r[0]}: exact {r[1]} activation regions; at N = {r[2]:,} sampling saw "
            f"{r[3]:.1f} on average (Chao1 {r[4]:.1f}; the interval held the exact count for "
            f"{r[7]:.0%} of seeds). Smallest region mass {m[2]:.3g} = {_num(m[4])}/N; "
            f"{m[5]} regions below 1/N; expected misses sum (1 - mass)^N = {m[6]:.2f}, "
            f"observed {m[7]:.2f} on average."
        )
    inside_all = float(np.mean([r[7] for r in rows]))
    summary_rows = [["share of runs whose Chao1 interval held the exact count", inside_all]]
    findings.append(
        f"Over all rows the Chao1 interval held the exact count in {inside_all:.0%} of runs. "
        "Where sampling misses regions, their masses are near or below 1/N (see the masses "
        "table): coverage is then already close to 1, because it measures the mass seen, not "
        "the number of regions. Sampled counts are lower bounds on the activation regions of "
        "the square; Chao1 is a lower-bound-type estimate, not a bound, and its interval is "
        "not a guarantee."
    )
    figs.append(
        Figure(
            save(fig, out_dir, "calibration.png"),
            "Sampled distinct counts and Chao1 "
            "estimates relative to the exact activation-region count on the same square, "
            "as the number of uniform samples grows (median over seeds).",
        )
    )
    table = Table(
        "calibration",
        "Activation regions on a square: exact (plane engine) vs sampled (mean distinct patterns "
        "over seeds) vs estimated (Chao1, mean interval), with the share of seeds whose interval "
        "holds the truth, mean Good-Turing coverage and the number of saturated runs.",
        [
            "network",
            "exact",
            "N",
            "sampled distinct",
            "Chao1",
            "CI low",
            "CI high",
            "truth in CI",
            "coverage",
            "saturated runs",
        ],
        rows,
    )
    masses_table = Table(
        "masses",
        "Masses of the activation regions under the uniform law on the square (exact areas "
        "from the plane engine), against the largest N: regions that sampling can miss.",
        [
            "network",
            "exact activation regions",
            "smallest mass",
            "N",
            "smallest mass x N",
            "regions with mass < 1/N",
            "expected misses at N",
            "observed misses at N (mean)",
        ],
        mass_rows,
    )
    return StudyResult(
        name="calibration",
        title="How good are the estimates?",
        setting=f"{setting}: N in {cfg['ns']}, {cfg['seeds']} seeds",
        summary=(
            "Truth: the exact number of activation regions of each network on a square, from "
            "the exact plane engine. Sampled: distinct activation patterns among N uniform "
            "samples on the same square (a lower bound: only regions hit are seen). "
            "Estimated: bias-corrected Chao1 and its log-normal interval from the sample's "
            "frequency-of-frequencies. Region masses differ by orders of magnitude, so Chao1 "
            "is itself a lower-bound-type estimate until the small regions start to be hit twice."
        ),
        tables=[
            table,
            masses_table,
            Table(
                "summary",
                "Over all rows of the calibration table.",
                ["quantity", "value"],
                summary_rows,
            ),
        ],
        figures=figs,
        findings=findings,
    )


if __name__ == "__main__":
    raise SystemExit(study_main(run, "calibration", __doc__))
