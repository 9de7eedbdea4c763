"""Single samples drawn again by their counters: the same numbers as the block draws.

The engine draws lattice samples a block at a time (``jax.random.bits`` of a (4096, k)
array per block key); the once-per-pattern check draws each representative's row alone
(:func:`tern_jax.sampling.samplers.draw_rows`, our own threefry on the row's counters).
Every test here compares the two against each other or against JAX's own draw.
"""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tern_jax as tj
from tern_jax.sampling import device as dev
from tern_jax.sampling import lattice, samplers, walks
from tern_jax.sampling.keys import forward_words


@pytest.mark.parametrize(("n", "k"), [(4096, 1), (4096, 2), (7, 3), (4096, 5), (64, 784)])
def test_counter_bits_are_jax_random_bits(n, k):
    key = jax.random.fold_in(jax.random.key(12), 345)
    draw = samplers._lattice_draw(k)
    ours = draw(key, n, jnp.uint32(0), 20, jnp.float32)
    jaxs = samplers.lattice_coordinates(jax.random.bits(key, (n, k), jnp.uint32), 20, jnp.float32)
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(jaxs))
    b1, b2 = samplers.threefry2x32(jnp.uint32(1), jnp.uint32(2), jnp.uint32(3), jnp.uint32(4))
    # Threefry-2x32 (20 rounds) known-answer: JAX's primitive on the same words.
    from jax.extend.random import threefry2x32_p

    r1, r2 = threefry2x32_p.bind(*(jnp.full(1, v, jnp.uint32) for v in (1, 2, 3, 4)))
    assert (int(b1), int(b2)) == (int(r1[0]), int(r2[0]))


DOMAINS = [
    (tj.Box([-1.0, 0.0, 2.0], [1.0, 0.5, 3.0]), 3),
    (
        tj.Plane(
            origin=[0.0, 0.0, 0.0],
            u=[1.0, 0.0, 1.0],
            v=[0.0, 1.0, 0.0],
            bounds=(-1.0, 1.0, -2.0, 2.0),
        ),
        3,
    ),
    (tj.Segment([0.0, 1.0], [2.0, -1.0]), 2),
    (tj.Box(-1.0, 1.0), 40),
    (tj.Points(np.random.default_rng(0).normal(size=(50, 5))), 5),  # sample i: point i mod 50
]


@pytest.mark.parametrize(("domain", "dim"), DOMAINS)
@pytest.mark.parametrize("precision", ["float32", "float64"])
def test_rows_drawn_alone_equal_their_tiles(domain, dim, precision):
    rng = np.random.default_rng(dim)
    dims = [dim, 16, 16, 1]
    ws = [rng.integers(-1, 2, (a, b)) / 4 for a, b in itertools.pairwise(dims)]
    bs = [rng.integers(-1, 2, b) / 4 for b in dims[1:]]
    net = tj.ReLUNet.from_arrays(ws, bs, ["relu", "relu", "identity"])
    sampling = samplers.resolve(domain, dim)
    arith = lattice.plan(net, sampling, precision)
    assert samplers.rows_drawable(sampling, dev.BLOCK)
    tiles = dev.build_tiles(net, sampling, arith, True)
    rows = dev.build_rows(net, sampling, arith, True)
    with dev.x64_scope(arith.precision):
        params, key = dev.device_params(arith), dev.seed_key(2**40 + 7)
        firsts = np.zeros(dev.TILES_BATCH, np.int32)
        firsts[:3] = np.array([0, 5, 31]) * dev.TILE_BLOCKS
        data = sampling.device_data(dev.DTYPES[arith.precision])
        coords, words = (np.asarray(a) for a in tiles(params, key, jnp.asarray(firsts), data))
        t = rng.integers(0, 3, 200)
        r = rng.integers(0, dev.TILE, 200)
        index = firsts[t].astype(np.int64) * dev.BLOCK + r
        blocks, at = (jnp.asarray(a.astype(np.int32)) for a in np.divmod(index, dev.BLOCK))
        c, w, zero = (np.asarray(a) for a in rows(params, key, blocks, at, data))
    np.testing.assert_array_equal(c, coords[t, r])
    np.testing.assert_array_equal(w, words[t, r])
    assert zero.shape == (200,) and zero.dtype == bool


