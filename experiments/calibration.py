"""Study 4: which estimate of a region count can a researcher trust?

A suite of networks whose number of activation regions in a box is known exactly (2 inputs:
the exact plane engine; 3 inputs: a brute-force search with one LP per partial pattern,
``_bruteforce.py``, or Zaslavsky's closed form for one generic hidden layer) is sampled with m
uniform points for several m and seeds; every estimator runs on the same draws
(``tern_jax.estimators.compare_estimators``): the sampled distinct count, Chao1 with its
log-normal interval, Hansen-Hurwitz (mean of 1/p), Horvitz-Thompson over the sampled regions,
and the volume estimator (Horvitz-Thompson over the sampled regions and their neighbours).
Reported: the share of runs whose interval holds the exact count (nominal 95%), bias and
relative error, per m and per network.
"""

from __future__ import annotations

import itertools
import os
from math import comb

import numpy as np
from _bruteforce import count_box_regions
from _common import plt, save, study_main

from tern_jax.estimators.horvitz import log_normal_interval

SETTINGS = {  # mc: (m, seeds) of the Monte-Carlo route on the 3-input nets
    "smoke": {"ms": [300], "seeds": 2, "suite": "smoke", "mc": ([], 0)},  # seconds: tests
    "quick": {"ms": [300, 1000], "seeds": 3, "suite": "all", "mc": ([300], 1)},  # minutes
    "full": {"ms": [100, 300, 1000, 3000], "seeds": 10, "suite": "all", "mc": ([300, 1000], 5)},
}
METHODS = ("volume", "horvitz-thompson", "hansen-hurwitz", "chao1")
LINEAR = ("volume", "chao1")  # estimators of linear regions in the linear-regions table
LABELS = {
    "distinct": "sampled distinct",
    "volume-lognormal": "volume, log-normal interval",
    "chao1": "Chao1",
    "hansen-hurwitz": "Hansen-Hurwitz",
    "horvitz-thompson": "Horvitz-Thompson",
    "volume": "volume (HT + neighbours)",
}
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
LEVEL = 0.95


def _random(tj, n0, widths, seeds, lo, hi, architecture="all_relu", weights="ternary"):
    """Random networks (label, family, net, lo, hi), one per seed."""
    kind = "ternary " + architecture.replace("_", "-") if weights == "ternary" else "Gaussian"
    family = "random ternary" if weights == "ternary" else "Gaussian"
    shape = f"{widths[0]}x{len(widths)}"
    prefix = "3D " if n0 == 3 else ""
    return [
        (f"{prefix}{kind} {shape} s{s}", family,
         tj.random_network(n0, widths, architecture=architecture, weights=weights, seed=s), lo, hi)
        for s in seeds
    ]  # fmt: skip


