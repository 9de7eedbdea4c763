"""A straightforward PyTorch pattern counter, as a user would write it, for comparison.

Patterns of N uniform samples of the box [-1, 1]^2 through the reference networks of
``benchmarks/sampling.py`` (ternary x 1/8, 8 hidden layers of width 64), packed into bits,
hashed into 64-bit keys and counted with ``torch.unique``, in chunks of 2^16 rows. It is a
benchmark-only comparison: PyTorch is never a dependency of tern_jax or of its tests.

    python -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install torch==2.13.0 numpy
    /tmp/torchvenv/bin/python benchmarks/torch_baseline.py [--samples 2097152]

Run ``benchmarks/sampling.py`` right after it (or alongside, with the load stated) to
compare rates.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time

try:
    import torch
except ImportError:  # a benchmark-only tool: say how to get it
    sys.exit(
        "PyTorch is not installed (benchmark only). Install it in a scratch venv:\n"
        "  python -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install torch==2.13.0 numpy\n"
        "  /tmp/torchvenv/bin/python benchmarks/torch_baseline.py"
    )

import numpy as np

CHUNK = 1 << 16


def reference_net(all_relu: bool, seed: int = 0, width: int = 64, depth: int = 8):
    """``benchmarks/sampling.py``'s reference network (same draws), without JAX:
    (weights, biases, activations)."""
    rng = np.random.default_rng(seed)
    dims = [2] + [width] * depth + [1]
    ws = [rng.integers(-1, 2, size=(a, b)) / 8 for a, b in itertools.pairwise(dims)]
    bs = [rng.integers(-1, 2, size=b) / 8 for b in dims[1:]]
    acts = [("relu" if (all_relu or i % 2 == 1) else "identity") for i in range(depth)]
    return ws, bs, [*acts, "identity"]


def count(net, n: int, seed: int = 0) -> tuple[int, float]:
    """(distinct patterns, seconds) for n samples."""
    ws = [torch.tensor(w, dtype=torch.float32) for w in net[0]]
    bs = [torch.tensor(b, dtype=torch.float32) for b in net[1]]
    acts = net[2]
    gen = torch.Generator().manual_seed(seed)
    units = sum(w.shape[1] for w, a in zip(ws[:-1], acts[:-1]) if a == "relu")
    words = -(-units // 63)
    coef = torch.randint(-(2**62), 2**62, (words,), generator=torch.Generator().manual_seed(1))
    shifts = torch.arange(63, dtype=torch.int64)
    seen = torch.empty(0, dtype=torch.int64)
    t0 = time.perf_counter()
    with torch.no_grad():
        for _ in range(n // CHUNK):
            h = torch.rand(CHUNK, 2, generator=gen) * 2 - 1
            bits = []
            for w, b, act in zip(ws[:-1], bs[:-1], acts[:-1]):
                h = h @ w + b
                if act == "relu":
                    bits.append(h > 0)
                    h = torch.relu(h)
            pattern = torch.cat(bits, dim=1).to(torch.int64)  # (CHUNK, U) 0/1
            pad = words * 63 - pattern.shape[1]
            pattern = torch.nn.functional.pad(pattern, (0, pad)).view(CHUNK, words, 63)
            packed = (pattern << shifts).sum(dim=2)  # 63 bits a word
            keys = (packed * coef).sum(dim=1)  # 64-bit multiply-add hash (wraps)
            seen = torch.unique(torch.cat([seen, torch.unique(keys)]))
    return int(seen.numel()), time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=2 * 2**20)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    load = os.getloadavg()[0]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{os.cpu_count()} CPU cores; N={args.samples:,}; load {load:.2f}")  # fmt: skip
    for kind, all_relu in (("alternating", False), ("all-ReLU", True)):
        net = reference_net(all_relu)
        best, distinct = float("inf"), 0
        for _ in range(args.repeat):
            distinct, sec = count(net, args.samples)
            best = min(best, sec)
        print(f"{kind + ' 2-64x8-1':<22}{args.samples / best:>14,.0f} samples/s  "
              f"{distinct:,} distinct")  # fmt: skip


if __name__ == "__main__":
    main()