def test_zero_flags_are_the_walks():
    # Integer inputs make pre-activations exactly 0 often (faces, and units identically 0 on
    # a region): the forward pass's flags must be the walk's zero check under its masks.
    rng = np.random.default_rng(3)
    dims = [3, 12, 12, 12, 1]
    ws = [rng.integers(-1, 2, (a, b)).astype(float) for a, b in itertools.pairwise(dims)]
    bs = [rng.integers(-1, 2, b).astype(float) for b in dims[1:]]
    acts = ("relu", "relu", "relu", "identity")
    x = rng.integers(-3, 4, (2000, 3)).astype(float)
    with jax.enable_x64(True):
        params = tuple((jnp.asarray(w), jnp.asarray(b)) for w, b in zip(ws, bs))
        words, zero = forward_words(params, acts, jnp.asarray(x), zeros=True)
        bits = walks.unpack_bits(np.asarray(words), 36)
        want = walks.zero_rows(list(zip(ws, bs)), acts, x, bits, xp=np)
        alone = forward_words(params, acts, jnp.asarray(x))
    np.testing.assert_array_equal(np.asarray(zero), want)
    assert 100 < int(np.count_nonzero(want)) < 2000
    np.testing.assert_array_equal(np.asarray(words), np.asarray(alone))


NETS = {
    # exact path, encoded walk (integer network, three inputs)
    "integer": (lambda: tj.random_network(3, [16, 16], weights="ternary", seed=4), {}),
    # exact path, reverse walk (too many inputs to encode), faces decided on the host
    "integer12": (lambda: tj.random_network(12, [16, 16], weights="ternary", seed=4), {}),
    # general walk, maps as keys, the run's own zero flags (float64, 40 inputs)
    "wide": (lambda: tj.random_network(40, [16, 16], weights="gaussian", seed=4), {}),
    # general walk in float32, reverse mode, maps kept as rows
    "float32": (
        lambda: tj.random_network(2, [24, 24], weights="gaussian", seed=4),
        {"precision": "float32"},
    ),
}


DATA = np.random.default_rng(7).uniform(-1, 1, size=(3000, 12))


@pytest.mark.parametrize("name", [*sorted(NETS), "points"])
def test_representatives_drawn_alone_give_the_tiles_record(name, monkeypatch):
    make, kw = NETS["integer12" if name == "points" else name]
    net = make()
    dom = tj.Points(DATA) if name == "points" else tj.Box(-1.0, 1.0)
    alone = tj.count_regions(net, dom, 1 << 15, seed=3, **kw)
    monkeypatch.setattr(samplers, "rows_drawable", lambda *a: False)
    tiled = tj.count_regions(net, dom, 1 << 15, seed=3, **kw)
    assert alone.execution["affine_recomputed_tiles"] == 0
    assert tiled.execution["affine_recomputed_tiles"] >= 1
    assert alone.affine["unverified"] == 0 and alone.distinct > 10
    assert alone.figures() == tiled.figures()


def test_points_in_balls_are_drawn_again_by_tiles():
    net = tj.random_network(12, [16, 16], weights="ternary", seed=4)
    dom = tj.Points(DATA, radius=0.01)
    assert not samplers.rows_drawable(samplers.resolve(dom, 12), dev.BLOCK)
    rec = tj.count_regions(net, dom, 1 << 14, seed=0)
    assert rec.execution["affine_recomputed_tiles"] >= 1 and rec.affine["unverified"] == 0


