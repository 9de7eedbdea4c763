"""The compiled hot loop: sample, forward, pack, key and group equal keys, on device.

Randomness is organised in canonical blocks of ``BLOCK`` rows: block b is drawn from
``fold_in(key(seed), b)``, so sample i (block i // BLOCK, row i % BLOCK) depends only on
(seed, i). Compute runs in tiles of ``TILE_BLOCKS`` consecutive blocks (one matmul per layer
over ``TILE`` rows: fewer, larger operations than one per block, measured faster on CPU);
each row's arithmetic does not depend on which tile holds it (a fixed tile shape, and exact
integer arithmetic wherever :mod:`.lattice` proves it), so neither does its pattern.

One *step* runs data-parallel over a 1-D device mesh with ``jax.shard_map``: each device
takes ``blocks_per_device`` consecutive blocks (a multiple of ``TILE_BLOCKS``), a ``lax.map``
over tiles turns samples into pattern keys, and :mod:`.group` reduces them to (key, count)
rows with the row of one representative sample each. Rows past N get weight 0. Only those
rows cross to the host, whose merge makes the counts exact whichever grouping ran.

The network the device evaluates is :class:`.lattice.Arithmetic`'s: the first layer folded
with the domain's input map, in float32 or float64 (JAX's x64 mode switched on around the
float64 program's tracing and calls), dots at full precision (no TF32/bf16 passes).
"""

from __future__ import annotations

import functools
import hashlib
import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from ..errors import InvalidInput
from . import samplers
from .group import DEDUPE_METHODS, group_codes, slot_dedupe, sort_dedupe
from .keys import KeySpec, forward_outputs, forward_words, words_to_keys
from .lattice import Arithmetic
from .samplers import Sampling

BLOCK = 4096  # canonical rows per random block
TILE_BLOCKS = 4  # blocks per compute tile
TILE = BLOCK * TILE_BLOCKS
AXIS = "devices"
# Tiles sorted and deduplicated together by "sort": 16,384 rows sent fewer rows to the host
# than 4,096 at little extra sort cost; a whole 65,536-row chunk sorted slower (on CPU).
SORT_TILES = 1
TILES_BATCH = 8  # tiles per call of :func:`build_tiles` (one compilation for every use)
DTYPES = {"float32": jnp.float32, "float64": jnp.float64}


def local_mesh(devices=None) -> Mesh:
    """A 1-D mesh over the given devices (default: all devices of this process)."""
    devs = list(devices) if devices is not None else jax.local_devices()
    return Mesh(np.array(devs), (AXIS,))


def seed_key(seed: int) -> jax.Array:
    """A threefry key holding all 64 bits of ``seed`` (``jax.random.key`` keeps only 32 with
    x64 off); equal to ``jax.random.key(seed)`` for seeds below 2^32."""
    if not 0 <= seed < 2**64:
        raise InvalidInput(f"seed must be in [0, 2^64), got {seed}")
    words = np.array([seed >> 32, seed & 0xFFFFFFFF], dtype=np.uint32)
    return jax.random.wrap_key_data(words, impl="threefry2x32")


def replicated(arrays, mesh: Mesh):
    """``arrays`` (a pytree) on every device of ``mesh`` once, rather than copied there at
    every step (a data set of points is hundreds of MB)."""
    return jax.device_put(arrays, NamedSharding(mesh, PartitionSpec()))


def x64_scope(precision: str):
    """The JAX x64 setting a program of this precision is traced and called under."""
    return jax.enable_x64(precision == "float64")


def device_params(arith: Arithmetic) -> tuple:
    """The compute network's layers as device arrays (call inside :func:`x64_scope`)."""
    dt = DTYPES[arith.precision]
    return tuple((jnp.asarray(w, dt), jnp.asarray(b, dt)) for w, b in arith.layers)