def _nets_2d(tj, suite):
    """(label, family, net, lo, hi) with two inputs: truth from the exact plane engine."""
    c = tj.constructions
    out = [("3.2 ternary alternating, p=[3,2]", "construction",
            c.ternary_alternating(2, [3, 2]).net, 0.0, 1.0)]  # fmt: skip
    if suite == "smoke":
        return out + _random(tj, 2, [8] * 4, [1], -2.0, 2.0, "alternating")
    out += [
        ("3.2 ternary alternating, p=[4,4]", "construction",
         c.ternary_alternating(2, [4, 4]).net, -0.5, 1.5),
        ("3.3 ternary all-ReLU generic, p=[3,3]", "construction",
         c.ternary_all_relu(2, [3, 3], form="generic").net, -0.25, 1.25),
        ("3.4 ternary real-bias, k=[3], m=2", "construction",
         c.ternary_real_bias(2, [3], 2).net, 0.0, 1.0),
        ("3.1 Montufar zigzag, widths [6,6]", "construction",
         c.montufar(2, [6, 6]).net, 0.0, 1.0),
    ]  # fmt: skip
    out += _random(tj, 2, [8] * 4, range(6), -2.0, 2.0, "alternating")
    out += _random(tj, 2, [8] * 3, range(6), -2.0, 2.0)
    out += _random(tj, 2, [10] * 3, range(6), -3.0, 3.0, weights="gaussian")
    out += _random(tj, 2, [12] * 4, range(4), -2.0, 2.0, "alternating")
    out += _random(tj, 2, [12] * 2, range(4), -2.0, 2.0)
    out += _random(tj, 2, [8] * 4, range(4), -4.0, 4.0, weights="gaussian")
    out += _random(tj, 2, [16] * 2, range(3), -3.0, 3.0, weights="gaussian")
    # Thousands of regions: m draws and their neighbours do not fill the box, so the
    # estimate is a genuine Horvitz-Thompson total, not a completed enumeration.
    out += _random(tj, 2, [32] * 3, range(2), -3.0, 3.0, weights="gaussian")
    out += _random(tj, 2, [24] * 4, range(2), -2.0, 2.0, "alternating")
    for task, seed, lo, hi in TRAINED:
        for suffix, kind in (("", "ternary"), ("_float", "float twin")):
            path = os.path.join(DATA, f"trained_{task}_s{seed}{suffix}.npz")
            if os.path.isfile(path):  # made by make_calibration_nets.py
                net = tj.load_network(path)
                out.append((f"trained {task} s{seed} ({kind})", "trained", net, lo, hi))
    return out


TRAINED = (("sines2d", 0, -1.0, 1.0), ("sines2d", 1, -1.0, 1.0), ("sawtooth2d", 0, 0.0, 1.0))


def _nets_3d(tj, suite):
    """(label, family, net, lo, hi, truth) with three inputs."""
    out = []
    widths = [5] if suite == "smoke" else [6, 8, 10]
    for n in widths:  # one generic hidden layer, box holding every vertex: Zaslavsky
        net = tj.random_network(3, [n], weights="gaussian", seed=n)
        truth = sum(comb(n, j) for j in range(4))
        out.append((f"3D Gaussian 1 layer, width {n}", "Gaussian", net, *_vertex_box(net), truth))
    if suite == "smoke":
        return out
    nets = _random(tj, 3, [6, 6], range(3), -2.0, 2.0)
    nets += _random(tj, 3, [6] * 4, range(2), -2.0, 2.0, "alternating")
    nets += _random(tj, 3, [6, 6], range(2), -3.0, 3.0, weights="gaussian")
    con = tj.constructions.ternary_alternating(3, [2]).net
    nets.append(("3D 3.2 ternary alternating, p=[2]", "construction", con, -0.25, 1.25))
    for label, fam, net, lo, hi in nets:
        out.append((label, fam, net, lo, hi, count_box_regions(net, lo, hi)[0]))
    return out


def _vertex_box(net):
    """A cube holding every vertex of a one-hidden-layer arrangement (so all its regions)."""
    w, b = net.weights[0], net.biases[0]
    n0, n = w.shape
    far = 1.0
    for idx in itertools.combinations(range(n), n0):
        far = max(far, float(np.abs(np.linalg.solve(w[:, idx].T, -b[list(idx)])).max()))
    return -np.ceil(far * 1.1), np.ceil(far * 1.1)


def _truth_2d(tj, net, lo, hi):
    """(exact activation regions, smallest region mass, exact linear regions) from the plane
    engine's cells."""
    e = tj.exact_regions_2d(net, [0, 0], [1, 0], [0, 1], bounds=(lo, hi, lo, hi), keep_cells=True)
    areas = [0.5 * abs(float(np.dot(p[:, 0], np.roll(p[:, 1], -1))
                             - np.dot(p[:, 1], np.roll(p[:, 0], -1))))
             for p in (np.asarray(c, float) for c in e.cells)]  # fmt: skip
    return e.activation_regions, min(areas) / (hi - lo) ** 2, e.linear_regions


