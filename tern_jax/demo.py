"""``make demo``: build the math.md 3.5 network, evaluate it and write a summary.

This grows into the quick experiments report as the engines land.
"""

from __future__ import annotations

import argparse
import json
import os

import numpy as np


def example_35():
    """math.md 3.5: the ternary alternating network computing the zigzag Z_3 on [0, 1]."""
    from .network import ReLUNet

    w1 = np.ones((1, 6))
    b1 = np.array([0, 0, 0, -1, -1, -1])
    rows = [
        [1, 1, 1, 0, 0, 0],
        [1, 1, 0, 1, 0, 0],
        [1, 1, 0, 1, 0, 0],
        [1, 0, 0, 1, 1, 0],
        [1, 0, 0, 1, 1, 0],
    ]
    w2 = np.array(rows).T
    b2 = np.zeros(5)
    w3 = np.array([[1, -1, -1, 1, 1]]).T
    b3 = np.zeros(1)
    return ReLUNet.from_arrays([w1, w2, w3], [b1, b2, b3], ["identity", "relu", "identity"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="runs/demo", help="output directory")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)

    from .network import save_network

    net = example_35()
    xs = np.array([0, 1 / 6, 1 / 3, 1 / 2, 2 / 3, 1.0])
    ys = np.asarray(net(xs[:, None].astype(np.float32)))[:, 0]
    pats = np.asarray(net.patterns(xs[:, None].astype(np.float32))).astype(int)
    print(net.summary())
    print("x        f(x)   pattern")
    for x, y, p in zip(xs, ys, pats):
        print(f"{x:7.4f}  {y:6.3f}   {''.join(map(str, p))}")
    path = save_network(net, os.path.join(args.out, "example_35.npz"))
    with open(os.path.join(args.out, "demo.json"), "w") as fh:
        json.dump(
            {"fingerprint": net.fingerprint, "x": xs.tolist(), "f": ys.tolist()}, fh, indent=1
        )
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
