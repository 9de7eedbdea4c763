"""Throughput of the exact engines, and the plane engine side by side with regioncam (not a
test).

1D: pieces/s along [0, 1] for deep math.md 3.2 constructions (n0 = 1, p = 4 per block, so
4**K activation regions = linear regions), in exact and float64 arithmetic, and over all of R.
2D: cells/s on the box [-3, 3]^2 for random networks (n0 = 2, three ReLU layers of width w):
Gaussian float64 weights (float64 mode, and exact mode on the same network) and random
ternary weights and biases (exact mode), and math.md 3.2 with n0 = 2 on the unit square.
Every count is exact, in every mode.

regioncam (Rust, float32; https://pypi.org/project/regioncam/) partitions the same random
networks on the same box in the same run, interleaved with tern_jax, and its face count is
recorded next to ours (it miscounts degenerate ternary networks). It is never a dependency:
the benchmark imports it when installed, or runs ``benchmarks/regioncam_worker.py`` in
another Python given by ``--regioncam-python``:

    python3 -m venv /tmp/rcvenv && /tmp/rcvenv/bin/pip install regioncam numpy
    .venv/bin/python benchmarks/exact.py --regioncam-python /tmp/rcvenv/bin/python

Other uses:

    .venv/bin/python benchmarks/exact.py --quick      # small sizes only
    .venv/bin/python benchmarks/exact.py --markdown   # Markdown tables
    .venv/bin/python benchmarks/exact.py --json       # one JSON object per row

Every time is the best of ``--repeat`` runs (the machine may be shared; the load average is
printed). BLAS runs on ``--blas-threads`` threads (1 by default, like regioncam's single
thread; set before numpy is imported).
"""

from __future__ import annotations

import argparse
import os
import sys

if __name__ == "__main__":  # before numpy is imported anywhere
    _threads = "1"
    for _i, _a in enumerate(sys.argv):
        if _a.startswith("--blas-threads"):
            _threads = _a.split("=", 1)[1] if "=" in _a else sys.argv[_i + 1]
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = _threads

import json
import pathlib
import platform
import subprocess
import tempfile
import time

import numpy as np

import tern_jax as tj
from tern_jax import constructions as C

WORKER = pathlib.Path(__file__).with_name("regioncam_worker.py")
BOX = 3.0  # the box [-BOX, BOX]^2 of (s, t)


def _timed(fn):
    t0 = time.perf_counter()
    res = fn()
    return time.perf_counter() - t0, res


def _best(fn, repeat: int):
    runs = [_timed(fn) for _ in range(repeat)]
    return min(s for s, _ in runs), runs[-1][1]


def random_net(widths, ternary: bool, seed: int) -> tj.ReLUNet:
    weights = "ternary" if ternary else "gaussian"
    return tj.random_network(2, widths, weights=weights, seed=seed, bias_std=0.3)


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


# -- regioncam ------------------------------------------------------------------------------


def regioncam_runner(python: str | None):
    """A function (net) -> (faces, seconds) timing regioncam on [-BOX, BOX]^2, or None with
    instructions when regioncam is not available."""
    try:
        import regioncam  # optional, benchmark only
    except ImportError:
        regioncam = None
    if regioncam is not None:

        def run_here(net):
            def go():
                rc = regioncam.Regioncam(BOX)
                for i, (w, b) in enumerate(zip(net.weights, net.biases)):
                    rc.linear(np.asarray(w, np.float32), np.asarray(b, np.float32))
                    if i < len(net.weights) - 1:
                        rc.relu()
                return rc.num_faces

            sec, faces = _timed(go)
            return faces, sec, regioncam.__version__

        return run_here
    if python:
        tmp = pathlib.Path(tempfile.mkdtemp(prefix="rcbench"))

        def run_there(net):
            path = tmp / f"{net.fingerprint}.npz"
            if not path.exists():
                arrays = {f"w{i}": np.asarray(w) for i, w in enumerate(net.weights)}
                arrays |= {f"b{i}": np.asarray(b) for i, b in enumerate(net.biases)}
                np.savez(path, **arrays)
            cmd = [python, str(WORKER), "1", str(BOX), str(path)]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
            d = json.loads(out.splitlines()[-1])
            return d["faces"], d["seconds"], d["version"]

        return run_there
    print(
        "regioncam is not installed: no side-by-side timing. To add it (benchmark only):\n"
        "  python3 -m venv /tmp/rcvenv && /tmp/rcvenv/bin/pip install regioncam numpy\n"
        "  .venv/bin/python benchmarks/exact.py --regioncam-python /tmp/rcvenv/bin/python",
        file=sys.stderr,
    )
    return None


# -- rows -----------------------------------------------------------------------------------


def bench_1d(blocks, repeat, float_max):
    rows = []
    for k in blocks:
        net = C.ternary_alternating(1, [4] * k).net
        for mode, whole in (("exact", False), ("float64", False), ("exact", True)):
            if mode == "float64" and k > float_max:
                continue  # ties everywhere: float64 settles them exactly, more slowly
            ends = (None, None) if whole else (0, 1)
            sec, r = _best(
                lambda net=net, e=ends, m=mode: tj.exact_regions_1d(net, *e, mode=m), repeat
            )
            name = f"3.2 n0=1 p=[4]*{k}"
            rows.append(_row("line", name, "R" if whole else "[0,1]", mode, r, sec, "pieces/s"))
    return rows