def suite(setting: str):
    """(label, family, dim, net, lo, hi, exact count, smallest region mass or None, exact
    linear regions or None)."""
    import tern_jax as tj

    which = SETTINGS[setting]["suite"]
    out = []
    for label, fam, net, lo, hi in _nets_2d(tj, which):
        truth, pmin, linear = _truth_2d(tj, net, lo, hi)
        out.append((label, fam, 2, net, lo, hi, truth, pmin, linear))
    for label, fam, net, lo, hi, truth in _nets_3d(tj, which):
        out.append((label, fam, 3, net, lo, hi, truth, None, None))
    return out


def _runs(nets, cfg):
    """One record per (network, m, seed): the exact count and every estimate."""
    import tern_jax as tj
    from tern_jax.estimators import compare_estimators

    runs, linear = [], []
    for label, fam, dim, net, lo, hi, truth, pmin, lin in nets:
        for m in cfg["ms"]:
            for seed in range(cfg["seeds"]):
                if lin is not None:  # linear regions (2 inputs: the plane engine's count)
                    res = compare_estimators(net, tj.Box(lo, hi), m, seed, methods=LINEAR,
                                             kind="linear")  # fmt: skip
                    est = {k: (r.estimate, *r.interval) for k, r in res.items()}
                    est["distinct"] = (float(res["volume"].distinct), None, None)
                    linear.append({"net": label, "exact": lin, "m": m, "seed": seed,
                                   "est": est, "pmin": pmin})  # fmt: skip
                res = compare_estimators(net, tj.Box(lo, hi), m, seed, methods=METHODS)
                d = res["volume"].distinct
                assert d <= truth, f"{label}: {d} sampled patterns exceed the exact {truth}"
                est = {"distinct": (float(d), None, None)}
                for k, r in res.items():
                    est[k] = (r.estimate, *r.interval)
                vol = res["volume"]
                # The alternative interval considered: Chao's log-normal form on the part of
                # the estimate above the certain lower bound.
                est["volume-lognormal"] = (vol.estimate, *log_normal_interval(
                    vol.estimate, vol.std_error**2, vol.lower_bound, LEVEL))  # fmt: skip
                runs.append({"net": label, "family": fam, "dim": dim, "exact": truth,
                             "pmin": pmin, "m": m, "seed": seed, "est": est, "found": vol.found,
                             "complete": vol.interval_method.startswith("complete"),
                             "seconds": vol.seconds})  # fmt: skip
    return runs, linear


def _monte_carlo_rows(nets, cfg):
    """The high-dimensional route (LP facets, Monte-Carlo inclusion probabilities) forced on
    the 3-input nets, whose counts are known: one row per (network, m, seed)."""
    import tern_jax as tj
    from tern_jax.estimators import estimate_regions

    ms, seeds = cfg["mc"]
    rows = []
    for label, _, dim, net, lo, hi, truth, _, _ in nets:
        if dim != 3:
            continue
        for m in ms:
            for seed in range(seeds):
                r = estimate_regions(net, tj.Box(lo, hi), m, seed, volumes="monte-carlo")
                rows.append([label, truth, m, seed, r.estimate, *r.interval,
                             r.interval[0] <= truth <= r.interval[1], r.estimate / truth - 1,
                             r.found, r.costs["linear_programs"], r.costs["monte_carlo_draws"],
                             r.seconds])  # fmt: skip
    return rows


def _stats(runs, method):
    """(coverage or None, mean relative bias, mean |relative error|, runs)."""
    rel = np.array([(r["est"][method][0] - r["exact"]) / r["exact"] for r in runs])
    if method == "distinct":
        cover = None
    else:
        cover = float(np.mean([r["est"][method][1] <= r["exact"] <= r["est"][method][2]
                               for r in runs]))  # fmt: skip
    return cover, float(rel.mean()), float(np.abs(rel).mean()), len(runs)


