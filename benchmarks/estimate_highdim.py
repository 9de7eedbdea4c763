"""The volume estimator in ten dimensions, with its cost (not a test).

The network: the model trained by ``experiments/configs/diabetes.yaml`` (alternating
identity/ReLU 16x16, ternary weights, float biases, 10 standardised inputs), on the box
[-2, 2]^10. An independent exact enumeration of the same model (brute-force search, one LP
per partial pattern; issue 18) found 39,667 activation regions there; ``count_regions`` sees
12,242 distinct patterns among 10^6 draws and Chao1 reports 14,825 with a 95% interval of
[14,567, 15,112].

    .venv/bin/python benchmarks/estimate_highdim.py --run RUN_DIR [--samples 1000] [--seeds 0]
    .venv/bin/python benchmarks/estimate_highdim.py --train      # trains into runs/diabetes

Each row: method, m, seed, the estimate and its 95% interval (activation regions,
estimated), the certain lower bound (regions found), and the costs: seconds per step, linear
programs (facets of the regions, beyond 6 dimensions) and Monte-Carlo draws (inclusion
probabilities).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

import tern_jax as tj
from tern_jax.estimators import compare_estimators

HERE = os.path.dirname(os.path.abspath(__file__))
EXACT = 39_667  # issue 18: independent exact enumeration of this model on [-2, 2]^10


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--run", default="runs/diabetes", help="run directory of the diabetes model")
    p.add_argument("--train", action="store_true", help="train the model into --run first")
    p.add_argument("--samples", type=int, nargs="+", default=[1000])
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument(
        "--methods", nargs="+", default=["volume", "horvitz-thompson", "chao1"],
        help="estimators to run on the same draws",
    )  # fmt: skip
    args = p.parse_args(argv)
    if args.train:
        config = os.path.join(HERE, "..", "experiments", "configs", "diabetes.yaml")
        subprocess.run(
            [sys.executable, "-m", "tern_jax.cli", "train", config, "--out", args.run], check=True
        )
    net = tj.load_network(args.run)
    print(f"# {net.summary()}", flush=True)
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs", flush=True)
    for m in args.samples:
        for seed in args.seeds:
            t0 = time.perf_counter()
            res = compare_estimators(net, tj.Box(-2.0, 2.0), m, seed, methods=args.methods)
            for method, r in res.items():
                row = {
                    "method": method, "m": m, "seed": seed, "estimate": round(r.estimate, 1),
                    "interval": [round(v, 1) for v in r.interval],
                    "covers_exact": r.interval[0] <= EXACT <= r.interval[1],
                    "distinct": r.distinct, "found": r.found, "volumes": r.volume_method,
                    "costs": {k: round(v, 2) if isinstance(v, float) else v
                              for k, v in r.costs.items()},
                    "seconds_all_methods": round(time.perf_counter() - t0, 1),
                    "warnings": list(r.warnings),
                }  # fmt: skip
                print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