def tile_coordinates(sampling: Sampling, base_key, first_block, m: int | None, dtype,
                     data: tuple = ()):  # fmt: skip
    """Sample coordinates of the ``TILE`` rows from ``first_block`` on, block by block
    (``data``: :meth:`.samplers.Sampling.device_data`)."""
    blocks = first_block + jnp.arange(TILE_BLOCKS, dtype=jnp.int32)

    def one(block):
        key = jax.random.fold_in(base_key, block.astype(jnp.uint32))
        first = block.astype(jnp.uint32) * jnp.uint32(BLOCK)
        return sampling.draw(key, BLOCK, first, m or 0, dtype, data)

    return jax.vmap(one)(blocks).reshape(TILE, sampling.coords)


def _tile_words(sampling, arith, acts, params, base_key, first_block, data):
    """Packed pattern words (TILE, W) of the tile starting at ``first_block``."""
    c = tile_coordinates(sampling, base_key, first_block, arith.lattice_bits,
                         DTYPES[arith.precision], data)  # fmt: skip
    with jax.default_matmul_precision("highest"):
        return forward_words(params, acts, c)


def _valid_rows(first_block: jax.Array, bounds: jax.Array) -> jax.Array:
    """Weights (0/1) of the tile's rows this step must count, int32-safe.

    ``bounds = (n_full, tail, block_end)``: the global index must be < N (N = n_full * BLOCK
    + tail) and the block must lie before ``block_end`` (the end of this process's share).
    """
    n_full, tail, block_end = bounds[0], bounds[1], bounds[2]
    block = (first_block + jnp.arange(TILE_BLOCKS, dtype=jnp.int32))[:, None]
    rows = jnp.arange(BLOCK, dtype=jnp.int32)[None, :]
    ok = ((block < n_full) | ((block == n_full) & (rows < tail))) & (block < block_end)
    return ok.reshape(TILE).astype(jnp.int32)


_STEP_CACHE: dict = {}
_STEP_CACHE_SIZE = 16


def _cache_key(name, net, sampling: Sampling, arith: Arithmetic, *extra) -> tuple:
    shapes = tuple(tuple(np.shape(w)) for w, _ in arith.layers)
    devs, rest = None, []
    for e in extra:
        if isinstance(e, Mesh):
            devs = tuple(d.id for d in e.devices.flat)
        else:
            rest.append(e)
    # A normal law's draws follow JAX's threefry layout setting (lattice draws do not).
    layout = bool(jax.config.jax_threefry_partitionable)
    return (name, arith.activations, shapes, sampling.program, arith.precision,
            arith.lattice_bits, devs, layout, *rest)  # fmt: skip


def cached(builder):
    """Memoise a step builder: the compiled program depends on the architecture, the domain,
    the lattice, the float type, the key layout, the tiling and the devices, not on the
    parameter values (passed as arguments), so repeated counts reuse one compilation."""

    @functools.wraps(builder)
    def wrapper(net, sampling, arith, *args):
        key = _cache_key(builder.__name__, net, sampling, arith, *args)
        fn = _STEP_CACHE.get(key)
        if fn is None:
            if len(_STEP_CACHE) >= _STEP_CACHE_SIZE:
                _STEP_CACHE.pop(next(iter(_STEP_CACHE)))
            fn = _STEP_CACHE[key] = builder(net, sampling, arith, *args)
        return fn

    return wrapper


def _check_layout(blocks_per_device: int, dedupe: str) -> None:
    if blocks_per_device % TILE_BLOCKS:
        raise InvalidInput(f"blocks_per_device must be a multiple of {TILE_BLOCKS}")
    if dedupe not in DEDUPE_METHODS[1:]:
        raise InvalidInput(f"dedupe must be 'slots' or 'sort', got {dedupe!r}")