def run(setting: str, out_dir: str):
    from tern_jax.report import StudyResult, Table

    cfg = SETTINGS[setting]
    nets = suite(setting)
    runs, linear = _runs(nets, cfg)
    methods = ("distinct", *METHODS, "volume-lognormal")
    summary_rows = []
    for m in cfg["ms"]:
        at_m = [r for r in runs if r["m"] == m]
        hard = [r for r in at_m if r["pmin"] is not None and r["pmin"] < 0.1 / m]
        open_runs = [r for r in at_m if not r["complete"]]
        for method in methods:
            cover, bias, err, n = _stats(at_m, method)
            hard_cover = _stats(hard, method)[0] if hard else None
            open_cover = _stats(open_runs, method)[0] if open_runs else None
            summary_rows.append([LABELS[method], m, LEVEL, n, cover, bias, err, hard_cover,
                                 len(hard), open_cover, len(open_runs)])  # fmt: skip
    per_net = []
    for label, fam, dim, _, _, _, truth, pmin, _ in nets:
        for m in cfg["ms"]:
            rs = [r for r in runs if r["net"] == label and r["m"] == m]
            row = [label, fam, dim, truth, pmin, m, float(np.mean([r["est"]["distinct"][0]
                                                                  for r in rs]))]  # fmt: skip
            for method in METHODS:
                cover, bias, err, _ = _stats(rs, method)
                row += [float(np.mean([r["est"][method][0] for r in rs])), cover, err]
            per_net.append(row)
    figs = [_figure(runs, cfg, out_dir)]
    findings = _findings(runs, cfg, len(nets)) + _linear_findings(linear, cfg)
    linear_rows = []
    for m in cfg["ms"]:
        at_m = [r for r in linear if r["m"] == m]
        for method in ("distinct", *LINEAR):
            cover, bias, err, n = _stats(at_m, method)
            linear_rows.append([LABELS[method], m, n, cover, bias, err])
    summary = Table(
        "calibration_summary",
        f"Per estimator and sample size m: share of runs whose {LEVEL:.0%} interval holds the "
        "exact number of activation regions in the box (coverage), mean relative bias and "
        "mean |relative error| of the estimate, over all networks and seeds; then coverage "
        "restricted to networks whose smallest region has mass below 0.1/m (2-input nets, "
        "where region masses are known), and restricted to the runs where the regions the "
        "volume estimator found did not fill the box (elsewhere its count is exact).",
        ["estimator", "m", "nominal level", "runs", "coverage", "bias", "|rel. error|",
         "coverage, tiny regions", "runs, tiny regions", "coverage, not filled",
         "runs, not filled"],
        summary_rows,
    )  # fmt: skip
    cols = ["network", "family", "inputs", "exact", "smallest mass", "m", "sampled distinct"]
    for method in METHODS:
        name = LABELS[method].split(" (")[0]
        cols += [f"{name}", f"{name} coverage", f"{name} |rel. err.|"]
    table = Table(
        "calibration",
        "Activation regions in a box per network: exact (plane engine, brute-force LP or "
        "closed form), sampled (mean distinct patterns over seeds) and estimated (mean "
        "estimate, share of seeds whose interval holds the exact count, mean |relative "
        "error|), for each estimator on the same draws.",
        cols,
        per_net,
    )
    mc_rows = _monte_carlo_rows(nets, cfg)
    if mc_rows:
        held = np.mean([r[7] for r in mc_rows])
        err = np.mean([abs(r[8]) for r in mc_rows])
        findings.append(
            f"The high-dimensional route (no volumes: facets by LPs, inclusion probabilities "
            f"from a stream of further draws), forced on the 3-input nets: its {LEVEL:.0%} "
            f"interval held the exact count in {held:.0%} of {len(mc_rows)} runs (mean "
            f"|relative error| {err:.1%}); costs per run in the table."
        )
    mc_table = Table(
        "calibration_monte_carlo",
        "The volume estimator's high-dimensional route (volumes='monte-carlo') on the "
        "3-input networks: exact activation regions, estimate and interval, whether it "
        "holds the exact count, relative error, regions found (certain), linear programs, "
        "Monte-Carlo draws and seconds.",
        ["network", "exact", "m", "seed", "estimate", "CI low", "CI high", "holds exact",
         "rel. error", "found", "LPs", "draws", "seconds"],
        mc_rows,
    )  # fmt: skip
    linear_table = Table(
        "calibration_linear",
        "Linear regions (kind = linear: connected unions of neighbouring activation regions "
        "with one affine output map) of the 2-input networks in their boxes: exact (plane "
        "engine) vs sampled (distinct linear regions met by the draws) vs estimated (volume "
        "estimator and Chao1 over linear regions), per m over networks and seeds.",
        ["estimator", "m", "runs", "coverage", "bias", "|rel. error|"],
        linear_rows,
    )
    return StudyResult(
        name="calibration",
        title="Which estimate of a region count to trust",
        setting=f"{setting}: {len(nets)} networks, m in {cfg['ms']}, {cfg['seeds']} seeds, "
        f"{LEVEL:.0%} intervals",
        summary=SUMMARY,
        tables=[summary, linear_table, *([mc_table] if mc_rows else []), table],
        figures=figs,
        findings=findings,
    )


