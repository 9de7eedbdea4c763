"""Sampling engine: counts against exact integers, a numpy reference, determinism, errors."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
from reference import random_net

import tern_jax as tj
from tern_jax import constructions as C
from tern_jax.sampling import device as dev
from tern_jax.sampling import group, samplers
from tern_jax.sampling.keys import key_spec
from tern_jax.sampling.table import PatternTable

# -- exact integers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n0", "ps", "expected"),
    [
        (1, [2], 2),
        (1, [3], 3),
        (1, [2, 2], 4),
        (1, [4, 4], 16),
        (2, [2], 4),
        (2, [3], 9),
        (2, [2, 2], 16),
    ],
)
def test_alternating_construction_unit_cube_counts(n0, ps, expected):
    # math.md section 4: linear regions of 3.2 in the open unit cube. Sampling counts
    # activation regions; for these constructions the two coincide on the cube.
    con = C.ternary_alternating(n0, ps)
    assert con.regions_unit_cube == expected
    rec = tj.count_regions(con.net, tj.Box(0.0, 1.0), 1 << 16, seed=3, chunk_size=1 << 14)
    assert rec.distinct == expected
    assert rec.distinct == con.activation_regions_unit_cube
    assert rec.key_kind == "exact-bits" and rec.collision_probability == 0.0
    assert sum(k * f for k, f in rec.freq_of_freq.items()) == rec.n_samples


def test_dense_sampling_of_ternary_net_stays_exact():
    # 2^22 samples land close to the zigzags' zeros, where rounded float32 sums cancel to 0
    # and used to invent patterns; the proven-exact integer lattice path cannot.
    con = C.ternary_alternating(2, [4, 4])
    rec = tj.count_regions(con.net, tj.Box(0.0, 1.0), 1 << 22, seed=0)
    assert rec.precision == "float32" and rec.arithmetic["exact"]
    assert rec.distinct == 256 == con.regions_unit_cube


def test_other_constructions_never_exceed_exact_activation_count():
    for con in (
        C.ternary_all_relu(1, [4, 4], form="generic"),
        C.ternary_all_relu(2, [2], form="cube"),
        C.ternary_real_bias(1, [3, 3], 3),
        C.montufar(1, [4, 4]),
    ):
        exact = con.activation_regions_unit_cube
        assert exact is not None
        rec = tj.count_regions(con.net, tj.Box(0.0, 1.0), 1 << 16, seed=0)
        assert rec.distinct == exact, con.name


def test_one_hidden_layer_reaches_zaslavsky_count():
    # n random lines in general position: 1 + n + C(n, 2) regions of R^2 (Zaslavsky), and
    # every region touches a vertex, so a box holding every vertex meets all of them.
    rng = np.random.default_rng(7)
    n = 5
    w, b = rng.normal(size=(2, n)), rng.normal(size=n)
    net = tj.ReLUNet.from_arrays([w, np.ones((n, 1))], [b, np.zeros(1)], ["relu", "identity"])
    verts = [
        np.linalg.solve(np.stack([w[:, i], w[:, j]]), -np.array([b[i], b[j]]))
        for i, j in itertools.combinations(range(n), 2)
    ]
    verts = np.array(verts)
    lo, hi = verts.min(0) - 1.0, verts.max(0) + 1.0
    total = 1 + n + math.comb(n, 2)
    rec = tj.count_regions(net, tj.Box(lo, hi), 1 << 20, seed=1)
    assert rec.distinct <= total
    assert rec.distinct == total


# -- a second implementation ----------------------------------------------------------------


def _numpy_reference(net, x):
    """Distinct patterns and f_k computed in float64 numpy with np.unique (independent path)."""
    h = x.astype(np.float64)
    bits = []
    for w, b, act in zip(net.weights[:-1], net.biases[:-1], net.activations[:-1]):
        z = h @ w + b
        if act == "relu":
            bits.append(z > 0)
            h = np.maximum(z, 0)
        else:
            h = z
    pats = np.concatenate(bits, axis=1)
    _, counts = np.unique(pats, axis=0, return_counts=True)
    ks, fs = np.unique(counts, return_counts=True)
    return len(counts), {int(k): int(f) for k, f in zip(ks, fs)}


@pytest.mark.parametrize(
    ("dims", "acts", "kind"),
    [
        ([3, 8, 8, 1], ["relu", "relu"], "exact-bits"),  # 16 bits, one word
        ([3, 40, 40, 1], ["relu", "relu"], "exact-bits"),  # 80 bits, three words
        ([3, 96, 96, 96, 1], ["relu", "identity", "relu"], "hash:multiply_shift_4x32"),  # 192
    ],
)
def test_matches_numpy_reference_on_integer_points(dims, acts, kind):
    # Integer inputs and ternary parameters make every pre-activation an exact integer in
    # float32 and float64 alike (ties at 0 included), so the two paths must agree exactly.
    rng = np.random.default_rng(sum(dims))
    net = random_net(rng, dims, acts, ternary=True)
    pts = rng.integers(-3, 4, size=(3000, dims[0])).astype(float)
    n = 10_007  # not a multiple of the block: exercises the tail mask
    rec = tj.count_regions(net, tj.Points(pts), n, seed=5, chunk_size=4096)
    x = pts[np.arange(n) % len(pts)]
    distinct, fof = _numpy_reference(net, x)
    assert rec.key_kind == kind
    assert rec.distinct == distinct
    assert rec.freq_of_freq == fof


def test_box_samples_match_numpy_reference():
    rng = np.random.default_rng(11)
    net = random_net(rng, [2, 6, 6, 1], ["relu", "relu"])
    dom = tj.Box([-2.0, -1.0], [2.0, 3.0])
    n = 9000
    rec = tj.count_regions(net, dom, n, seed=2, chunk_size=8192)
    sampling = samplers.resolve(dom, 2)
    c = dev.sample_coordinates(sampling, 2, n, rec.arithmetic["lattice_bits"])
    x = np.array([-2.0, -1.0]) + c * np.array([4.0, 4.0])
    assert x.shape == (n, 2)
    assert np.all((x >= [-2, -1]) & (x <= [2, 3]))
    distinct, fof = _numpy_reference(net, x)
    assert rec.distinct == distinct
    assert rec.freq_of_freq == fof


def _multiply_shift_reference(row: list[int], lanes: int = 4) -> tuple[int, ...]:
    """Python-integer transcription of the key hash, coefficients from splitmix64 by hand."""
    m = (1 << 64) - 1
    state, stream = 0x7E51A5C0DE, []
    for _ in range(4 * (len(row) + 1)):  # splitmix64 (Steele, Lea, Flood 2014)
        state = (state + 0x9E3779B97F4A7C15) & m
        z = ((state ^ (state >> 30)) * 0xBF58476D1CE4E5B9) & m
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & m
        stream.append(z ^ (z >> 31))
    b, a = stream[:4], [stream[4 * (i + 1) : 4 * (i + 2)] for i in range(len(row))]
    return tuple(
        ((b[j] + sum(a[i][j] * x for i, x in enumerate(row))) % 2**64) >> 32 for j in range(lanes)
    )


@pytest.mark.parametrize("width", [1, 5, 16, 200])  # 200: beyond WIDE_WORDS (one dot)
def test_multiply_shift_matches_python_integers(width):
    from tern_jax.sampling.keys import multiply_shift

    rng = np.random.default_rng(width)
    words = rng.integers(0, 2**32, size=(6, width), dtype=np.uint64).astype(np.uint32)
    words[0] = 0xFFFFFFFF  # carries through every 64-bit product and sum
    for lanes in (4, 2):
        got = np.asarray(multiply_shift(words, lanes=lanes))
        assert got.shape == (6, lanes) and got.dtype == np.uint32
        np.testing.assert_array_equal(multiply_shift(words, lanes=lanes, xp=np), got)
        for row, h in zip(words, got):
            assert tuple(int(v) for v in h) == _multiply_shift_reference(row.tolist(), lanes)


def test_multiply_shift_lanes_collide_at_the_universal_rate():
    # Strong universality: a fixed pair of inputs shares a lane with probability 2^-32 over
    # the coefficients, so among 2^16 structured inputs (counters in the first and last
    # word) one 32-bit lane should show about C(2^16, 2) / 2^32 = 0.5 colliding pairs.
    from tern_jax.sampling.keys import multiply_shift

    n = 1 << 16
    words = np.zeros((n, 16), np.uint32)  # n distinct, highly structured inputs
    words[:, 0] = np.arange(n)
    words[:, 15] = np.arange(n) << 16
    lane0 = np.asarray(multiply_shift(words))[:, 0]
    collisions = n - len(np.unique(lane0))
    assert collisions <= 5


def test_pack_bits_layout():
    from tern_jax.sampling.keys import pack_bits

    bits = np.random.default_rng(0).random((5, 70)) > 0.5
    words = np.asarray(pack_bits(bits))
    assert words.shape == (5, 3) and words.dtype == np.uint32
    ref = np.zeros((5, 3), np.uint64)
    for i in range(70):  # bit i -> word i mod W, position i // W
        ref[:, i % 3] |= bits[:, i].astype(np.uint64) << np.uint64(i // 3)
    assert np.array_equal(words, ref)


@pytest.mark.parametrize(
    "widths, acts",
    [
        ((5, 37, 3, 64), ("relu", "relu", "identity", "relu")),  # words not layer-aligned
        ((64, 64, 64), ("identity", "relu", "relu")),
        ((4, 4), ("identity", "identity")),  # no ReLU bits
        ((200,), ("relu",)),  # hashed width
    ],
)
def test_forward_words_match_pack_bits_layout(widths, acts):
    import jax.numpy as jnp

    from tern_jax.sampling.keys import forward_bits, forward_words

    rng = np.random.default_rng(1)
    dims = (3, *widths, 2)
    params = tuple(
        (
            jnp.asarray(rng.integers(-1, 2, (a, b)), jnp.float32),
            jnp.asarray(rng.integers(-1, 2, b), jnp.float32),
        )
        for a, b in itertools.pairwise(dims)
    )
    # Integer inputs: every sum is exact whatever its order (forward_words sums a 3-input
    # first layer input by input, the walk with a matmul).
    x = jnp.asarray(rng.integers(-2, 3, (50, 3)), jnp.float32)
    full = (*acts, "identity")
    bits = np.asarray(forward_bits(params, full, x))
    words = np.asarray(forward_words(params, full, x))
    w = max(1, -(-bits.shape[1] // 32))
    ref = np.zeros((50, w), np.uint64)
    for i in range(bits.shape[1]):  # bit i -> word i mod W, position i // W
        ref[:, i % w] |= bits[:, i].astype(np.uint64) << np.uint64(i // w)
    assert bits.any() or bits.shape[1] == 0
    assert words.dtype == np.uint32 and np.array_equal(words, ref)


def test_key_spec_layout():
    assert key_spec(0).words == 1 and not key_spec(0).hashed
    assert key_spec(33).words == 2 and not key_spec(33).hashed
    assert key_spec(128).words == 4 and not key_spec(128).hashed
    s = key_spec(129)
    assert s.hashed and s.words == 4 and s.key_bits == 128
    assert s.collision_probability(2**32) == pytest.approx(2.0**64 / 2.0**129)
    assert key_spec(100).collision_probability(10**9) == 0.0


# -- on-device grouping ---------------------------------------------------------------------


def _grouped_totals(keys, counts) -> dict:
    """Per-key total of the (key, count) rows a dedupe returned (what the host merge does)."""
    out: dict = {}
    for k, c in zip(map(tuple, np.asarray(keys).tolist()), np.asarray(counts).tolist()):
        if c:
            out[k] = out.get(k, 0) + c
    return out


def _dedupe_input(rng, n, distinct, words):
    pool = rng.integers(0, 2**32, size=(distinct, words), dtype=np.uint64).astype(np.uint32)
    keys = pool[rng.zipf(1.3, size=n) % distinct]  # heavy hitters and singletons
    weight = (rng.random(n) < 0.9).astype(np.int32)  # rows past N have weight 0
    return keys, weight


@pytest.mark.parametrize("method", ["slots", "sort"])
@pytest.mark.parametrize(("words", "n"), [(1, 8192), (2, 12288), (4, 8192)])
def test_dedupe_totals_equal_weighted_unique(method, words, n):
    import jax.numpy as jnp

    from tern_jax.sampling.keys import KeySpec

    rng = np.random.default_rng(words)
    keys, weight = _dedupe_input(rng, n, 3000, words)
    spec = KeySpec(32 * words, words, False)
    codes = group.group_codes(spec, jnp.asarray(keys))
    if method == "slots":
        out_keys, counts = group.slot_dedupe(jnp.asarray(keys), jnp.asarray(weight), codes)
    else:
        out_keys, counts, first = group.sort_dedupe(jnp.asarray(keys), jnp.asarray(weight), codes)
        # Each group's representative row holds the group's key.
        live = np.asarray(counts) > 0
        assert np.array_equal(keys[np.asarray(first)[live]], np.asarray(out_keys)[live])
    uniq, ref = np.unique(keys[weight > 0], axis=0, return_counts=True)
    expected = {tuple(k): int(c) for k, c in zip(uniq.tolist(), ref)}
    assert _grouped_totals(out_keys, counts) == expected
    # Grouping, not just passing rows through: at most ~1% of keys left split.
    assert len(expected) <= int(np.count_nonzero(np.asarray(counts))) <= 1.01 * len(expected)


def test_slot_dedupe_stays_exact_when_every_slot_collides():
    import jax.numpy as jnp

    rng = np.random.default_rng(5)
    keys, weight = _dedupe_input(rng, 4096, 50, 4)
    codes = jnp.zeros((4096, 2), jnp.uint32)  # one slot for every key, in every round
    out_keys, counts = group.slot_dedupe(jnp.asarray(keys), jnp.asarray(weight), codes)
    uniq, ref = np.unique(keys[weight > 0], axis=0, return_counts=True)
    assert _grouped_totals(out_keys, counts) == {
        tuple(k): int(c) for k, c in zip(uniq.tolist(), ref)
    }
    # Each round groups only the key of the slot's first pending row; the rest stay single.
    valid = keys[weight > 0]
    a = valid[0]
    b = valid[np.any(valid != a, axis=1)][0]
    n_a, n_b = (int(np.all(valid == k, axis=1).sum()) for k in (a, b))
    assert np.count_nonzero(np.asarray(counts)) == len(valid) - n_a - n_b + 2


def test_record_independent_of_dedupe_method():
    rng = np.random.default_rng(11)
    for net in (
        random_net(rng, [2, 16, 16, 1], ["relu", "relu"], ternary=True),  # exact keys
        random_net(rng, [2, 80, 80, 1], ["relu", "relu"]),  # hashed keys
    ):
        recs = [
            tj.count_regions(net, tj.Box(-2.0, 2.0), 50_000, seed=4, dedupe=m)
            for m in ("slots", "sort")
        ]
        assert recs[0].distinct > 30
        assert recs[0].figures() == recs[1].figures()
        assert [r.execution["dedupe"] for r in recs] == ["slots", "sort"]
    assert tj.count_regions(net, tj.Box(-2.0, 2.0), 10).execution["dedupe"] == "slots"  # CPU


# -- determinism ----------------------------------------------------------------------------


def test_record_independent_of_chunk_size():
    rng = np.random.default_rng(3)
    net = random_net(rng, [2, 12, 12, 1], ["relu", "relu"])
    n = 3 * 4096 * 5 + 17
    recs = [
        tj.count_regions(net, tj.Gaussian(0.5, 2.0), n, seed=9, chunk_size=c)
        for c in (4096, 3 * 4096, 16 * 4096)
    ]
    assert recs[0].distinct > 20
    for r in recs[1:]:
        assert r.figures() == recs[0].figures()
    other = tj.count_regions(net, tj.Gaussian(0.5, 2.0), n, seed=10, chunk_size=4096)
    assert other.freq_of_freq != recs[0].freq_of_freq  # the seed matters
    big = tj.count_regions(net, tj.Gaussian(0.5, 2.0), n, seed=9 + 2**32, chunk_size=4096)
    assert big.freq_of_freq != recs[0].freq_of_freq  # ... all 64 bits of it


def test_domains_plane_segment_points():
    con = C.ternary_alternating(2, [3])  # 9 regions in the unit square
    plane = tj.Plane([0.0, 0.0], [1.0, 0.0], [0.0, 1.0], (0.0, 1.0, 0.0, 1.0))
    assert tj.count_regions(con.net, plane, 1 << 15).distinct == 9
    # The diagonal crosses 3 folds per coordinate at the same points: 3 pieces.
    assert tj.count_regions(con.net, tj.Segment([0.0, 0.0], [1.0, 1.0]), 1 << 14).distinct == 3
    # A line at x2 = 0.5 crosses the 3 pieces of x1.
    seg = tj.Segment([0.0, 0.5], [1.0, 0.5])
    assert tj.count_regions(con.net, seg, 1 << 14).distinct == 3
    pts = np.array([[0.1, 0.1], [0.5, 0.5], [0.9, 0.1]])
    assert tj.count_regions(con.net, tj.Points(pts), 3).distinct == 3
    # A ball of radius 0.05 around (0.5, 0.5) stays in the middle cell.
    assert tj.count_regions(con.net, tj.Points(pts[1:2], radius=0.05), 5000).distinct == 1
    big = tj.count_regions(con.net, tj.Points(pts[1:2], radius=0.3), 20000).distinct
    assert big == 9  # the ball of radius 0.3 reaches into all 9 cells


# -- record ---------------------------------------------------------------------------------

CONTRACT_FIELDS = {
    "n_samples",
    "distinct",
    "freq_of_freq",
    "coverage",
    "chao1",
    "chao1_ci",
    "saturated",
    "collision_probability",
    "seconds",
    "fingerprint",
    "domain",
    "seed",
    "throughput",
    "package_version",
    "key_kind",
    "warnings",
    "kind",
    "method",
}


def test_record_json_and_estimates():
    con = C.ternary_alternating(1, [4, 4])
    rec = tj.count_regions(con.net, tj.Box(0.0, 1.0), 50_000, seed=1)
    d = json.loads(rec.to_json())
    assert CONTRACT_FIELDS <= set(d)
    assert d["fingerprint"] == con.net.fingerprint
    assert d["domain"]["type"] == "box" and d["domain"]["lo"] == [0.0]
    assert d["package_version"] == tj.__version__
    assert d["freq_of_freq"] == {str(k): v for k, v in rec.freq_of_freq.items()}
    assert not rec.saturated and rec.coverage == 1.0
    assert rec.chao1 == 16.0 and rec.chao1_ci == (16.0, 16.0)
    assert "activation regions" in rec.summary() and "sampled" in rec.summary()


def test_saturated_run_says_so():
    rng = np.random.default_rng(0)
    net = random_net(rng, [4, 64, 64, 1], ["relu", "relu"])
    rec = tj.count_regions(net, tj.Gaussian(0.0, 1.0), 500, seed=0)
    assert rec.saturated
    assert rec.chao1 is None and rec.chao1_ci is None
    assert any("saturated" in w for w in rec.warnings)


# -- errors ---------------------------------------------------------------------------------


def test_bad_input_errors():
    net = C.ternary_alternating(2, [2]).net
    with pytest.raises(ValueError, match="n_samples"):
        tj.count_regions(net, tj.Box(0, 1), 0)
    with pytest.raises(ValueError, match="n_samples"):
        tj.count_regions(net, tj.Box(0, 1), 10.5)
    with pytest.raises(ValueError, match="input dimension is 2"):
        tj.count_regions(net, tj.Box([0, 0, 0], [1, 1, 1]), 10)
    with pytest.raises(ValueError, match="dimension"):
        tj.count_regions(net, tj.Points(np.zeros((4, 3))), 10)
    with pytest.raises(ValueError, match="NaN"):
        tj.count_regions(net, tj.Box(0, float("nan")), 10)
    nan_net = tj.ReLUNet(  # bypasses from_arrays' validation on purpose
        (np.full((2, 2), np.nan), np.ones((2, 1))), (np.zeros(2), np.zeros(1)), ("relu", "identity")
    )
    with pytest.raises(ValueError, match="NaN"):
        tj.count_regions(nan_net, tj.Box(0, 1), 10)
    with pytest.raises(ValueError, match="chunk_size"):
        tj.count_regions(net, tj.Box(0, 1), 10, chunk_size=1000)
    with pytest.raises(ValueError, match="hi must exceed lo"):
        tj.count_regions(net, tj.Box(1, 0), 10)
    with pytest.raises(TypeError, match="domain"):
        tj.count_regions(net, (0, 1), 10)
    with pytest.raises(ValueError, match="dedupe must be one of"):
        tj.count_regions(net, tj.Box(0, 1), 10, dedupe="hash")
    for bad in (0, -5.0, float("inf"), float("nan"), True, "64"):  # inf once overflowed
        with pytest.raises(ValueError, match="memory_budget_mb must be"):
            tj.count_regions(net, tj.Box(0, 1), 10, memory_budget_mb=bad)


# -- host table -----------------------------------------------------------------------------


@pytest.mark.parametrize("words", [1, 2, 4])
def test_pattern_table_matches_unique(words, monkeypatch):
    import tern_jax.sampling.table as T

    monkeypatch.setattr(T, "FLUSH_MIN", 64)  # force many consolidations
    rng = np.random.default_rng(words)
    keys = rng.integers(0, 50, size=(20000, words)).astype(np.uint32)
    keys[:, 0] |= np.uint32(1 << 31)  # high bits exercise the uint64 packing order
    table = T.PatternTable(two_columns=words > 2)
    for chunk in np.array_split(np.arange(len(keys)), 37):
        table.add_words(keys[chunk], np.ones(len(chunk), np.int32))
    _, counts = np.unique(keys, axis=0, return_counts=True)
    ks, fs = np.unique(counts, return_counts=True)
    assert table.freq_of_freq() == {int(k): int(f) for k, f in zip(ks, fs)}
    assert table.rows == len(counts)


def test_pattern_table_sketch_is_order_independent_and_close():
    rng = np.random.default_rng(0)
    keys = rng.integers(0, 2**32, size=(60000, 4), dtype=np.uint64).astype(np.uint32)
    keys = np.concatenate([keys, keys[:20000]])  # 40000 singletons, 20000 doubletons
    results = []
    for perm_seed in (1, 2):
        order = np.random.default_rng(perm_seed).permutation(len(keys))
        t = PatternTable(two_columns=True, max_rows=5000)
        for chunk in np.array_split(order, 23):
            t.add_words(keys[chunk], np.ones(len(chunk), np.int32))
        fof = t.freq_of_freq()
        results.append((t.level, fof, t.sketch_summary()))
    assert results[0][:2] == results[1][:2]
    level, fof, sk = results[0]
    assert level >= 4 and sum(fof.values()) <= 5000
    est, rel = sk["distinct_estimate"], sk["relative_std_error"]
    assert abs(est - 60000) <= 4 * rel * 60000
    lo, hi = sk["distinct_95ci"]
    assert lo <= hi
