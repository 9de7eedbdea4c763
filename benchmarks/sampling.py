"""Sampling-engine throughput: the counting pipeline against a plain forward pass.

Reference networks (issue 16): input dim 2, 8 hidden layers of width 64, weights and biases
ternary x 1/8, (a) alternating identity/ReLU and (b) all ReLU, on the box [-1, 1]^2. In one
run it prints, per network:

- ``plain``: the plainest fast JAX forward pass, kept that way on purpose: one ``jit``,
  ``lax.map`` over chunks of 2^14 rows, ``jax.random.uniform``, matmul + bias + ReLU, the
  outputs summed. No patterns, keys or grouping. The yardstick.
- ``pipeline``: ``tj.count_regions`` in float32 (patterns, keys, on-device grouping, host
  merge, and the per-pattern check and affine maps), with the platform's default grouping
  (``dedupe="auto"``); ``ratio`` = pipeline / plain.
- ``w/o maps``: the same run's rate without the time of the per-pattern check and affine
  maps (``execution["pattern_seconds"]``): what ``affine_distinct`` costs.
- ``(other)``: the other grouping; ``f64``: float64 (the default for these dyadic networks,
  whose integer form is too large for exact float32); ``tiled fwd``: a diagnostic forward
  pass with the pipeline's sampling and 16,384-row tiles; ``fwd+bits``: the plain pass
  with the pipeline's forward walk, bits packed and summed (no keys, grouping or host
  work), and its ratio to plain: what producing the patterns alone costs.

Then the exact lattice path on integer networks: ``precision="auto"`` (float32, proven exact)
against forced float64 on the same grid, with identical records (asserted); and networks
with many inputs, where nearly every sample has its own pattern and the once-per-pattern
check weighs as much as the sampling (``check s``: its seconds in the best run).

Counts in every table are sampled (``count_regions``) on the row's domain: ``distinct`` is
the number of activation regions the samples met (exact for the sample), ``affine`` the
number of distinct affine maps among them (a lower bound on the linear regions met).

Every rate is the best of ``--repeat`` runs, compile excluded. State the machine's load
(``uptime``) with the numbers; on a shared machine compare rows of one run only.

    .venv/bin/python benchmarks/sampling.py [--samples 2097152] [--repeat 5]
"""

from __future__ import annotations

import argparse
import itertools
import os
import time

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

import tern_jax as tj
from tern_jax.sampling import device as dev
from tern_jax.sampling import lattice, samplers
from tern_jax.sampling.group import dedupe_method
from tern_jax.sampling.keys import forward_words

PLAIN_CHUNK = 1 << 14


def reference_net(all_relu: bool, seed: int = 0, width: int = 64, depth: int = 8,
                  input_dim: int = 2, scale: float = 1 / 8) -> tj.ReLUNet:  # fmt: skip
    """Weights and biases ternary x ``scale``; alternating identity/ReLU or all ReLU."""
    rng = np.random.default_rng(seed)
    dims = [input_dim] + [width] * depth + [1]
    ws = [rng.integers(-1, 2, size=(a, b)) * scale for a, b in itertools.pairwise(dims)]
    bs = [rng.integers(-1, 2, size=b) * scale for b in dims[1:]]
    acts = [("relu" if (all_relu or i % 2 == 1) else "identity") for i in range(depth)]
    return tj.ReLUNet.from_arrays(ws, bs, [*acts, "identity"])


