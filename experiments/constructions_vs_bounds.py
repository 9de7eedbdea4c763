"""Study 1: the ternary constructions beside the general-network bounds.

For general ReLU architectures (n0, widths [n]*L), the claim of arXiv 2507.16079 points to
ternary architectures: double the width and double the depth, or double then square the width
(alternating identity/ReLU; and the all-ReLU form after one more doubling). We build our
constructions following those claims (math.md 3.2-3.4), count their linear and activation
regions on the unit cube exactly (line engine for n0 = 1, plane engine for n0 = 2, n-D engine
for n0 = 3 and 4) and put them beside the general network's bounds (Montufar 2014, Serra 2018).
"""

from __future__ import annotations

from _common import plt, save, study_main

import tern_jax as tj
from tern_jax.report import Figure, StudyResult, Table

# General widths n are multiples of n0 with p = n // n0 >= 2: at n = n0 (p = 1) the zigzag has
# one piece, every construction is a single region on the cube, and the panel says nothing.
SETTINGS = {
    "smoke": {"grid": {1: ([2], [1, 2]), 2: ([4], [1]), 3: ([6], [1]), 4: ([8], [1])}},
    "quick": {
        "grid": {
            1: ([2, 4, 8], [1, 2, 3, 4]),
            2: ([4, 8], [1, 2, 3]),
            3: ([6, 9], [1, 2]),
            4: ([8], [1, 2]),
        },
    },
    "full": {
        "grid": {
            1: ([2, 4, 8, 16], [1, 2, 3, 4, 5]),
            2: ([4, 8, 16], [1, 2, 3]),
            3: ([6, 9], [1, 2, 3]),
            4: ([8, 12], [1, 2]),
        },
    },
}
MARKERS = {
    "double width + double depth (alternating)": "o",
    "double width + double depth (all-ReLU)": "x",
    "double width + square width (alternating)": "s",
    "ternary weights, real biases": "^",
}
COLUMNS = [
    "n0",
    "general widths",
    "general depth L",
    "Montufar 2014",
    "Serra 2018 lower",
    "ternary architecture",
    "depth",
    "widths",
    "memory bits",
    "closed-form linear",
    "closed-form activation",
    "measured linear",
    "measured activation",
    "method",
    "closed-form linear / Montufar 2014",
]
C = {name: i for i, name in enumerate(COLUMNS)}


