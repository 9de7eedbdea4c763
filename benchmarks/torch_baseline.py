"""A straightforward PyTorch pattern counter, as a user would write it, for comparison.

Patterns of N uniform samples of the box [-1, 1]^2 through the reference networks of
``benchmarks/sampling.py`` (ternary x 1/8, 8 hidden layers of width 64), packed into bits,
hashed into 64-bit keys and counted with ``torch.unique``, in chunks of 2^16 rows. It is a
benchmark-only comparison: PyTorch is never a dependency of tern_jax or of its tests.

    python -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install torch==2.13.0 numpy
    /tmp/torchvenv/bin/pip install -e .     # tern_jax, for the same reference networks
    /tmp/torchvenv/bin/python benchmarks/torch_baseline.py [--samples 2097152]

Run ``benchmarks/sampling.py`` right after it (or alongside, with the load stated) to
compare rates.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

try:
    import torch
except ImportError:  # a benchmark-only tool: say how to get it
    sys.exit(
        "PyTorch is not installed (benchmark only). Install it in a scratch venv:\n"
        "  python -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install torch==2.13.0 numpy\n"
        "  /tmp/torchvenv/bin/pip install -e . && /tmp/torchvenv/bin/python "
        "benchmarks/torch_baseline.py"
    )

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sampling import reference_net

CHUNK = 1 << 16


def count(net, n: int, seed: int = 0) -> tuple[int, float]:
    """(distinct patterns, seconds) for n samples."""
    ws = [torch.tensor(w, dtype=torch.float32) for w in net.weights]
    bs = [torch.tensor(b, dtype=torch.float32) for b in net.biases]
    acts = net.activations
    gen = torch.Generator().manual_seed(seed)
    words = -(-net.num_relu_units // 63)
    coef = torch.randint(-(2**62), 2**62, (words,), generator=torch.Generator().manual_seed(1))
    shifts = torch.arange(63, dtype=torch.int64)
    seen = torch.empty(0, dtype=torch.int64)
    t0 = time.perf_counter()
    with torch.no_grad():
        for _ in range(n // CHUNK):
            h = torch.rand(CHUNK, net.input_dim, generator=gen) * 2 - 1
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
