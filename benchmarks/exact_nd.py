"""Throughput of the n-dimensional exact engine, side by side with relucent (not a test).

Rows: regions/s of ``tj.exact_regions(..., engine="nd")`` on

- generic Gaussian networks (weights N(0, 1/fan_in), biases N(0, 0.25)) with 3 and 4 inputs
  over all of R^n0, the domain relucent enumerates; relucent (a breadth-first search over
  regions with an LP per facet, https://pypi.org/project/relucent/) runs on the very same
  weights in the same run where it is installed;
- random ternary networks (weights and biases uniform in {-1, 0, 1}) with 3 inputs on the
  box [-3, 3]^3, up to about 10^5 regions;
- math.md 3.2 constructions with 3 and 4 inputs on the unit cube, and the all-ReLU form 3.3
  with 3 inputs, on which relucent is tried (over R^3: it enumerates the whole space; the
  n-D engine's row is on the unit cube): ternary networks are not in general position.

relucent is never a dependency of tern_jax. To include it, install it in a scratch
environment and point ``--relucent`` at that Python (the default looks in /tmp/relvenv):

    python3 -m venv /tmp/relvenv && /tmp/relvenv/bin/pip install relucent
    .venv/bin/python benchmarks/exact_nd.py --markdown
    .venv/bin/python benchmarks/exact_nd.py --quick          # small sizes only

Every row names the load average of the machine when it ran (the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np

import tern_jax as tj
import tern_jax.exact  # the engines load here, not in the first timed row
from tern_jax import constructions as C

DEFAULT_RELUCENT = "/tmp/relvenv/bin/python"
INSTALL_HINT = (
    "relucent not found: to compare, run\n"
    "  python3 -m venv /tmp/relvenv && /tmp/relvenv/bin/pip install relucent\n"
    "and pass --relucent /tmp/relvenv/bin/python (a scratch environment, never tern_jax's)."
)

# Runs in relucent's environment: reads the weights, enumerates the regions over R^n0.
RELUCENT_RUNNER = r"""
import json, sys, time
from collections import OrderedDict
import numpy as np
import relucent
from relucent.model.model import LinearLayer, ReLULayer, ReLUNetwork
data = np.load(sys.argv[1])
n = int(data["n"])
layers = OrderedDict()
for i in range(n):
    layers[f"fc{i}"] = LinearLayer(weight=data[f"w{i}"].T.copy(), bias=data[f"b{i}"].copy())
    if i < n - 1:
        layers[f"relu{i}"] = ReLULayer()
net = ReLUNetwork(layers, input_shape=(data["w0"].shape[0],))
cx = relucent.Complex(net)
t0 = time.perf_counter()
try:
    # a generic start point (relucent refuses one on a hyperplane, e.g. the origin)
    start = np.random.default_rng(1).uniform(0.1, 0.9, size=data["w0"].shape[0])
    res = cx.bfs(start=start, nworkers=1, verbose=0)
    out = {"regions": len(cx.index2poly), "seconds": time.perf_counter() - t0,
           "complete": bool(res.complete)}
except Exception as e:
    out = {"error": f"{type(e).__name__}: {str(e)[:160]}", "seconds": time.perf_counter() - t0}
print(json.dumps(out))
"""


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def gaussian(n0: int, widths: list[int], seed: int) -> tj.ReLUNet:
    return tj.random_network(n0, widths, weights="gaussian", seed=seed, bias_std=0.5)


def ternary(n0: int, widths: list[int], seed: int) -> tj.ReLUNet:
    return tj.random_network(n0, widths, weights="ternary", seed=seed)


def run_nd(net, domain, repeat: int):
    best, res = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        res = tj.exact_regions(net, domain, engine="nd")
        best = min(best, time.perf_counter() - t0)
    return best, res


def run_relucent(python: str, net: tj.ReLUNet, timeout: float) -> dict:
    """relucent's BFS over R^n0 on the same weights, in its own environment."""
    if any(a != "relu" for a in net.activations[:-1]):
        return {"error": "relucent takes all-ReLU networks only"}
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "net.npz")
        arrays = {"n": np.array(net.num_layers)}
        for i, (w, b) in enumerate(zip(net.weights, net.biases)):
            arrays[f"w{i}"], arrays[f"b{i}"] = np.asarray(w), np.asarray(b)
        np.savez(path, **arrays)
        try:
            proc = subprocess.run(
                [python, "-c", RELUCENT_RUNNER, path],
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            return {"error": f"no result within {timeout:g} s"}
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1][:160]}
    return json.loads(lines[-1])


