"""Time regioncam on networks saved as .npz (a helper of benchmarks/exact.py, not a test).

Runs in any Python that has numpy and regioncam (``pip install regioncam numpy``), e.g. a
scratch virtual environment, so that regioncam never becomes a dependency of tern_jax:

    python benchmarks/regioncam_worker.py REPEAT SIZE NET.npz [NET.npz ...]

Each .npz holds ``w0, b0, w1, b1, ...`` (x @ w + b; every layer but the last is followed by
a ReLU). Prints one JSON object per network: faces (regioncam's count of regions of the box
[-SIZE, SIZE]^2), best seconds over REPEAT runs, and regioncam's version.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import regioncam


def run(path: str, size: float):
    d = np.load(path)
    n = len(d.files) // 2
    rc = regioncam.Regioncam(size)
    for i in range(n):
        # regioncam computes in float32.
        rc.linear(d[f"w{i}"].astype(np.float32), d[f"b{i}"].astype(np.float32))
        if i < n - 1:
            rc.relu()
    return rc.num_faces


def main(argv: list[str]) -> int:
    repeat, size, paths = int(argv[0]), float(argv[1]), argv[2:]
    for path in paths:
        best, faces = float("inf"), None
        for _ in range(repeat):
            t0 = time.perf_counter()
            faces = run(path, size)
            best = min(best, time.perf_counter() - t0)
        row = {"path": path, "faces": faces, "seconds": best, "version": regioncam.__version__}
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
