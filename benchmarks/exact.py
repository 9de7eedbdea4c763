"""Throughput of the exact engines (not a test).

1D: pieces/s along [0, 1] for deep math.md 3.2 constructions (n0 = 1, p = 4 per block, so
4**K activation regions = linear regions), in exact and float64 arithmetic, and over all of R.
2D: cells/s on the box [-3, 3]^2 for random networks (n0 = 2, three ReLU layers of growing
width): Gaussian float weights (float64 mode, and exact mode on the same float64 network)
and random ternary weights and biases (exact mode).

    .venv/bin/python benchmarks/exact.py            # full table
    .venv/bin/python benchmarks/exact.py --quick    # small sizes only
    .venv/bin/python benchmarks/exact.py --json     # one JSON object per row

Every row reports the best of ``--repeat`` runs (the machine is shared; noise is expected).
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np

import tern_jax as tj
from tern_jax import constructions as C


def _best(fn, repeat: int):
    best, res = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        res = fn()
        best = min(best, time.perf_counter() - t0)
    return best, res


def random_net(widths, ternary: bool, seed: int) -> tj.ReLUNet:
    weights = "ternary" if ternary else "gaussian"
    return tj.random_network(2, widths, weights=weights, seed=seed, bias_std=0.3)


def bench_1d(blocks, repeat):
    rows = []
    for k in blocks:
        net = C.ternary_alternating(1, [4] * k).net
        for mode, whole in (("exact", False), ("float64", False), ("exact", True)):
            ends = (None, None) if whole else (0, 1)
            sec, r = _best(
                lambda net=net, ends=ends, mode=mode: tj.exact_regions_1d(net, *ends, mode=mode),
                repeat,
            )
            rows.append(
                _row(
                    "line",
                    f"3.2 n0=1 p=[4]*{k}",
                    "R" if whole else "[0,1]",
                    mode,
                    r,
                    sec,
                    "pieces/s",
                )
            )
    return rows


def _row(engine, network, domain, mode, r, sec, unit) -> dict:
    """One table row: the exact counts of result ``r`` and its rate (pieces or cells per s)."""
    return {
        "engine": engine,
        "network": network,
        "domain": domain,
        "mode": mode,
        "activation_regions": r.activation_regions,
        "linear_regions": r.linear_regions,
        "seconds": sec,
        "rate": r.activation_regions / sec,
        "unit": unit,
    }


def bench_2d(widths, repeat, exact_float_max):
    rows = []
    for w in widths:
        for ternary, mode in ((False, "float64"), (False, "exact"), (True, "exact")):
            if not ternary and mode == "exact" and w > exact_float_max:
                continue  # Gaussian floats in exact mode use Python ints: slow by design
            net = random_net([w, w, w], ternary, seed=w)
            sec, r = _best(
                lambda net=net, mode=mode: tj.exact_regions_2d(
                    net, [0, 0], [1, 0], [0, 1], (-3, 3, -3, 3), mode=mode, keep_cells=False
                ),
                repeat,
            )
            rows.append(
                _row(
                    "plane",
                    f"random {'ternary' if ternary else 'gaussian'} [{w},{w},{w}]",
                    "[-3,3]^2",
                    mode,
                    r,
                    sec,
                    "cells/s",
                )
            )
    return rows


def bench_2d_constructions(sizes, repeat):
    rows = []
    for ps in sizes:
        net = C.ternary_alternating(2, ps).net
        sec, r = _best(
            lambda net=net: tj.exact_regions_2d(
                net, [0, 0], [1, 0], [0, 1], (0, 1, 0, 1), keep_cells=False
            ),
            repeat,
        )
        rows.append(_row("plane", f"3.2 n0=2 p={ps}", "[0,1]^2", r.mode, r, sec, "cells/s"))
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes only")
    ap.add_argument("--repeat", type=int, default=2, help="runs per row, best kept (2)")
    ap.add_argument("--json", action="store_true", help="print JSON rows")
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = ap.parse_args(argv)
    blocks = [4, 6] if args.quick else [4, 6, 8, 10]
    widths = [8, 16] if args.quick else [8, 16, 32, 64, 128]
    # Warm-up (imports, first scipy call) outside the timings.
    tj.exact_regions_2d(random_net([4], False, 0), [0, 0], [1, 0], [0, 1], (-1, 1, -1, 1))
    cons = [[4, 4]] if args.quick else [[4, 4], [4, 4, 4], [4, 4, 4, 4]]
    rows = (
        bench_1d(blocks, args.repeat)
        + bench_2d(widths, args.repeat, exact_float_max=32)
        + bench_2d_constructions(cons, args.repeat)
    )
    if args.json:
        for r in rows:
            print(json.dumps(r, sort_keys=True))
        return 0
    if args.markdown:
        print("| engine | network | domain | mode | activation | linear | seconds | rate |")
        print("|---|---|---|---|---:|---:|---:|---:|")
        for r in rows:
            print(
                f"| {r['engine']} | {r['network']} | {r['domain']} | {r['mode']} | "
                f"{r['activation_regions']} | {r['linear_regions']} | {r['seconds']:.3f} | "
                f"{r['rate']:.0f} {r['unit']} |"
            )
        return 0
    print(
        f"tern_jax {tj.__version__}, {platform.processor() or platform.machine()}, numpy "
        f"{np.__version__}; counts are exact partitions (activation / linear regions)"
    )
    print(
        f"{'engine':6} {'network':34} {'domain':9} {'mode':8} {'act.':>9} {'lin.':>9} "
        f"{'seconds':>8} {'rate':>12}"
    )
    for r in rows:
        print(
            f"{r['engine']:6} {r['network']:34} {r['domain']:9} {r['mode']:8} "
            f"{r['activation_regions']:9d} {r['linear_regions']:9d} {r['seconds']:8.3f} "
            f"{r['rate']:9.0f} {r['unit']}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
