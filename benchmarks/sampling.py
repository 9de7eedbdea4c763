"""Sampling-engine throughput: forward-only pass vs the full counting pipeline.

Reference networks: input dim 2, 8 hidden layers of width 64, random ternary weights and
biases, (a) alternating identity/ReLU and (b) all ReLU. For N samples on the box [-1, 1]^2
it prints, in one run, the forward-only rate (same sampling, same tiling and chunking,
outputs only), the full pipeline rate (patterns + keys + device sort/dedupe + host merge)
and their ratio. Compile time is excluded from both (one warm-up step each). The pipeline
runs with the platform's default grouping of equal patterns (``dedupe="auto"``: hash slots
on CPU, sort on GPU/TPU); the other grouping is timed too, for comparison.

    .venv/bin/python benchmarks/sampling.py [--samples 4194304] [--chunk 65536]
    .venv/bin/python benchmarks/sampling.py --input-dim 4 --width 2048 --depth 2 \
        --only all-relu --samples 262144          # a wide network: 4096-bit patterns
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np


def reference_net(
    all_relu: bool, seed: int = 0, width: int = 64, depth: int = 8, input_dim: int = 2
):
    import tern_jax as tj

    rng = np.random.default_rng(seed)
    dims = [input_dim] + [width] * depth + [1]
    ws = [rng.integers(-1, 2, size=(a, b)).astype(float) for a, b in itertools.pairwise(dims)]
    bs = [rng.integers(-1, 2, size=b).astype(float) for b in dims[1:]]
    acts = [("relu" if (all_relu or i % 2 == 1) else "identity") for i in range(depth)]
    return tj.ReLUNet.from_arrays(ws, bs, [*acts, "identity"])


def forward_rate(net, domain, n: int, chunk: int, devices=None, repeats: int = 3) -> float:
    """Best-of-``repeats`` forward-only rate (inputs/s)."""
    import jax

    from tern_jax.sampling import device as dev
    from tern_jax.sampling.keys import device_params

    mesh = dev.local_mesh(devices)
    bpd = chunk // dev.BLOCK
    step = dev.build_forward_step(net, domain.resolve(net.input_dim), bpd, mesh)
    params, key = device_params(net), jax.random.key(0)
    per_step = bpd * mesh.devices.size
    steps = -(-n // (per_step * dev.BLOCK))
    step(params, key, dev.first_blocks_array(mesh, 0, bpd)).block_until_ready()  # compile
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        outs = [
            step(params, key, dev.first_blocks_array(mesh, s * per_step, bpd)) for s in range(steps)
        ]
        jax.block_until_ready(outs)
        best = min(best, time.perf_counter() - t)
    return steps * per_step * dev.BLOCK / best


def pipeline_rate(
    net,
    domain,
    n: int,
    chunk: int,
    devices=None,
    repeats: int = 3,
    precision="float32",
    dedupe="auto",
) -> tuple[float, object]:
    """Best-of-``repeats`` full-pipeline rate (inputs/s) and the last record."""
    import tern_jax as tj

    kw = dict(chunk_size=chunk, devices=devices, precision=precision, dedupe=dedupe)
    ndev = len(devices) if devices is not None else 1
    tj.count_regions(net, domain, chunk * ndev, **kw)  # compile
    best, rec = float("inf"), None
    for _ in range(repeats):
        rec = tj.count_regions(net, domain, n, seed=0, **kw)
        best = min(best, rec.seconds)
    return n / best, rec


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=4 * 2**20)
    ap.add_argument("--chunk", type=int, default=16 * 4096, help="rows per device per step")
    ap.add_argument("--input-dim", type=int, default=2)
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--depth", type=int, default=8, help="hidden layers")
    ap.add_argument("--only", choices=("alternating", "all-relu"), help="one network only")
    args = ap.parse_args()

    import jax

    import tern_jax as tj
    from tern_jax.sampling.device import dedupe_method

    dom = tj.Box(-1.0, 1.0)
    main_dd = dedupe_method("auto", jax.devices()[0].platform)
    other_dd = "sort" if main_dd == "slots" else "slots"
    print(f"devices: {jax.devices()}  N={args.samples:,}  chunk={args.chunk:,}  dedupe={main_dd}")
    print(
        f"{'network':<24}{'forward f32/s':>15}{'pipeline f32/s':>16}{'ratio':>7}"
        f"{'(' + other_dd + ') f32/s':>17}{'pipeline f64/s':>16}{'distinct':>10}"
    )
    arch = f"{args.input_dim}-{args.width}x{args.depth}-1"
    for kind, all_relu in (("alternating", False), ("all-ReLU", True)):
        if args.only and args.only != kind.lower():
            continue
        name = f"{kind} {arch}"
        net = reference_net(all_relu, 0, args.width, args.depth, args.input_dim)
        fwd = forward_rate(net, dom, args.samples, args.chunk)
        pipe, rec = pipeline_rate(net, dom, args.samples, args.chunk)
        other, rec_o = pipeline_rate(net, dom, args.samples, args.chunk, dedupe=other_dd)
        pipe64, rec64 = pipeline_rate(net, dom, args.samples, args.chunk, precision="float64")
        assert rec_o.figures() == rec.figures(), "the two groupings disagree"
        print(
            f"{name:<24}{fwd:>15,.0f}{pipe:>16,.0f}{pipe / fwd:>7.2f}{other:>17,.0f}"
            f"{pipe64:>16,.0f}{rec.distinct:>10,}  ({rec.key_kind}; f64 distinct "
            f"{rec64.distinct:,})"
        )


if __name__ == "__main__":
    main()
