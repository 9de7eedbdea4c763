"""The compiled hot loop: sample, forward, pack, key, sort and deduplicate, on device.

Randomness and compute are organised in canonical blocks of ``BLOCK`` rows. Block b is
drawn from ``fold_in(key(seed), b)`` and pushed through the network as one tile of fixed
shape, so sample i (block i // BLOCK, row i % BLOCK) and its pattern depend only on
(net, domain, seed, i): not on the chunk size, the device count or the host count.

One *step* runs data-parallel over a 1-D device mesh with ``jax.shard_map``: each device
takes ``blocks_per_device`` consecutive blocks (a ``lax.map`` over tiles keeps intermediates
small, and turns each tile's patterns into keys), and groups equal keys into
(key, count) rows in fixed-size arrays: on CPU through a scratch hash table over the whole
chunk (:func:`slot_dedupe`, linear work), on accelerators by one single-operand sort per
group of ``SORT_BLOCKS`` tiles (:func:`sort_dedupe`). Rows past N get weight 0. Only those
pairs cross to the host, whose merge makes the counts exact whichever grouping ran.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from ..errors import InvalidInput
from .keys import KeySpec, forward_outputs, forward_words, multiply_shift, words_to_keys
from .samplers import Sampling, sampler_needs_index

BLOCK = 4096  # canonical rows per random block and per compute tile
AXIS = "devices"
# Blocks sorted and deduplicated together: 4 (16384 rows) sends fewer rows to the host than
# 1 at little extra sort cost; a whole 16-block chunk sorts slower (measured on CPU).
SORT_BLOCKS = 4


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


def _block_inputs(domain: Sampling, base_key: jax.Array, block: jax.Array) -> jax.Array:
    key = jax.random.fold_in(base_key, block.astype(jnp.uint32))
    if sampler_needs_index(domain.sample):
        first = block.astype(jnp.uint32) * jnp.uint32(BLOCK)
        return domain.sample(key, BLOCK, first)
    return domain.sample(key, BLOCK)


def _valid_rows(block: jax.Array, bounds: jax.Array) -> jax.Array:
    """Rows of ``block`` this step must count, int32-safe.

    ``bounds = (n_full, tail, block_end)``: the global index must be < N (N = n_full * BLOCK
    + tail) and the block must lie before ``block_end`` (the end of this process's share).
    """
    n_full, tail, block_end = bounds[0], bounds[1], bounds[2]
    rows = jnp.arange(BLOCK, dtype=jnp.int32)
    in_n = (block < n_full) | ((block == n_full) & (rows < tail))
    return in_n & (block < block_end)


def group_codes(spec: KeySpec, keys: jax.Array) -> jax.Array:
    """Two well-mixed uint32 words per row (n, 2) such that equal keys get equal codes.

    Used only to bring equal keys together (sort order, hash slots): for hashed keys the
    digest's first two words, for exact keys a two-lane :func:`multiply_shift` of the key.
    """
    return keys[:, :2] if spec.hashed else multiply_shift(keys, lanes=2)


def sort_dedupe(
    keys: jax.Array, weight: jax.Array, codes: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """Group equal keys by sorting and reduce them to (key, summed weight).

    A single-operand sort of uint64 values ``code << b | row`` (b = bits of the row index)
    is several times faster on CPU than a multi-operand lexicographic sort. Rows with equal
    keys have equal codes, so they end up adjacent; two *different* keys that share the
    code's top 64 - b bits (probability ~ 2^-(64-b) per pair) may interleave, leaving a key
    split over two output rows, which the host merge adds up: the result is exact either
    way. Rows with weight 0 sort last and come out with count 0 (the caller drops them).
    Output rows with count 0 are padding.
    """
    n, w = keys.shape
    b = max(1, (n - 1).bit_length())
    with jax.enable_x64(True):
        hi = codes[:, 0].astype(jnp.uint64) << 32 | codes[:, 1].astype(jnp.uint64)
        hi = jnp.where(weight > 0, hi, jnp.uint64(2**64 - 1))
        packed = (hi & ~jnp.uint64((1 << b) - 1)) | jnp.arange(n, dtype=jnp.uint64)
        order = (lax.sort(packed) & jnp.uint64((1 << b) - 1)).astype(jnp.int32)
    del packed
    skeys = keys[order]
    sweight = weight[order]
    diff = jnp.any(skeys[1:] != skeys[:-1], axis=1)
    first = jnp.concatenate([jnp.ones((1,), dtype=bool), diff])
    seg = jnp.cumsum(first.astype(jnp.int32)) - 1
    counts = jnp.zeros((n,), jnp.int32).at[seg].add(sweight)
    uniq = jnp.zeros((n, w), jnp.uint32).at[seg].set(skeys)
    return uniq, counts


def slot_dedupe(
    keys: jax.Array, weight: jax.Array, codes: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """Group equal keys through a scratch hash table and reduce them to (key, summed weight).

    In round r (one per code word), every row not yet grouped scatters its row index into a
    table of >= 2n slots at the top bits of its code word r (:func:`group_codes`; scatter-min,
    so the first row of each slot wins) and joins that row's group when the two *full* keys are
    equal. A row whose slot a different key holds in every round stays a group of its own (4
    extra rows in 215,668 on the all-ReLU benchmark network); the host merge adds such repeats
    up, so the counts are exact whatever the hash does. Keys keep their row order; a row's count
    is its group's total weight when it represents a group and 0 otherwise (rows with weight 0
    included), so rows with count 0 are padding. Linear work and no sort: on CPU, where XLA's
    sort is a comparison sort and its scatters are plain loops, it measured ~3.5x cheaper than
    :func:`sort_dedupe`.
    """
    n = keys.shape[0]
    bits = max(1, (2 * n - 1).bit_length())  # 2^bits >= 2n slots
    if bits > 30:
        raise InvalidInput(f"slot_dedupe takes at most 2^29 rows at once, got {n}")
    rows = jnp.arange(n, dtype=jnp.int32)
    target = rows
    pending = weight > 0
    for r in range(codes.shape[1]):
        slot = (codes[:, r] >> np.uint32(32 - bits)).astype(jnp.int32)
        slot = jnp.where(pending, slot, 1 << bits)  # out of range: dropped
        table = jnp.full((1 << bits,), n, jnp.int32).at[slot].min(rows, mode="drop")
        rep = table.at[slot].get(mode="fill", fill_value=0)
        joined = pending & jnp.all(keys[rep] == keys, axis=1)
        target = jnp.where(joined, rep, target)
        pending = pending & ~joined
    counts = jnp.zeros((n,), jnp.int32).at[target].add(weight)
    return keys, counts


DEDUPE_METHODS = ("auto", "slots", "sort")


def dedupe_method(method: str, platform: str) -> str:
    """Resolve ``"auto"``: hash slots on CPU (measured faster there), sort on accelerators,
    where sorting is a tuned primitive and scatters with many equal indices contend (not
    measured: no accelerator was available when this was written)."""
    if method not in DEDUPE_METHODS:
        raise InvalidInput(f"dedupe must be one of {DEDUPE_METHODS}, got {method!r}")
    if method == "auto":
        return "slots" if platform == "cpu" else "sort"
    return method


_STEP_CACHE: dict = {}
_STEP_CACHE_SIZE = 16


def _cache_key(net, domain: Sampling, *extra) -> tuple:
    shapes = tuple(tuple(np.shape(w)) for w in net.weights)
    devs = None
    for e in extra:
        if isinstance(e, Mesh):
            devs = tuple(d.id for d in e.devices.flat)
    rest = tuple(e for e in extra if not isinstance(e, Mesh))
    desc = json.dumps(domain.description, sort_keys=True)
    return (net.activations, shapes, desc, devs, *rest)


def cached(builder):
    """Memoise a step builder: the compiled program depends on the architecture, the domain,
    the key layout, the tiling and the devices, not on the parameter values (passed as
    arguments), so repeated counts reuse one compilation."""

    @functools.wraps(builder)
    def wrapper(net, domain, *args):
        key = (builder.__name__, *_cache_key(net, domain, *args))
        fn = _STEP_CACHE.get(key)
        if fn is None:
            if len(_STEP_CACHE) >= _STEP_CACHE_SIZE:
                _STEP_CACHE.pop(next(iter(_STEP_CACHE)))
            fn = _STEP_CACHE[key] = builder(net, domain, *args)
        return fn

    return wrapper


@cached
def build_step(
    net,
    domain: Sampling,
    spec: KeySpec,
    blocks_per_device: int,
    mesh: Mesh,
    precision: str = "float32",
    fingerprint: str = "",
    dedupe: str = "slots",
) -> Callable:
    """Compile one data-parallel step.

    The returned function takes ``(params, base_key, first_blocks, bounds)`` where
    ``first_blocks`` is an int32 array (num_devices,) of each device's first block and
    ``bounds`` the int32 triple (n_full, tail, block_end) of :func:`_valid_rows`; it
    returns ``(keys, counts)``: (num_devices * blocks_per_device * BLOCK, words) uint32 and
    int32 arrays, deduplicated per tile (rows with count 0 are padding).

    ``precision="float64"`` evaluates the network in float64 (JAX's x64 mode switched on
    only while tracing this program) with the parameters baked in as float64 constants
    (``fingerprint`` then keys the compilation cache); ``params`` is ignored.

    ``dedupe``: "slots" (:func:`slot_dedupe` over the whole chunk) or "sort"
    (:func:`sort_dedupe` per group of ``SORT_BLOCKS`` tiles); see :func:`dedupe_method`.
    """
    if dedupe not in DEDUPE_METHODS[1:]:
        raise InvalidInput(f"dedupe must be 'slots' or 'sort', got {dedupe!r}")
    acts = net.activations
    f64 = precision == "float64"
    if precision not in ("float32", "float64"):
        raise InvalidInput(f"precision must be 'float32' or 'float64', got {precision!r}")
    consts = [(np.asarray(w), np.asarray(b)) for w, b in zip(net.weights, net.biases)]

    def tile_keys(params, base_key, bounds, block):
        x = _block_inputs(domain, base_key, block)
        weight = _valid_rows(block, bounds).astype(jnp.int32)
        if f64:
            # Samples are float32 values, exact in float64; only the forward pass widens.
            with jax.enable_x64(True):
                p64 = tuple((jnp.asarray(w), jnp.asarray(b)) for w, b in consts)
                words = forward_words(p64, acts, x.astype(jnp.float64))
        else:
            words = forward_words(params, acts, x)
        # Hashing inside the loop keeps the stacked loop output at 4 words a row instead of
        # all W pattern words (worth ~5% of a forward pass at 512 bits on CPU).
        return words_to_keys(spec, words), weight

    def per_device(params, base_key, first_block, bounds):
        blocks = first_block[0] + jnp.arange(blocks_per_device, dtype=jnp.int32)
        keys, weight = lax.map(functools.partial(tile_keys, params, base_key, bounds), blocks)
        keys = keys.reshape(-1, spec.words)
        codes = group_codes(spec, keys)
        if dedupe == "slots":  # one table over the whole chunk (measured: best on CPU)
            return slot_dedupe(keys, weight.reshape(-1), codes)
        g = math.gcd(blocks_per_device, SORT_BLOCKS)
        shape = (blocks_per_device // g, BLOCK * g)
        keys, counts = lax.map(
            lambda a: sort_dedupe(*a),
            (keys.reshape(*shape, spec.words), weight.reshape(shape), codes.reshape(*shape, 2)),
        )
        return keys.reshape(-1, spec.words), counts.reshape(-1)

    rep = PartitionSpec()
    sharded = PartitionSpec(AXIS)
    fn = jax.shard_map(
        per_device,
        mesh=mesh,
        in_specs=(rep, rep, sharded, rep),
        out_specs=(sharded, sharded),
        check_vma=False,
    )
    return jax.jit(fn)


@cached
def build_forward_step(net, domain: Sampling, blocks_per_device: int, mesh: Mesh):
    """The forward-only baseline: same sampling and tiling, outputs only (summed per device)."""
    acts = net.activations

    def tile(params, base_key, block):
        x = _block_inputs(domain, base_key, block)
        return jnp.sum(forward_outputs(params, acts, x))

    def per_device(params, base_key, first_block):
        blocks = first_block[0] + jnp.arange(blocks_per_device, dtype=jnp.int32)
        sums = lax.map(functools.partial(tile, params, base_key), blocks)
        return jnp.sum(sums).reshape(1)

    rep, sharded = PartitionSpec(), PartitionSpec(AXIS)
    fn = jax.shard_map(
        per_device,
        mesh=mesh,
        in_specs=(rep, rep, sharded),
        out_specs=sharded,
        check_vma=False,
    )
    return jax.jit(fn)


def first_blocks_array(mesh: Mesh, start_block: int, blocks_per_device: int) -> jax.Array:
    """Each device's first block for a step starting at ``start_block``, placed on the mesh."""
    d = mesh.devices.size
    firsts = start_block + blocks_per_device * np.arange(d, dtype=np.int64)
    if firsts[-1] + blocks_per_device >= 2**31:
        raise InvalidInput("too many samples: block indices must stay below 2^31")
    return jax.device_put(firsts.astype(np.int32), NamedSharding(mesh, PartitionSpec(AXIS)))


def sample_inputs(domain: Sampling, seed: int, n: int) -> np.ndarray:
    """The first ``n`` inputs the engine draws for ``seed`` (for checks and debugging)."""
    base_key = seed_key(seed)
    nb = -(-n // BLOCK)
    draw = jax.jit(functools.partial(_block_inputs, domain))
    xs = [np.asarray(draw(base_key, jnp.int32(b))) for b in range(nb)]
    return np.concatenate(xs, axis=0)[:n]