@cached
def build_step(
    net, sampling: Sampling, arith: Arithmetic, spec: KeySpec, blocks_per_device: int,
    mesh: Mesh, dedupe: str = "slots",
) -> Callable:  # fmt: skip
    """Compile one data-parallel step.

    The returned function takes ``(params, base_key, bounds, data)`` where ``params`` come
    from :func:`device_params`, ``data`` from :meth:`.samplers.Sampling.device_data` and
    ``bounds`` is :func:`step_bounds`' int32 array (n_full, tail,
    block_end, start): device d takes the blocks from ``start + d * blocks_per_device`` on
    (see :func:`_valid_rows` for the rest); call it inside :func:`x64_scope`. It returns
    ``(keys, counts, rows)``: (num_devices * blocks_per_device * BLOCK, words) uint32, int32
    and int32 arrays; rows with count 0 are padding, and ``rows`` holds each row's
    representative sample as a row index within its device's chunk. Tracing and calls must
    happen inside :func:`x64_scope` (float64 needs x64 on; float32 must see it off).
    """
    _check_layout(blocks_per_device, dedupe)
    acts = arith.activations
    tiles = blocks_per_device // TILE_BLOCKS

    def tile_keys(params, base_key, bounds, data, first_block):
        words = _tile_words(sampling, arith, acts, params, base_key, first_block, data)
        # Hashing inside the loop keeps the stacked loop output at 4 words a row instead of
        # all W pattern words (worth ~5% of a forward pass at 512 bits on CPU).
        return words_to_keys(spec, words), _valid_rows(first_block, bounds)

    def per_device(params, base_key, bounds, data):
        first = bounds[3] + lax.axis_index(AXIS).astype(jnp.int32) * blocks_per_device
        firsts = first + TILE_BLOCKS * jnp.arange(tiles, dtype=jnp.int32)
        tile = functools.partial(tile_keys, params, base_key, bounds, data)
        keys, weight = lax.map(tile, firsts)
        keys = keys.reshape(-1, spec.words)
        codes = group_codes(spec, keys)
        if dedupe == "slots":  # one table over the whole chunk (measured: best on CPU)
            keys, counts = slot_dedupe(keys, weight.reshape(-1), codes)
            return keys, counts, jnp.arange(keys.shape[0], dtype=jnp.int32)
        g = math.gcd(tiles, SORT_TILES)
        shape = (tiles // g, TILE * g)
        keys, counts, rows = lax.map(
            lambda a: sort_dedupe(*a),
            (keys.reshape(*shape, spec.words), weight.reshape(shape), codes.reshape(*shape, 2)),
        )
        rows = rows + (TILE * g) * jnp.arange(shape[0], dtype=jnp.int32)[:, None]
        return keys.reshape(-1, spec.words), counts.reshape(-1), rows.reshape(-1)

    rep, sharded = PartitionSpec(), PartitionSpec(AXIS)
    fn = jax.shard_map(per_device, mesh=mesh, in_specs=(rep, rep, rep, rep),
                       out_specs=(sharded, sharded, sharded), check_vma=False)  # fmt: skip
    return jax.jit(fn)


@cached
def build_tiles(net, sampling: Sampling, arith: Arithmetic, words: bool) -> Callable:
    """Compile ``(params, base_key, first_blocks, data) -> (coordinates, words)`` of whole tiles:
    (len, TILE, coords) in the device's float type and, when ``words``, the pattern words
    (len, TILE, W) computed exactly as in :func:`build_step` (else a placeholder). Call
    inside :func:`x64_scope`; used once per distinct pattern, to find its representative
    sample again (:mod:`.affine`)."""
    acts = arith.activations
    dtype = DTYPES[arith.precision]

    def one(params, base_key, data, first_block):
        c = tile_coordinates(sampling, base_key, first_block, arith.lattice_bits, dtype, data)
        if not words:
            return c, jnp.zeros((1, 1), jnp.uint32)
        return c, _tile_words(sampling, arith, acts, params, base_key, first_block, data)

    def fn(params, base_key, firsts, data):
        return lax.map(lambda b: one(params, base_key, data, b), firsts)

    return jax.jit(fn)


@cached
def build_rows(net, sampling: Sampling, arith: Arithmetic, words: bool) -> Callable:
    """Compile ``(params, base_key, blocks, rows, data) -> (coordinates, words, zeros)`` of single
    samples (block ``blocks[i]``, row ``rows[i]`` within it; int32): :func:`build_tiles`'
    values at those rows, drawn alone (:func:`.samplers.draw_rows`, where
    :func:`.samplers.rows_drawable`), so finding a pattern's representative again costs its
    own row, not its tile's 16,384; with ``words`` also whether a ReLU pre-activation was
    exactly 0 on the way (else placeholders). Call inside :func:`x64_scope`."""
    acts = arith.activations
    dtype = DTYPES[arith.precision]

    def fn(params, base_key, blocks, rows, data):
        blocks = blocks.astype(jnp.uint32)
        keys = jax.vmap(lambda b: jax.random.fold_in(base_key, b))(blocks)
        first = blocks * jnp.uint32(BLOCK)  # as the block draw has it (uint32)
        m = arith.lattice_bits or 0
        c = samplers.draw_rows(sampling, keys, rows, first, m, dtype, data)
        if not words:
            return c, jnp.zeros((1, 1), jnp.uint32), jnp.zeros(1, bool)
        with jax.default_matmul_precision("highest"):
            return c, *forward_words(params, acts, c, zeros=True)

    return jax.jit(fn)


@cached
def build_forward_step(net, sampling: Sampling, arith: Arithmetic, blocks_per_device: int,
                       mesh: Mesh):  # fmt: skip
    """Diagnostic for the benchmarks: the same sampling and tiles in float32, outputs only
    (summed per device); ``params`` are every layer's (W, b), first layer folded."""
    acts = arith.activations
    tiles = blocks_per_device // TILE_BLOCKS

    def tile(params, base_key, data, first_block):
        c = tile_coordinates(sampling, base_key, first_block, arith.lattice_bits, jnp.float32,
                             data)  # fmt: skip
        return jnp.sum(forward_outputs(params, acts, c))

    def per_device(params, base_key, start, data):
        first = start + lax.axis_index(AXIS).astype(jnp.int32) * blocks_per_device
        firsts = first + TILE_BLOCKS * jnp.arange(tiles, dtype=jnp.int32)
        sums = lax.map(functools.partial(tile, params, base_key, data), firsts)
        return jnp.sum(sums).reshape(1)

    rep, sharded = PartitionSpec(), PartitionSpec(AXIS)
    fn = jax.shard_map(per_device, mesh=mesh, in_specs=(rep, rep, rep, rep),
                       out_specs=sharded, check_vma=False)  # fmt: skip
    return jax.jit(fn)


def step_bounds(n: int, block_end: int, start: int) -> np.ndarray:
    """The int32 ``bounds`` of a step: (N // BLOCK, N % BLOCK, block_end, start)."""
    if max(block_end, start) >= 2**31:
        raise InvalidInput("too many samples: block indices must stay below 2^31")
    return np.array([n // BLOCK, n % BLOCK, block_end, start], dtype=np.int32)


def sample_coordinates(sampling: Sampling, seed: int, n: int, m: int | None) -> np.ndarray:
    """The coordinates (float64) of the first ``n`` samples the engine draws for ``seed``:
    lattice cell centres in the unit cube, normal draws or points (for checks and debugging);
    ``x = offset + c @ scale``."""
    base_key = seed_key(seed)
    with x64_scope("float64"):
        data = sampling.device_data(jnp.float64)
        draw = jax.jit(lambda b, d: tile_coordinates(sampling, base_key, b, m, jnp.float64, d))
        tiles = [np.asarray(draw(jnp.int32(b), data))
                 for b in range(0, -(-n // BLOCK), TILE_BLOCKS)]  # fmt: skip
    c = np.concatenate(tiles, axis=0)[:n]
    return c * 2.0 ** -(m + 1) if m is not None else c


def params_digest(arith: Arithmetic) -> str:
    """A short digest of the compute network's parameters (for resume identities)."""
    h = hashlib.sha256()
    for w, b in arith.layers:
        h.update(np.ascontiguousarray(w, "<f8").tobytes())
        h.update(np.ascontiguousarray(b, "<f8").tobytes())
    return h.hexdigest()[:16]
