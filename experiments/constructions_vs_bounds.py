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

SETTINGS = {
    "smoke": {"grid": {1: ([2], [1, 2]), 2: ([4], [1]), 3: ([3], [1]), 4: ([4], [1])}},
    "quick": {
        "grid": {
            1: ([2, 4, 8], [1, 2, 3, 4]),
            2: ([4, 8], [1, 2, 3]),
            3: ([3, 6], [1, 2]),
            4: ([4, 8], [1, 2]),
        },
    },
    "full": {
        "grid": {
            1: ([2, 4, 8, 16], [1, 2, 3, 4, 5]),
            2: ([4, 8, 16], [1, 2, 3]),
            3: ([3, 6, 9], [1, 2, 3]),
            4: ([4, 8], [1, 2, 3]),
        },
    },
}


def matching_constructions(n0: int, widths: list[int]):
    """(label, construction) for each ternary architecture matching the general one."""
    import tern_jax as tj

    ps = [w // n0 for w in widths]
    paired = [ps[i] * ps[i + 1] for i in range(0, len(ps) - 1, 2)] + (
        [ps[-1]] if len(ps) % 2 else []
    )
    C = tj.constructions
    out = [
        ("double width + double depth (alternating)", C.ternary_alternating(n0, ps)),
        ("double width + double depth (all-ReLU)", C.ternary_all_relu(n0, ps, form="generic")),
        ("double width + square width (alternating)", C.ternary_alternating(n0, paired)),
        ("ternary weights, real biases", C.ternary_real_bias(n0, ps[:-1], ps[-1])),
    ]
    return out


def measure(net, n0: int):
    """(activation regions, linear regions, method) on the unit cube, exact."""
    import tern_jax as tj

    # engine="auto": line engine for n0 = 1, plane engine for 2, n-D engine for 3 and more
    ex = tj.exact_regions(net, tj.Box(0.0, 1.0))
    names = {"line": "line engine", "plane": "plane engine", "nd": "n-D engine"}
    return ex.activation_regions, ex.linear_regions, f"exact ({names[ex.engine]})"


def run(setting: str, out_dir: str):
    import tern_jax as tj
    from tern_jax.report import Figure, StudyResult, Table

    cfg = SETTINGS[setting]
    rows, findings = [], []
    mismatches = 0
    fig, axes = plt.subplots(1, len(cfg["grid"]), figsize=(5.3 * len(cfg["grid"]), 4.5))
    fig2, ax_mem = plt.subplots(figsize=(6.5, 4.5))
    markers = {
        "double width + double depth (alternating)": "o",
        "double width + double depth (all-ReLU)": "x",
        "double width + square width (alternating)": "s",
        "ternary weights, real biases": "^",
    }
    for ax, (n0, (ns, ls)) in zip(axes, cfg["grid"].items()):
        for n in ns:
            depths, mont, serra = [], [], []
            for L in ls:
                widths = [n] * L
                cmp = tj.bounds.matching_architectures(n0, widths)
                b = cmp.bounds
                depths.append(L)
                mont.append(b["montufar2014"])
                serra.append(b["serra2018_lower"])
                for label, c in matching_constructions(n0, widths):
                    act, lin, how = measure(c.net, n0)
                    claimed = c.regions_unit_cube
                    ok = lin == claimed and act == c.activation_regions_unit_cube
                    mismatches += not ok
                    row = next(r for r in cmp.rows if r.name == label)
                    rows.append(
                        [
                            n0,
                            ",".join(map(str, widths)),
                            b["montufar2014"],
                            b["serra2018_lower"],
                            label,
                            len(c.net.widths),
                            ",".join(map(str, c.net.widths)),
                            row.memory_bits,
                            claimed,
                            lin,
                            act,
                            how,
                        ]
                    )
                    off = 0.06 * (list(markers).index(label) - 1.5)
                    ax.scatter(
                        [L + off],
                        [lin],
                        marker=markers[label],
                        color=f"C{ns.index(n)}",
                        s=30,
                        zorder=3,
                    )
                    ax_mem.scatter(
                        [row.memory_bits],
                        [lin],
                        marker=markers[label],
                        color=f"C{n0 - 1}",
                        s=25,
                    )
                gen = next(r for r in cmp.rows if r.name.startswith("general"))
                ax_mem.scatter(
                    [gen.memory_bits], [b["montufar2014"]], marker="*", color=f"C{n0 - 1}", s=60
                )
            ax.semilogy(
                depths,
                mont,
                "-",
                color=f"C{ns.index(n)}",
                label=f"Montufar 2014, general width {n}",
            )
            if all(v is not None for v in serra):
                ax.semilogy(
                    depths,
                    serra,
                    ":",
                    color=f"C{ns.index(n)}",
                    label=f"Serra 2018 lower, width {n}",
                )
        ax.set_title(
            f"n0 = {n0}: lines = general bounds, markers = matching ternary (measured)", fontsize=9
        )
        ax.set_xlabel("depth L of the general network (ternary ones have their own depths)")
        ax.set_xticks(ls)
        ax.set_ylabel("regions on the unit cube / bound on R^n0")
        ax.legend(fontsize=6)
    handles = [
        plt.Line2D([], [], marker=m, ls="", color="gray", label=l) for l, m in markers.items()
    ]
    handles.append(
        plt.Line2D(
            [], [], marker="*", ls="", color="gray", label="general network (Montufar 2014 bound)"
        )
    )
    axes[0].legend(handles=handles + axes[0].get_legend_handles_labels()[0], fontsize=6)
    ax_mem.set_xscale("log")
    ax_mem.set_yscale("log")
    ax_mem.set_xlabel("memory in bits (2 per ternary, 32 per float parameter)")
    ax_mem.set_ylabel("regions")
    ax_mem.set_title("regions per bit (colour = n0)", fontsize=9)
    ax_mem.legend(handles=handles, fontsize=6)
    figs = [
        Figure(
            save(fig, out_dir, "claims.png"),
            "Lines: lower bounds over R^n0 for general networks of "
            "width n (colour) and depth L. Markers: measured regions on the unit cube of the "
            "ternary constructions that the claim matches to that general network (doubled "
            "width and depth 2L, "
            "or doubled then squared width at depth about L), colour = the same n.",
        ),
        Figure(
            save(fig2, out_dir, "memory.png"),
            "Regions against memory: ternary constructions (2 bits a "
            "parameter) and the general networks (stars, 32 bits a parameter).",
        ),
    ]
    n_ok = len(rows) - mismatches
    findings.append(
        f"{n_ok} of {len(rows)} exact construction counts (linear and activation) equal the "
        "closed forms."
    )
    gaps = [r for r in rows if r[9] != r[10]]
    if gaps:
        shown = "; ".join(
            f"n0={r[0]}, {r[4]}, widths {r[6]}: {r[9]} linear vs {r[10]} activation"
            for r in gaps[:4]
        )
        findings.append(
            "Where linear and activation regions differ, both numbers are exact and both are "
            "right: they count different things (neighbouring activation regions with the "
            f"same affine map form one linear region). {shown}."
        )
    for n0, (ns, _) in cfg["grid"].items():
        for n in ns:
            sel = [
                r
                for r in rows
                if r[0] == n0
                and r[1].split(",")[0] == str(n)
                and r[4].startswith("double width + double depth (alt")
            ]
            ratios = [r[9] / r[2] for r in sel]
            depths = [len(r[1].split(",")) for r in sel]
            findings.append(
                f"n0={n0}, general width {n}: the doubled-width, doubled-depth ternary "
                f"construction's linear regions on the unit cube (exact) reach "
                f"{min(ratios):.3g}-{max(ratios):.3g} of Montufar's "
                f"lower bound over R^n0 for depths L = {min(depths)}..{max(depths)}: "
                "a constant factor "
                "p^n0 / sum_j C(n, j), p = n // n0, that does not shrink with depth."
            )
    return StudyResult(
        name="constructions_vs_bounds",
        title="Constructions vs bounds: double the width, then square it or double the depth",
        setting=f"{setting}: n0 -> (widths n, depths L) {cfg['grid']}",
        summary=(
            "Each general architecture (n0, widths n repeated L times) is listed with its bounds "
            "on the maximal number of linear regions over R^n0 (Montufar 2014 and Serra 2018 lower "
            "bounds, exact integers). Beside it, our ternary constructions following the paper's "
            "claims: 'claimed' is their exact linear-region count on the open unit cube (closed "
            "form); 'linear' and 'activation' are exact counts on the unit cube by the engine "
            "named (line engine for n0 = 1, plane engine for 2, n-D engine for 3 and 4)."
        ),
        tables=[
            Table(
                "claims",
                "General bounds (over R^n0) and ternary constructions (unit cube, measured).",
                [
                    "n0",
                    "general widths",
                    "Montufar 2014",
                    "Serra 2018 lower",
                    "ternary architecture",
                    "depth",
                    "widths",
                    "memory bits",
                    "claimed linear",
                    "linear",
                    "activation",
                    "method",
                ],
                rows,
            )
        ],
        figures=figs,
        findings=findings,
    )


if __name__ == "__main__":
    raise SystemExit(study_main(run, "constructions_vs_bounds", __doc__))