def test_lattice_draws_do_not_depend_on_jax_threefry_layout():
    # JAX's other threefry layout splits the counters differently; the lattice law keeps its
    # own (the default layout's) numbers, so records and single-row draws stay the same.
    net = tj.random_network(3, [12, 12], weights="gaussian", seed=2)
    key = jax.random.key(9)
    draw = samplers._lattice_draw(3)
    before = np.asarray(draw(key, 64, jnp.uint32(0), 23, jnp.float32))
    rec = tj.count_regions(net, tj.Box(-1.0, 1.0), 1 << 14, seed=0)
    with jax.threefry_partitionable(False):
        other = samplers.lattice_coordinates(jax.random.bits(key, (64, 3), jnp.uint32), 23,
                                             jnp.float32)  # fmt: skip
        assert not np.array_equal(np.asarray(other), before)  # JAX's numbers do change
        np.testing.assert_array_equal(np.asarray(draw(key, 64, jnp.uint32(0), 23, jnp.float32)),
                                      before)  # fmt: skip
        again = tj.count_regions(net, tj.Box(-1.0, 1.0), 1 << 14, seed=0)
    assert again.execution["affine_recomputed_tiles"] == 0 and again.affine["unverified"] == 0
    assert again.figures() == rec.figures() and rec.distinct > 10


def test_data_points_are_an_argument_not_a_constant(monkeypatch):
    # Two data sets of one shape: one compiled program serves both, and each count is the
    # number of distinct patterns of its own points (numpy's forward pass, N = M, radius 0).
    from tern_jax.forward import pattern_bits

    monkeypatch.setattr(dev, "_STEP_CACHE", {})
    net = tj.random_network(6, [10, 10], weights="ternary", seed=1)
    rng = np.random.default_rng(11)
    counts = []
    for _ in range(2):
        data = rng.integers(-2, 3, size=(5000, 6)).astype(float)
        params = list(zip(net.weights, net.biases))
        truth = np.unique(pattern_bits(params, net.activations, data), axis=0).shape[0]
        rec = tj.count_regions(net, tj.Points(data), 5000, seed=0)
        assert rec.distinct == truth
        counts.append(len(dev._STEP_CACHE))
    assert counts[1] == counts[0] >= 2  # the step and the check's row draw, built once


@pytest.mark.parametrize("tiles", [False, True])
def test_the_check_in_small_chunks_gives_the_same_record(tiles, monkeypatch):
    # Chunks of 1,024 representatives (memory bound) instead of one: the same record, and no
    # chunk beyond twice the bound (the tile path joins gathers up to it).
    from tern_jax.sampling import affine

    net = tj.random_network(12, [16, 16], weights="ternary", seed=4)
    whole = tj.count_regions(net, tj.Box(-1.0, 1.0), 1 << 15, seed=3)
    assert whole.distinct > 4 * 1024 and whole.affine["face_patterns"] > 0
    monkeypatch.setattr(affine, "CHUNK_BYTES", 1)
    if tiles:
        monkeypatch.setattr(samplers, "rows_drawable", lambda *a: False)
    sizes, inner = [], affine._representatives

    def spy(*a, **k):
        for part in inner(*a, **k):
            sizes.append(part[0].size)
            yield part

    monkeypatch.setattr(affine, "_representatives", spy)
    small = tj.count_regions(net, tj.Box(-1.0, 1.0), 1 << 15, seed=3)
    assert len(sizes) > 4 and max(sizes) <= 2 * 1024 and sum(sizes) == whole.affine["patterns"]
    assert small.figures() == whole.figures()


def test_maps_kept_between_passes_or_walked_again_give_one_record(monkeypatch):
    # Off the exact path wide maps take two passes (column scales, then keys): the maps of
    # the first pass kept for the second, some of them, or none (walked again) agree.
    net = NETS["wide"][0]()
    records = []
    for keep in (None, 600_000, 0):  # all batches, the first (4,096 x 17 x 8 bytes), none
        if keep is not None:
            monkeypatch.setattr(walks, "KEEP_BYTES", keep)
        records.append(tj.count_regions(net, tj.Box(-1.0, 1.0), 1 << 15, seed=5))
    assert records[0].affine["maps_compared"].startswith("hash:")
    assert records[0].distinct > 4096  # two batches of the walk
    assert records[0].figures() == records[1].figures() == records[2].figures()