def matching_constructions(n0: int, widths: list[int]):
    """(label, construction) for each ternary architecture matching the general one."""
    ps = [w // n0 for w in widths]
    paired = [ps[i] * ps[i + 1] for i in range(0, len(ps) - 1, 2)] + (
        [ps[-1]] if len(ps) % 2 else []
    )
    K = tj.constructions
    return [
        ("double width + double depth (alternating)", K.ternary_alternating(n0, ps)),
        ("double width + double depth (all-ReLU)", K.ternary_all_relu(n0, ps, form="generic")),
        ("double width + square width (alternating)", K.ternary_alternating(n0, paired)),
        ("ternary weights, real biases", K.ternary_real_bias(n0, ps[:-1], ps[-1])),
    ]


def measure(net):
    """(activation regions, linear regions, method) on the unit cube, exact."""
    # engine="auto": line engine for n0 = 1, plane engine for 2, n-D engine for 3 and more
    ex = tj.exact_regions(net, tj.Box(0.0, 1.0))
    names = {"line": "line engine", "plane": "plane engine", "nd": "n-D engine"}
    return ex.activation_regions, ex.linear_regions, f"exact ({names[ex.engine]})"


def measure_grid(cfg) -> list[list]:
    """One table row per (general architecture, matching ternary construction)."""
    rows = []
    for n0, (ns, ls) in cfg["grid"].items():
        for n in ns:
            for L in ls:
                widths = [n] * L
                cmp = tj.bounds.matching_architectures(n0, widths)
                mont = cmp.bounds["montufar2014"]
                for label, c in matching_constructions(n0, widths):
                    act, lin, how = measure(c.net)
                    arch = next(r for r in cmp.rows if r.name == label)
                    rows.append(
                        [
                            n0,
                            ",".join(map(str, widths)),
                            L,
                            mont,
                            cmp.bounds["serra2018_lower"],
                            label,
                            len(c.net.widths),
                            ",".join(map(str, c.net.widths)),
                            arch.memory_bits,
                            c.regions_unit_cube,
                            c.activation_regions_unit_cube,
                            lin,
                            act,
                            how,
                            c.regions_unit_cube / mont,
                        ]
                    )
    return rows


def agrees(row) -> bool:
    """The exact counts equal the closed forms, both kinds."""
    lin_ok = row[C["measured linear"]] == row[C["closed-form linear"]]
    return lin_ok and row[C["measured activation"]] == row[C["closed-form activation"]]


def plot_claims(cfg, rows, out_dir: str) -> str:
    """claims.png: per n0, the general bounds (lines) and the measured constructions."""
    fig, axes = plt.subplots(1, len(cfg["grid"]), figsize=(16, 5.2), squeeze=False)
    for ax, (n0, (ns, ls)) in zip(axes[0], cfg["grid"].items()):
        for ci, n in enumerate(ns):
            sel = [
                r
                for r in rows
                if r[C["n0"]] == n0 and r[C["general widths"]].split(",")[0] == str(n)
            ]
            gen = {r[C["general depth L"]]: r for r in sel}
            color = f"C{ci}"
            ax.plot(
                ls,
                [gen[L][C["Montufar 2014"]] for L in ls],
                "-",
                color=color,
                label=f"general width {n}",
            )
            serra = [gen[L][C["Serra 2018 lower"]] for L in ls]
            if all(v is not None for v in serra):
                ax.plot(ls, serra, ":", color=color)
            for r in sel:
                label = r[C["ternary architecture"]]
                off = 0.06 * (list(MARKERS).index(label) - 1.5)
                y = r[C["measured linear"]]
                ax.scatter(
                    [r[C["general depth L"]] + off],
                    [y],
                    marker=MARKERS[label],
                    color=color,
                    s=30,
                    zorder=3,
                )
        ax.set_yscale("log")
        ax.set_xticks(ls)
        ax.set_xlabel("depth L of the general network (the ternary ones: their own depths)")
        ax.set_ylabel("linear regions (log scale)")
        what = f"markers: exact linear regions on (0,1)^{n0}"
        ax.set_title(f"n0 = {n0}. lines: general-network bounds over R^{n0}\n{what}", fontsize=9)
        ax.legend(fontsize=7, title="colour", title_fontsize=7, loc="upper left")
    grey = "0.35"
    key = [plt.Line2D([], [], marker=m, ls="", color=grey, label=l) for l, m in MARKERS.items()]
    key += [
        plt.Line2D([], [], ls="-", color=grey, label="Montufar 2014 lower bound (general)"),
        plt.Line2D([], [], ls=":", color=grey, label="Serra 2018 lower bound (general; n >= 3 n0)"),
    ]
    fig.legend(handles=key, loc="lower center", ncol=3, fontsize=8, frameon=False)
    return save(fig, out_dir, "claims.png", rect=(0, 0.11, 1, 1))


def plot_memory(cfg, rows, out_dir: str) -> str:
    """memory.png: regions against memory; colour = n0, marker = architecture."""
    fig, ax = plt.subplots(figsize=(7, 5))
    for r in rows:
        n0 = r[C["n0"]]
        y = r[C["measured linear"]]
        label = r[C["ternary architecture"]]
        ax.scatter([r[C["memory bits"]]], [y], marker=MARKERS[label], color=f"C{n0 - 1}", s=25)
    for n0, (ns, ls) in cfg["grid"].items():
        for n in ns:
            for L in ls:
                row = tj.bounds.matching_architectures(n0, [n] * L).rows[0]  # the general one
                ax.scatter([row.memory_bits], [row.regions], marker="*", color=f"C{n0 - 1}", s=70)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("memory in bits (2 per ternary, 32 per real parameter)")
    ax.set_ylabel("linear regions (log scale)")
    ax.set_title(
        "linear regions against memory. ternary constructions: exact on the unit cube;\n"
        "stars: general networks at Montufar's bound over R^n0",
        fontsize=8,
    )
    grey = "0.35"
    key = [plt.Line2D([], [], marker=m, ls="", color=grey, label=l) for l, m in MARKERS.items()]
    key.append(plt.Line2D([], [], marker="*", ls="", ms=10, color=grey, label="general network"))
    key += [
        plt.Line2D([], [], marker="o", ls="", color=f"C{n0 - 1}", label=f"colour: n0 = {n0}")
        for n0 in cfg["grid"]
    ]
    ax.legend(handles=key, fontsize=7)
    return save(fig, out_dir, "memory.png")


def findings_from(rows, cfg) -> tuple[list[str], list[list]]:
    """The findings, every number taken from the claims table or the checks table beside it."""
    n_ok = sum(agrees(r) for r in rows)
    checks = [["table rows", len(rows)], ["rows whose measured counts equal the closed form", n_ok]]
    findings = [
        f"{n_ok} of {len(rows)} rows: the exact counts (linear and activation regions; line, "
        "plane and n-D engines) equal the closed forms."
    ]
    gaps = [r for r in rows if r[C["measured linear"]] != r[C["measured activation"]]]
    checks.append(["rows where linear and activation counts differ", len(gaps)])
    if gaps:
        shown = "; ".join(
            f"n0 = {r[C['n0']]}, {r[C['ternary architecture']]}, widths {r[C['widths']]}: "
            f"{r[C['measured linear']]} linear vs {r[C['measured activation']]} activation"
            for r in gaps[:4]
        )
        findings.append(
            f"In {len(gaps)} rows linear and activation regions differ; both numbers are exact "
            "and both are right: they count different things (neighbouring activation regions "
            f"with the same affine map form one linear region). {shown}."
        )
    for n0, (ns, _) in cfg["grid"].items():
        for n in ns:
            sel = [
                r
                for r in rows
                if r[C["n0"]] == n0
                and r[C["general widths"]].split(",")[0] == str(n)
                and r[C["ternary architecture"]] == "double width + double depth (alternating)"
            ]
            ratios = [r[C["closed-form linear / Montufar 2014"]] for r in sel]
            depths = [r[C["general depth L"]] for r in sel]
            lo, hi = f"{min(ratios):.3g}", f"{max(ratios):.3g}"
            factor = f"{lo} times" if lo == hi else f"from {lo} to {hi} times"
            if min(depths) == max(depths):
                where, trend = f"at depth L = {depths[0]}", "p^n0 / sum_j C(n, j), p = n // n0."
            else:
                where = f"at every depth L = {min(depths)} to {max(depths)}"
                trend = (
                    "a factor p^n0 / sum_j C(n, j), p = n // n0, that does not shrink with depth."
                )
            findings.append(
                f"n0 = {n0}, general width {n}: the doubled-width, doubled-depth ternary "
                f"construction has {factor} Montufar's lower bound {where} (its exact linear "
                f"regions on the unit cube against a bound over R^n0): {trend}"
            )
    real = [r for r in rows if r[C["ternary architecture"]] == "ternary weights, real biases"]
    below = [r for r in real if r[C["closed-form linear"]] < r[C["Montufar 2014"]]]
    checks += [
        ["real-bias architectures", len(real)],
        ["of them at or above Montufar 2014", len(real) - len(below)],
    ]
    text = (
        f"Ternary weights with real biases (math.md 3.4): at or above Montufar's bound in "
        f"{len(real) - len(below)} of {len(real)} architectures"
    )
    if below:
        text += "; below it in " + "; ".join(
            f"n0 = {r[C['n0']]}, widths {r[C['general widths']]}: "
            f"{r[C['closed-form linear']]} vs {r[C['Montufar 2014']]}"
            for r in below
        )
        if all(r[C["general depth L"]] == 1 for r in below):
            text += " (one hidden layer: no fold, (p + 1)^n0 pieces against sum_j C(n, j))"
        text += "."
    else:
        text += "."
    findings.append(text)
    return findings, checks


def run(setting: str, out_dir: str):
    cfg = SETTINGS[setting]
    rows = measure_grid(cfg)
    findings, checks = findings_from(rows, cfg)
    figs = [
        Figure(
            plot_claims(cfg, rows, out_dir),
            "Lines: lower bounds on the maximal number of linear regions over R^n0 of general "
            "(real-weight) networks of width n (colour) and depth L (solid: Montufar 2014; "
            "dotted: Serra 2018, where its hypothesis n >= 3 n0 holds). Markers: the ternary "
            "constructions the claim matches to that general network: their exact linear "
            "regions on the unit cube (same colour = same n; shapes in the key below the "
            "panels).",
        ),
        Figure(
            plot_memory(cfg, rows, out_dir),
            "Regions against memory (2 bits per ternary parameter, 32 per real one). Colour: "
            "input dimension n0; marker: architecture (stars: the general networks, placed at "
            "Montufar's lower bound; the others: the ternary constructions, measured on the "
            "unit cube, exact linear regions).",
        ),
    ]
    return StudyResult(
        name="constructions_vs_bounds",
        title="Constructions vs bounds: double the width, then square it or double the depth",
        setting=f"{setting}: n0 -> (widths n, depths L) {cfg['grid']}",
        summary=(
            "Each general architecture (n0, width n repeated L times) is listed with its bounds "
            "on the maximal number of linear regions over R^n0 (Montufar 2014 and Serra 2018 "
            "lower bounds, exact integers; empty where Serra's hypothesis n >= 3 n0 fails). "
            "Beside it, our ternary constructions following the paper's claims: 'closed-form' "
            "columns are their exact linear and activation counts on the open unit cube "
            "(math.md section 4); 'measured' columns are exact partitions by the engine named "
            "(line for n0 = 1, plane for n0 = 2, n-D for n0 = 3 and 4), both kinds. Widths "
            "start at n = 2 n0: at n = n0 every construction is one region.\n\n"
            "The comparison is of orders of magnitude: a construction's count is exact for that "
            "network on the unit cube, a bound is about the best general network over R^n0."
        ),
        tables=[
            Table(
                "claims",
                "General bounds (over R^n0) and ternary constructions (unit cube; closed form "
                "and measured).",
                COLUMNS,
                rows,
            ),
            Table(
                "checks",
                "Counted over the rows of the claims table.",
                ["quantity", "value"],
                checks,
            ),
        ],
        figures=figs,
        findings=findings,
    )


if __name__ == "__main__":
    raise SystemExit(study_main(run, "constructions_vs_bounds", __doc__))