def plain_forward(net: tj.ReLUNet, n: int):
    """The yardstick (keep it plain): returns a function running the whole pass once."""
    params = [(jnp.asarray(w, jnp.float32), jnp.asarray(b, jnp.float32))
              for w, b in zip(net.weights, net.biases)]  # fmt: skip
    acts, d = net.activations, net.input_dim

    @jax.jit
    def run(params, key):
        def chunk(i):
            h = jax.random.uniform(jax.random.fold_in(key, i), (PLAIN_CHUNK, d), minval=-1.0,
                                   maxval=1.0)  # fmt: skip
            for (w, b), act in zip(params, acts):
                h = h @ w + b
                if act == "relu":
                    h = jnp.maximum(h, 0)
            return jnp.sum(h)

        return jnp.sum(lax.map(chunk, jnp.arange(n // PLAIN_CHUNK)))

    key = jax.random.key(0)
    return lambda: run(params, key).block_until_ready()


def plain_with_bits(net: tj.ReLUNet, n: int):
    """Diagnostic: the plain pass with the pipeline's forward walk (identity layers folded,
    each ReLU layer's bits packed as it is computed), the words summed: what producing the
    patterns costs before any key, grouping or host work."""
    sampling = samplers.resolve(tj.Box(-1.0, 1.0), net.input_dim)
    arith = lattice.plan(net, sampling, "float32")
    with dev.x64_scope("float32"):
        params = dev.device_params(arith)
    acts, d = arith.activations, net.input_dim

    @jax.jit
    def run(params, key):
        def chunk(i):
            h = jax.random.uniform(jax.random.fold_in(key, i), (PLAIN_CHUNK, d))
            return jnp.sum(forward_words(params, acts, h), axis=0, dtype=jnp.uint32)

        return jnp.sum(lax.map(chunk, jnp.arange(n // PLAIN_CHUNK)), axis=0)

    key = jax.random.key(0)
    return lambda: run(params, key).block_until_ready()


def tiled_forward(net: tj.ReLUNet, domain, n: int, chunk: int):
    """Diagnostic: the pipeline's sampler and tiles, outputs only, float32."""
    sampling = samplers.resolve(domain, net.input_dim)
    arith = lattice.plan(net, sampling, "float32")
    mesh = dev.local_mesh()
    bpd = chunk // dev.BLOCK
    step = dev.build_forward_step(net, sampling, arith, bpd, mesh)
    with dev.x64_scope("float32"):
        params = dev.device_params(arith)
    key = dev.seed_key(0)
    per_step = bpd * mesh.devices.size
    steps = -(-n // (per_step * dev.BLOCK))

    def run():
        outs = [step(params, key, np.int32(s * per_step), ()) for s in range(steps)]
        jax.block_until_ready(outs)

    return run


def best_rate(fn, n: int, repeats: int) -> float:
    fn()  # compile
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return n / best


def pipeline(net, domain, n: int, chunk: int, repeats: int, **kw) -> tuple[float, float, object]:
    """Best-of-``repeats`` rates with and without the per-pattern work, and the record."""
    ndev = len(kw["devices"]) if kw.get("devices") else len(jax.local_devices())
    tj.count_regions(net, domain, chunk * ndev, chunk_size=chunk, **kw)  # compile
    best, best_wo, rec = float("inf"), float("inf"), None
    for _ in range(repeats):
        rec = tj.count_regions(net, domain, n, seed=0, chunk_size=chunk, **kw)
        best = min(best, rec.seconds)
        best_wo = min(best_wo, rec.seconds - rec.execution["pattern_seconds"])
    return n / best, n / best_wo, rec


def reference_table(args) -> None:
    dom = tj.Box(-1.0, 1.0)
    main_dd = dedupe_method("auto", jax.devices()[0].platform)
    other_dd = "sort" if main_dd == "slots" else "slots"
    print(f"{'network':<22}{'plain /s':>12}{'pipeline /s':>13}{'ratio':>7}{'w/o maps /s':>13}"
          f"{'ratio':>7}{other_dd + ' /s':>12}{'f64 /s':>12}{'tiled fwd /s':>14}"
          f"{'fwd+bits /s':>13}{'ratio':>7}{'distinct':>10}{'affine':>8}")  # fmt: skip
    for kind, all_relu in (("alternating", False), ("all-ReLU", True)):
        net = reference_net(all_relu)
        n = args.samples
        plain = best_rate(plain_forward(net, n), n, args.repeat)
        pipe, pipe_wo, rec = pipeline(net, dom, n, args.chunk, args.repeat, precision="float32")
        other, _, rec_o = pipeline(net, dom, n, args.chunk, args.repeat, precision="float32",
                                   dedupe=other_dd)  # fmt: skip
        f64, _, _ = pipeline(net, dom, n, args.chunk, args.repeat, precision="float64")
        tiled = best_rate(tiled_forward(net, dom, n, args.chunk), n, args.repeat)
        bits = best_rate(plain_with_bits(net, n), n, args.repeat)
        assert rec_o.figures() == rec.figures(), "the two groupings disagree"
        print(f"{kind + ' 2-64x8-1':<22}{plain:>12,.0f}{pipe:>13,.0f}{pipe / plain:>7.2f}"
              f"{pipe_wo:>13,.0f}{pipe_wo / plain:>7.2f}{other:>12,.0f}{f64:>12,.0f}"
              f"{tiled:>14,.0f}{bits:>13,.0f}{bits / plain:>7.2f}{rec.distinct:>10,}"
              f"{rec.affine_distinct:>8,}")  # fmt: skip


def integer_table(args) -> None:
    """The exact lattice path: float32 proven exact vs float64 on the same grid."""
    nets = {  # ternary, all ReLU, on [-1, 1]^n0; each proven exact in float32 (asserted)
        "ternary 2-256-256 ReLU": [2, 256, 256, 1],
        "ternary 2-512-512 ReLU": [2, 512, 512, 1],
        "ternary 3-256-256 ReLU": [3, 256, 256, 1],
    }
    print(f"\n{'integer network':<24}{'grid bits':>10}{'float32 exact /s':>18}"
          f"{'float64 /s':>12}{'speed-up':>10}{'distinct':>10}  same record")  # fmt: skip
    for name, dims in nets.items():
        rng = np.random.default_rng(0)
        ws = [rng.integers(-1, 2, (a, b)).astype(float) for a, b in itertools.pairwise(dims)]
        bs = [rng.integers(-1, 2, b).astype(float) for b in dims[1:]]
        net = tj.ReLUNet.from_arrays(ws, bs, ["relu"] * (len(dims) - 2) + ["identity"])
        dom = tj.Box(-1.0, 1.0)
        fast, _, rf = pipeline(net, dom, args.samples, args.chunk, args.repeat)
        slow, _, rs = pipeline(net, dom, args.samples, args.chunk, args.repeat,
                               precision="float64")  # fmt: skip
        a, b = rf.figures(), rs.figures()
        for d in (a, b):
            d.pop("precision"), d.pop("arithmetic")
        same = a == b and rf.arithmetic["exact"] and rf.precision == "float32"
        print(f"{name:<24}{rf.arithmetic['lattice_bits']:>10}{fast:>18,.0f}{slow:>12,.0f}"
              f"{fast / slow:>10.2f}{rf.distinct:>10,}  {same}")  # fmt: skip
        assert same, "the exact float32 path must give the float64 record"


def wide_table(args) -> None:
    """Networks where nearly every sample has its own pattern, so the once-per-pattern check
    (representatives, walk, distinct maps) weighs as much as the sampling: Gaussian weights
    (N(0, 1/fan_in), biases N(0, 0.09)), float64, box [-1, 1]^n0, and the 784-input network
    with 10 outputs on 65,536 data points in [0, 1]^784 (the shape of an MNIST model on its
    training set; the plain pass draws as many uniform inputs)."""
    print(f"\n{'many patterns':<30}{'N':>9}{'plain /s':>12}{'pipeline /s':>13}{'ratio':>7}"
          f"{'check s':>9}{'distinct':>10}{'affine':>9}")  # fmt: skip
    rows = [(784, 1, 1 << 17, "box"), (784, 10, 1 << 17, "box"), (784, 10, 1 << 16, "points"),
            (32, 1, 1 << 18, "box")]  # fmt: skip
    for n0, out, n, where in rows:
        net = tj.random_network(n0, [64, 64], weights="gaussian", seed=0, bias_std=0.3,
                                output_dim=out)  # fmt: skip
        dom = tj.Box(-1.0, 1.0)
        if where == "points":
            dom = tj.Points(np.random.default_rng(0).uniform(0.0, 1.0, size=(n, n0)))
        plain = best_rate(plain_forward(net, n), n, args.repeat)
        pipe, _, rec = pipeline(net, dom, n, args.chunk, args.repeat)
        name = f"gaussian {n0}-64-64-{out}" + (" points" if where == "points" else "")
        print(f"{name:<30}{n:>9,}{plain:>12,.0f}{pipe:>13,.0f}"
              f"{pipe / plain:>7.2f}{rec.execution['pattern_seconds']:>9.2f}{rec.distinct:>10,}"
              f"{rec.affine_distinct:>9,}")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=2 * 2**20)
    ap.add_argument("--chunk", type=int, default=16 * 4096, help="rows per device per step")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--only", choices=("reference", "integer", "wide"), help="one table only")
    args = ap.parse_args()
    devs = jax.devices()
    print(f"device: {devs[0].device_kind} ({devs[0].platform}), {len(devs)} device(s), "
          f"{os.cpu_count()} CPU cores; N={args.samples:,}, chunk={args.chunk:,}, "
          f"best of {args.repeat}; load {os.getloadavg()[0]:.2f}")  # fmt: skip
    if args.only in (None, "reference"):
        reference_table(args)
    if args.only in (None, "integer"):
        integer_table(args)
    if args.only in (None, "wide"):
        wide_table(args)
    print(f"load at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