def cases(quick: bool):
    """(label, net, domain, domain label, try relucent?)."""
    out = []
    g3 = [[8, 8], [16, 16]] if quick else [[8, 8], [16, 16], [32, 32], [48, 48]]
    g4 = [[8, 8]] if quick else [[8, 8], [16, 16], [24, 24]]
    for n0, grid in ((3, g3), (4, g4)):
        for widths in grid:
            small = sum(widths) <= (32 if n0 == 3 else 16)
            label = f"gaussian {n0}-{'-'.join(map(str, widths))}-1"
            out.append((label, gaussian(n0, widths, seed=0), None, f"R^{n0}", small))
    t3 = [[16, 16, 16]] if quick else [[16, 16, 16], [32, 32, 32], [48, 48, 48]]
    for widths in t3:
        label = f"ternary 3-{'-'.join(map(str, widths))}-1"
        out.append((label, ternary(3, widths, seed=0), tj.Box(-3, 3), "[-3,3]^3", False))
    # relucent is tried on the all-ReLU form (it takes all-ReLU networks only).
    c = C.ternary_all_relu(3, [2], form="generic")
    out.append(("3.3 all-ReLU n0=3 p=[2]", c.net, tj.Box(0, 1), "[0,1]^3", True))
    constructions = [(3, [4, 4])] + ([] if quick else [(4, [2, 2, 2]), (3, [4, 4, 4])])
    for n0, ps in constructions:
        c = C.ternary_alternating(n0, ps)
        out.append((f"3.2 n0={n0} p={ps}", c.net, tj.Box(0, 1), f"[0,1]^{n0}", False))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes only")
    ap.add_argument("--repeat", type=int, default=1, help="best of this many n-D runs a row")
    ap.add_argument("--relucent", default=DEFAULT_RELUCENT, help="Python that has relucent")
    ap.add_argument("--relucent-timeout", type=float, default=600.0)
    ap.add_argument("--markdown", action="store_true", help="print a markdown table")
    ap.add_argument("--json", action="store_true", help="one JSON object per row")
    args = ap.parse_args()
    have_relucent = os.path.exists(args.relucent)
    if not have_relucent:
        print(INSTALL_HINT, file=sys.stderr)
    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"numpy {np.__version__}, tern_jax {tj.__version__}, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        file=sys.stderr,
    )
    header = (
        "| network | domain | activation | linear | n-D s | n-D regions/s | relucent regions "
        "| relucent s | relucent regions/s | speed-up | load |"
    )
    if args.markdown:
        print(header)
        print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for label, net, domain, dom_label, try_rel in cases(args.quick):
        sec, res = run_nd(net, domain, args.repeat)
        row = {
            "network": label,
            "domain": dom_label,
            "activation": res.activation_regions,
            "linear": res.linear_regions,
            "nd_seconds": round(sec, 3),
            "nd_rate": round(res.activation_regions / sec),
            "load": load(),
        }
        if try_rel and have_relucent:
            rel = run_relucent(args.relucent, net, args.relucent_timeout)
            row["relucent"] = rel
            if "regions" in rel:
                row["speedup"] = round(
                    (res.activation_regions / sec) / (rel["regions"] / rel["seconds"]), 1
                )
        if args.json:
            print(json.dumps(row), flush=True)
        elif args.markdown:
            rel = row.get("relucent", {})
            if "regions" in rel:
                rtxt = (
                    f"{rel['regions']} | {rel['seconds']:.1f} | "
                    f"{rel['regions'] / rel['seconds']:.0f} | {row['speedup']}x"
                )
            elif rel:
                rtxt = (
                    f"{rel['error']} | {rel['seconds']:.1f} | | "
                    if "seconds" in rel
                    else (f"{rel['error']} | | | ")
                )
            else:
                rtxt = "not run | | | "
            print(
                f"| {label} | {dom_label} | {row['activation']} | {row['linear']} | "
                f"{row['nd_seconds']} | {row['nd_rate']} | {rtxt} | {row['load']} |",
                flush=True,
            )
        else:
            print(row, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