def bench_2d(widths, repeat, exact_float_max, rc):
    rows = []
    for w in widths:
        for ternary, mode in ((False, "float64"), (False, "exact"), (True, "exact")):
            if not ternary and mode == "exact" and w > exact_float_max:
                continue  # Gaussian floats in exact mode use Python ints: slow by design
            net = random_net([w, w, w], ternary, seed=w)
            compare = rc is not None and (ternary or mode == "float64")
            ours, theirs = [], []
            for _ in range(repeat):  # interleaved, so both see the same machine load
                ours.append(
                    _timed(
                        lambda net=net, mode=mode: tj.exact_regions_2d(
                            net,
                            [0, 0],
                            [1, 0],
                            [0, 1],
                            (-BOX, BOX, -BOX, BOX),
                            mode=mode,
                            keep_cells=False,
                        )
                    )
                )
                if compare:
                    theirs.append(rc(net))
            sec, r = min(s for s, _ in ours), ours[-1][1]
            kind = "ternary" if ternary else "gaussian"
            row = _row("plane", f"random {kind} [{w},{w},{w}]", "[-3,3]^2", mode, r, sec, "cells/s")
            if theirs:
                rsec = min(s for _, s, _ in theirs)
                faces, _, version = theirs[-1]
                row |= {
                    "regioncam_faces": faces,
                    "regioncam_seconds": rsec,
                    "regioncam_rate": faces / rsec,
                    "regioncam_version": version,
                    "speedup": rsec / sec,
                }
            rows.append(row)
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


# -- output ---------------------------------------------------------------------------------


def _load() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def _header(args, load_before: str) -> str:
    return (
        f"tern_jax {tj.__version__}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, load average {load_before} before and {_load()} after "
        f"(1/5/15 min), numpy {np.__version__}, "
        f"BLAS threads {os.environ.get('OPENBLAS_NUM_THREADS', 'default')}, best of "
        f"{args.repeat}; counts are exact partitions (activation / linear regions)"
    )


def _markdown(rows) -> None:
    print("| engine | network | domain | mode | activation | linear | seconds | rate |")
    print("|---|---|---|---|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['engine']} | {r['network']} | {r['domain']} | {r['mode']} | "
            f"{r['activation_regions']} | {r['linear_regions']} | {r['seconds']:.3f} | "
            f"{r['rate']:.0f} {r['unit']} |"
        )
    side = [r for r in rows if "regioncam_faces" in r]
    if side:
        print()
        print(
            "| network | mode | tern_jax cells (exact) | regioncam faces | tern_jax s | "
            "regioncam s | tern_jax cells/s | regioncam faces/s | speedup |"
        )
        print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
        for r in side:
            print(
                f"| {r['network']} | {r['mode']} | {r['activation_regions']} | "
                f"{r['regioncam_faces']} | {r['seconds']:.3f} | {r['regioncam_seconds']:.3f} | "
                f"{r['rate']:.0f} | {r['regioncam_rate']:.0f} | {r['speedup']:.2f} |"
            )


def _text(rows) -> None:
    print(
        f"{'engine':6} {'network':34} {'domain':9} {'mode':8} {'act.':>9} {'lin.':>9} "
        f"{'seconds':>8} {'rate':>12}   regioncam: faces, seconds, speedup"
    )
    for r in rows:
        extra = ""
        if "regioncam_faces" in r:
            extra = (
                f"   {r['regioncam_faces']:9d} {r['regioncam_seconds']:8.3f} {r['speedup']:6.2f}x"
            )
        print(
            f"{r['engine']:6} {r['network']:34} {r['domain']:9} {r['mode']:8} "
            f"{r['activation_regions']:9d} {r['linear_regions']:9d} {r['seconds']:8.3f} "
            f"{r['rate']:9.0f} {r['unit']}{extra}"
        )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes only")
    ap.add_argument("--repeat", type=int, default=3, help="runs per row, best kept (3)")
    ap.add_argument("--json", action="store_true", help="print JSON rows")
    ap.add_argument("--markdown", action="store_true", help="print Markdown tables")
    ap.add_argument("--regioncam-python", help="a Python with regioncam (when not importable)")
    ap.add_argument("--blas-threads", default="1", help="BLAS threads (1)")
    ap.add_argument("--only", choices=("line", "plane", "constructions"), help="one section")
    args = ap.parse_args(argv)
    rc = regioncam_runner(args.regioncam_python)
    load_before = _load()
    blocks = [4, 6] if args.quick else [4, 6, 8, 10]
    widths = [8, 16] if args.quick else [8, 16, 32, 64, 128, 176]
    cons = [[4, 4]] if args.quick else [[4, 4], [4, 4, 4], [4, 4, 4, 4]]
    # Warm-up (imports, first scipy call) outside the timings.
    tj.exact_regions_2d(random_net([4], False, 0), [0, 0], [1, 0], [0, 1], (-1, 1, -1, 1))
    rows = []
    if args.only in (None, "line"):
        rows += bench_1d(blocks, args.repeat, float_max=8)
    if args.only in (None, "plane"):
        rows += bench_2d(widths, args.repeat, exact_float_max=32, rc=rc)
    if args.only in (None, "constructions"):
        rows += bench_2d_constructions(cons, args.repeat)
    if args.json:
        for r in rows:
            print(json.dumps(r, sort_keys=True))
        return 0
    print(_header(args, load_before))
    _markdown(rows) if args.markdown else _text(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