SUMMARY = (
    "Truth: the exact number of activation regions with positive volume in each box (2 "
    "inputs: exact plane engine; 3 inputs: brute-force search with one LP per partial "
    "pattern, or Zaslavsky's count for one generic hidden layer). Sampled: distinct "
    "patterns among m uniform draws (a certain lower bound). Estimated, on the same draws: "
    "Chao1 and its log-normal interval (abundance-based: it sees only the frequency table, "
    "so it is a lower-bound-type estimate); Hansen-Hurwitz, the mean of 1/p over the draws "
    "(p = exact mass of a draw's region, unbiased); Horvitz-Thompson over the distinct "
    "sampled regions with inclusion probability 1 - (1 - p)^m (unbiased); and the volume "
    "estimator, Horvitz-Thompson over the sampled regions and their neighbours across "
    "facets with inclusion probability 1 - (1 - a)^m, a the mass of a region and its "
    "neighbours (unbiased). The volume-based intervals are normal, with ends raised to the "
    "certain lower bound (regions found, plus one when part of the box is not covered by "
    "them); when the regions found fill the box, the count is exact. The alternative "
    "considered, Chao's log-normal form on the part of the estimate above the certain lower "
    "bound, is the row 'volume, log-normal interval' (same estimate, other interval)."
)


def _findings(runs, cfg, n_nets):
    out = []
    for m in cfg["ms"]:
        at_m = [r for r in runs if r["m"] == m]
        parts = []
        for method in ("volume", "horvitz-thompson", "hansen-hurwitz", "chao1"):
            cover, _, err, _ = _stats(at_m, method)
            parts.append(f"{LABELS[method]} {cover:.0%} (|rel. err.| {err:.1%})")
        d = _stats(at_m, "distinct")
        out.append(
            f"m = {m:,} ({len(at_m)} runs over {n_nets} networks): {LEVEL:.0%} intervals held "
            "the exact count in " + "; ".join(parts) + f" of runs; sampled distinct patterns "
            f"were {-d[1]:.1%} below the exact count on average."
        )
    worst = {}
    for r in runs:
        lo, hi = r["est"]["volume"][1:]
        worst.setdefault(r["net"], []).append(lo <= r["exact"] <= hi)
    missed = sorted((np.mean(v), k) for k, v in worst.items() if np.mean(v) < 1)
    if missed:
        out.append(
            "The volume interval missed the exact count in: "
            + "; ".join(f"{k} (held in {c:.0%} of runs)" for c, k in missed[:6])
            + ". Misses come from regions whose mass together with their neighbours' is far "
            "below 1/m (in the 3D one-layer nets, boxes of half-width up to thousands hold "
            "slivers of mass below 1e-12): no draw reaches them, so no sample-based method can "
            "count them."
        )
    for m in cfg["ms"]:
        at_m = [r for r in runs if r["m"] == m]
        rest = [r for r in at_m if not r["complete"]]
        filled = 1 - len(rest) / len(at_m)
        line = (
            f"m = {m:,}: in {filled:.0%} of the volume estimator's runs the regions it found "
            "(sampled regions, their neighbours and theirs) filled the box, so its count was "
            "exact"
        )
        if rest:
            cover, _, err, n = _stats(rest, "volume")
            line += (
                f"; over the other {n} runs its interval held the exact count in {cover:.0%} "
                f"(mean |relative error| {err:.1%})"
            )
        out.append(line + ".")
    vol = [_stats([r for r in runs if r["m"] == m], "volume") for m in cfg["ms"]]
    chao = [_stats([r for r in runs if r["m"] == m], "chao1")[0] for m in cfg["ms"]]
    out.append(
        f"Which to use: for a count with an interval, the volume estimator "
        f"(tj.estimate_regions, the default method): unbiased, its {LEVEL:.0%} interval held "
        f"the exact count in {_span([v[0] for v in vol])} of runs "
        f"from m = {cfg['ms'][0]:,} draws, with mean |relative error| "
        f"{max(v[2] for v in vol):.1%} or less, and it reports certain lower bounds beside "
        "it (regions found; when they fill the domain, the count is exact). The sampled "
        "distinct count is a certain lower bound, nothing more. Plain Horvitz-Thompson and "
        "Hansen-Hurwitz are unbiased too but see a small region only when a draw hits it, so "
        "their intervals under-cover. Chao1 is a lower-bound-type estimate: its interval "
        f"held the exact count in only {_span(chao)} of runs, so do not "
        "read it as a count of regions with a confidence interval."
    )
    return out


