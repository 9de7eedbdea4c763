"""Train the small 2-input models of the calibration study and save them in
``experiments/data/`` (run once; the study reads the saved files, because training them takes
minutes, too long for the study's smoke and quick settings).

Each model is the quick recipe (``configs/quick.yaml``: alternating identity/ReLU, widths
16,16,16,16, absmean ternary quantisation with ternary biases) on a 2-input task, with its
full-precision twin: ``trained_<task>_s<seed>.npz`` (ternary) and ``..._float.npz``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "data")
RUNS = [("sines2d", 0), ("sines2d", 1), ("sawtooth2d", 0)]


def main() -> int:
    with open(os.path.join(HERE, "configs", "quick.yaml")) as fh:
        base = yaml.safe_load(fh)
    os.makedirs(OUT, exist_ok=True)
    for task, seed in RUNS:
        cfg = {**base, "name": f"calib_{task}_s{seed}", "task": task, "seed": seed}
        cfg.update(
            checkpoint_every=base["steps"], exact_line=False, exact_plane=False, count_every=0
        )
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "config.yaml")
            with open(path, "w") as fh:
                yaml.safe_dump(cfg, fh)
            run = os.path.join(tmp, "run")
            subprocess.run(
                [sys.executable, "-m", "tern_jax.cli", "train", path, "--out", run], check=True
            )
            for src, suffix in (("network.npz", ""), ("network_float.npz", "_float")):
                dst = os.path.join(OUT, f"trained_{task}_s{seed}{suffix}.npz")
                os.replace(os.path.join(run, src), dst)
                print("wrote", dst)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