def _span(values) -> str:
    lo, hi = f"{min(values):.0%}", f"{max(values):.0%}"
    return lo if lo == hi else f"{lo}-{hi}"


def _linear_findings(linear, cfg):
    out = []
    for m in cfg["ms"]:
        at_m = [r for r in linear if r["m"] == m]
        if not at_m:
            continue
        vol, chao, d = (_stats(at_m, k) for k in ("volume", "chao1", "distinct"))
        out.append(
            f"Linear regions (2 inputs, m = {m:,}, {len(at_m)} runs): the volume estimator "
            f"over linear regions held the plane engine's exact count in {vol[0]:.0%} of runs "
            f"(mean |relative error| {vol[2]:.1%}); Chao1 over linear regions {chao[0]:.0%}; "
            f"distinct linear regions met by the draws were {-d[1]:.1%} below the count."
        )
    return out


def _figure(runs, cfg, out_dir):
    from tern_jax.report import Figure

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    ms = cfg["ms"]
    colors = dict(zip(("distinct", *METHODS), ("0.5", "C0", "C1", "C2", "C3")))
    for method in ("distinct", *METHODS):
        stats = [_stats([r for r in runs if r["m"] == m], method) for m in ms]
        style = {"color": colors[method], "label": LABELS[method]}
        if method != "distinct":
            ax1.plot(ms, [s[0] for s in stats], "o-", **style)
        ax2.plot(ms, [s[2] for s in stats], "o-", **style)
    ax1.axhline(LEVEL, color="k", lw=1, ls="--", label=f"nominal {LEVEL:.0%}")
    ax1.axhline(0.9, color="gray", lw=1, ls=":")
    ax1.set_ylim(0, 1.02)
    ax1.set_ylabel("share of runs whose interval holds the exact count")
    ax2.set_yscale("symlog", linthresh=1e-3)
    ax2.set_ylabel("mean |estimate / exact - 1|")
    for ax in (ax1, ax2):
        ax.set_xscale("log")
        ax.set_xlabel("samples m")
        ax.legend(fontsize=7)
    return Figure(
        save(fig, out_dir, "calibration.png"),
        "Left: coverage of the 95% intervals of each estimator against the exact number of "
        "activation regions (all networks and seeds) as the number of draws m grows. Right: "
        "mean |relative error| of the estimates (activation regions, estimated vs exact).",
    )


if __name__ == "__main__":
    raise SystemExit(study_main(run, "calibration", __doc__))
