"""Linear regions from samples: ``affine_distinct`` against the exact engines' partitions.

The truth for distinct affine maps is computed here, independently, in rational arithmetic
from the activation patterns of the exact plane engine's cells.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import tern_jax as tj
from tern_jax import constructions as C


def _net(seed, dims, acts, kind="ternary"):
    rng = np.random.default_rng(seed)
    pairs = list(itertools.pairwise(dims))
    if kind == "ternary":
        ws = [rng.integers(-1, 2, (a, b)).astype(float) for a, b in pairs]
        bs = [rng.integers(-1, 2, b).astype(float) for b in dims[1:]]
    else:
        ws = [rng.normal(size=(a, b)) for a, b in pairs]
        bs = [0.3 * rng.normal(size=b) for b in dims[1:]]
    return tj.ReLUNet.from_arrays(ws, bs, [*acts, "identity"])


def _exact_maps(net, patterns) -> set:
    """The distinct affine maps (gradient, offset) in x of f on the regions of ``patterns``,
    for an integer network: exact integer products with the patterns' masks (Python ints)."""
    rows = []
    for pattern in patterns:
        grad = np.eye(net.input_dim, dtype=object)
        off = np.zeros(net.input_dim, dtype=object)
        bit = 0
        for w, b, act in zip(net.weights, net.biases, net.activations):
            w, b = w.astype(np.int64).astype(object), b.astype(np.int64).astype(object)
            grad, off = grad @ w, off @ w + b
            if act == "relu":
                on = pattern[bit : bit + b.size]
                bit += b.size
                grad, off = grad * on, off * on
        rows.append((tuple(grad.ravel()), tuple(off)))
    return set(rows)


BOX = ([-2.0, -2.0], [1, 0], [0, 1], (0, 4, 0, 4))
CASES = [
    (1, [2, 8, 8, 1], ["relu", "relu"]),
    (3, [2, 8, 8, 1], ["relu", "relu"]),
    (4, [2, 8, 8, 1], ["relu", "relu"]),
    (0, [2, 8, 8, 1], ["relu", "relu"]),  # two separate linear regions share a map
    (1, [2, 12, 12, 12, 1], ["relu", "identity", "relu"]),
    (3, [2, 12, 12, 12, 1], ["relu", "identity", "relu"]),
    (4, [2, 12, 12, 12, 1], ["relu", "identity", "relu"]),
    (1, [2, 66, 66, 1], ["relu", "relu"]),  # 132 ReLU units: hashed keys, recomputed bits
]


@pytest.mark.parametrize(("seed", "dims", "acts"), CASES)
def test_affine_distinct_against_the_plane_engine(seed, dims, acts):
    net = _net(seed, dims, acts)
    exact = tj.exact_regions_2d(net, *BOX, mode="exact", keep_cells=True)
    maps = _exact_maps(net, exact.patterns)
    rec = tj.count_regions(net, tj.Box(-2.0, 2.0), 1 << 20, seed=seed)
    assert rec.affine["exact"] and rec.affine["unverified"] == 0
    assert rec.distinct <= exact.activation_regions
    assert rec.affine_distinct <= min(len(maps), exact.linear_regions, rec.distinct)
    if rec.distinct == exact.activation_regions:  # every region hit: every map found
        assert rec.affine_distinct == len(maps)
        if len(maps) == exact.linear_regions:  # each map on one connected linear region
            assert rec.affine_distinct == exact.linear_regions


def test_most_cases_hit_every_region_and_every_linear_region():
    # The comparison above is only as strong as the cases where all regions are hit.
    hit = 0
    for seed, dims, acts in CASES[:3]:
        net = _net(seed, dims, acts)
        exact = tj.exact_regions_2d(net, *BOX, mode="exact")
        rec = tj.count_regions(net, tj.Box(-2.0, 2.0), 1 << 20, seed=seed)
        hit += rec.distinct == exact.activation_regions
        hit += rec.affine_distinct == exact.linear_regions
    assert hit == 6


def test_face_patterns_are_not_counted():
    # A ternary net whose grid samples land on breakpoint lines x1 + x2 = c with patterns of
    # no region: before the check the sampler reported 102 patterns for its 94 regions.
    net = _net(0, [2, 12, 12, 12, 1], ["relu", "identity", "relu"])
    exact = tj.exact_regions_2d(net, *BOX, mode="exact")
    rec = tj.count_regions(net, tj.Box(-2.0, 2.0), 1 << 20, seed=0)
    assert rec.on_breakpoints > 0 and rec.affine["face_patterns"] > 0
    # Integer pieces: every face pattern here is settled exactly, without a linear program.
    assert rec.affine["linear_programs"] == 0
    assert rec.distinct == exact.activation_regions == 94
    assert sum(k * f for k, f in rec.freq_of_freq.items()) == rec.n_samples - rec.on_breakpoints
    assert any("breakpoint" in w for w in rec.warnings)


@pytest.mark.parametrize("shift", [0, 1000])
def test_affine_equals_distinct_on_the_zigzag(shift):
    # math.md 3.2, n0 = 1: 16 pieces of slope +-16 with distinct offsets: 16 activation
    # regions, 16 linear regions, 16 maps (the line engine agrees).
    con = C.ternary_alternating(1, [4, 4])
    ws, bs = list(con.net.weights), list(con.net.biases)
    bs[0] = bs[0] - shift * ws[0][0]
    net = tj.ReLUNet.from_arrays(ws, bs, con.net.activations)
    exact = tj.exact_regions_1d(net, float(shift), float(shift + 1), mode="exact")
    assert exact.activation_regions == exact.linear_regions == 16
    rec = tj.count_regions(net, tj.Box(float(shift), shift + 1.0), 1 << 18)
    assert rec.distinct == rec.affine_distinct == 16 and rec.affine["exact"]


@pytest.mark.parametrize("dims", [[2, 8, 8, 1], [2, 80, 80, 1]])
def test_affine_equals_distinct_on_generic_real_networks(dims):
    # Gaussian weights: every activation region has its own map (the plane engine's linear
    # and activation counts agree), so the maps found are the patterns found; float64 maps
    # compared with a relative tolerance.
    net = _net(2, dims, ["relu", "relu"], kind="gaussian")
    rec = tj.count_regions(net, tj.Box(-1.0, 1.0), 1 << 17, seed=1)
    assert not rec.affine["exact"] and rec.affine["tolerance"] == pytest.approx(1e-9)
    assert rec.affine_distinct == rec.distinct > 50
    if dims[1] == 8:
        exact = tj.exact_regions_2d(net, [-1, -1], [1, 0], [0, 1], (0, 2, 0, 2), mode="exact")
        assert exact.linear_regions == exact.activation_regions >= rec.distinct


def test_plane_and_segment_maps_are_those_of_the_slice():
    # 3.2 with n0 = 2, p = [3] on the unit square: 9 cells, 8 maps (cells (0, 2) and (2, 0)
    # share 3 x1 + 3 x2 - 2); along the diagonal the 3 pieces have 3 different maps.
    con = C.ternary_alternating(2, [3])
    plane = tj.Plane([0.0, 0.0], [1.0, 0.0], [0.0, 1.0], (0.0, 1.0, 0.0, 1.0))
    rec = tj.count_regions(con.net, plane, 1 << 16)
    assert (rec.distinct, rec.affine_distinct) == (9, 8)
    seg = tj.count_regions(con.net, tj.Segment([0.0, 0.0], [1.0, 1.0]), 1 << 14)
    assert (seg.distinct, seg.affine_distinct) == (3, 3)


def test_sketch_counts_maps_of_the_kept_patterns():
    net = _net(1, [2, 66, 66, 1], ["relu", "relu"])
    full = tj.count_regions(net, tj.Box(-2.0, 2.0), 1 << 18, seed=3)
    sk = tj.count_regions(net, tj.Box(-2.0, 2.0), 1 << 18, seed=3, max_table_rows=200)
    assert sk.sketch is not None
    assert 0 < sk.affine_distinct <= min(full.affine_distinct, sk.sketch["kept_patterns"])
    assert any("affine_distinct counts the maps of that subset" in w for w in sk.warnings)


def test_record_says_what_affine_distinct_bounds():
    rec = tj.count_regions(C.ternary_alternating(1, [4, 4]).net, tj.Box(0.0, 1.0), 50_000)
    text = rec.summary()
    assert "16 distinct affine maps" in text and "lower bound on the linear regions" in text
    d = rec.to_dict()
    assert d["affine_distinct"] == 16 and d["affine"]["exact"] is True
    assert d["arithmetic"]["exact"] is True and d["on_breakpoints"] == 0


# The exact face decisions and the encoded walk, each against an independent method.


def _lp_interior(normals: np.ndarray) -> bool:
    """Independent: is there d with n . d < 0 for every row n? (max s: n . d + s <= 0)."""
    from scipy.optimize import linprog

    f, k = normals.shape
    unit = normals / np.linalg.norm(normals, axis=1, keepdims=True)
    a = np.column_stack([unit, np.ones(f)])
    res = linprog(np.r_[np.zeros(k), -1.0], A_ub=a, b_ub=np.zeros(f),
                  bounds=[(-1, 1)] * k + [(None, 1)], method="highs")  # fmt: skip
    return bool(res.status == 0 and -res.fun > 1e-9)


def test_exact_interior_small_cases():
    from tern_jax.sampling.faces import exact_interior as _exact_interior

    assert _exact_interior(np.zeros((0, 2))) is True
    assert _exact_interior(np.array([[1.0, -2.0]])) is True
    assert _exact_interior(np.array([[1.0, 0.0], [0.0, 1.0]])) is True
    assert _exact_interior(np.array([[2.0, 4.0], [-1.0, -2.0]])) is False  # one hyperplane
    # No interior, but no opposite pair: left to the linear program.
    assert _exact_interior(np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])) is None


@pytest.mark.parametrize("k", [2, 3])
def test_exact_interior_agrees_with_a_linear_program(k):
    rng = np.random.default_rng(k)
    answered = {True: 0, False: 0}
    from tern_jax.sampling.faces import exact_interior as _exact_interior

    for _ in range(400):
        n = rng.integers(-2, 3, size=(int(rng.integers(1, 5)), k)).astype(float)
        n = n[np.any(n != 0, axis=1)]
        if rng.random() < 0.3 and len(n):  # a unit and its negation, as in ternary nets
            n = np.vstack([n, -2 * n[:1]])
        got = _exact_interior(n)
        if got is not None:
            answered[got] += 1
            assert got == (_lp_interior(n) if len(n) else True), n
    assert min(answered.values()) > 50  # both answers were exercised


def test_exact_face_decisions_equal_the_linear_programs(monkeypatch):
    # The same run with every face pattern left to the linear program: the same patterns
    # are dropped, now by linear programs (one per face pattern).
    from tern_jax.sampling import faces

    net = _net(0, [2, 12, 12, 12, 1], ["relu", "identity", "relu"])
    exact = tj.count_regions(net, tj.Box(-2.0, 2.0), 1 << 20, seed=0)
    monkeypatch.setattr(faces, "exact_interior", lambda normals: None)
    lp = tj.count_regions(net, tj.Box(-2.0, 2.0), 1 << 20, seed=0)
    assert exact.affine["linear_programs"] == 0
    assert lp.affine["linear_programs"] == lp.affine["face_patterns"] > 0
    a, b = lp.figures(), exact.figures()
    assert a.pop("affine")["face_patterns"] == b.pop("affine")["face_patterns"]
    assert a == b
    assert (lp.distinct, lp.on_breakpoints) == (94, exact.on_breakpoints)


@pytest.mark.parametrize(("seed", "dims", "acts"), [
    (0, [2, 12, 12, 12, 1], ["relu", "identity", "relu"]),
    (1, [3, 16, 16, 16, 1], ["relu", "relu", "relu"]),
])  # fmt: skip
def test_encoded_walk_equals_the_pieces_walk(seed, dims, acts, monkeypatch):
    # The exact path walks with one encoded gradient column; forcing the general walk, in
    # reverse mode and in forward mode (k gradient columns under the recomputed patterns'
    # masks), must give the same record.
    from tern_jax.sampling import walks

    net = _net(seed, dims, acts)
    dom = tj.Box(-2.0, 2.0)
    enc = tj.count_regions(net, dom, 1 << 17, seed=seed)
    monkeypatch.setattr(walks, "encoding_base", lambda *a: None)
    rev = tj.count_regions(net, dom, 1 << 17, seed=seed)  # general walk, reverse mode
    monkeypatch.setattr(walks, "walk_mode", lambda *a: "forward")
    fwd = tj.count_regions(net, dom, 1 << 17, seed=seed)
    for gen in (rev, fwd):
        assert enc.affine["exact"] and gen.affine["exact"]
        assert enc.affine_distinct == gen.affine_distinct > 10
        assert (enc.distinct, enc.on_breakpoints) == (gen.distinct, gen.on_breakpoints)
        assert enc.affine["face_patterns"] == gen.affine["face_patterns"]


def test_encoding_base_refuses_what_float64_cannot_hold():
    from tern_jax.sampling.lattice import IntegerNet
    from tern_jax.sampling.walks import encoding_base

    def net(first):
        out = (np.ones((4, 1), np.int64), np.zeros(1, np.int64))
        return IntegerNet(((first, np.zeros(4, np.int64)), out), (0, 0), 10)

    acts = ("relu", "identity")
    assert encoding_base(net(np.ones((2, 4), np.int64)), acts, 2) == 16  # |G| <= 4: M > 8
    # 2 * 2^22 * (2^23)^5 > 2^53: six coordinates of large gradients do not fit.
    assert encoding_base(net(np.full((6, 4), 2**20, np.int64)), acts, 6) is None


@pytest.mark.parametrize(("k", "widths", "acts", "outputs"), [
    (3, [16, 16], ["relu", "relu"], 1),
    (6, [12, 12, 12], ["relu", "identity", "relu"], 2),
    (64, [16, 16], ["relu", "relu"], 1),
    (24, [8, 8, 8], ["relu", "identity", "relu"], 3),  # through v_1, several outputs
])  # fmt: skip
def test_reverse_walk_equals_the_forward_walk(k, widths, acts, outputs, monkeypatch):
    # Real weights take the general walk: by default in reverse mode (one column per output
    # instead of k + 1); its maps kept as rows or as keys, or forward mode: the same maps,
    # faces and record.
    from tern_jax.sampling import affine, walks

    rng = np.random.default_rng(k)
    dims = [k, *widths, outputs]
    ws = [rng.normal(size=(a, b)) / np.sqrt(a) for a, b in itertools.pairwise(dims)]
    bs = [0.3 * rng.normal(size=b) for b in dims[1:]]
    net = tj.ReLUNet.from_arrays(ws, bs, [*acts, "identity"])
    dom = tj.Box(-1.0, 1.0)
    assert walks.walk_mode([(w, b) for w, b in zip(ws, bs)], k, False) == "reverse"
    rows = tj.count_regions(net, dom, 1 << 15, seed=1)  # maps kept if at most 32 columns
    monkeypatch.setattr(affine, "NARROW_MAPS", 0)
    keys = tj.count_regions(net, dom, 1 << 15, seed=1)  # every map as a 128-bit key
    monkeypatch.setattr(walks, "walk_mode", lambda *a: "forward")
    fwd = tj.count_regions(net, dom, 1 << 15, seed=1)
    assert not keys.affine["exact"] and keys.affine["unverified"] == 0
    assert keys.affine_distinct == rows.affine_distinct == fwd.affine_distinct == keys.distinct
    assert keys.distinct > 20
    figures = [r.figures() for r in (rows, keys, fwd)]
    compared = [f["affine"].pop("maps_compared") for f in figures]
    assert compared[1] == "hash:multiply_shift_4x32" and compared[2] == "rows"
    assert compared[0] == ("rows" if (k + 1) * outputs <= 32 else compared[1])
    assert figures[0] == figures[1] == figures[2]


def test_maps_distinct_counts_equal_rows_once():
    from tern_jax.sampling import affine

    rng = np.random.default_rng(0)
    rows = rng.integers(-3, 4, size=(500, 7)).astype(float)
    maps = np.vstack([rows, rows[:100], -0.0 * rows[:5]])  # repeats; -0.0 equals 0.0
    truth = len({tuple(r + 0.0) for r in maps})
    keep = np.ones(len(maps), bool)
    assert affine._maps_distinct(maps, keep, exact=True) == truth
    assert affine._maps_distinct(maps, keep, exact=False) == truth  # snapped, same here
    keep[:250] = False
    later = len({tuple(r + 0.0) for r in maps[250:]})
    assert affine._maps_distinct(maps, keep, exact=True) == later
    # Maps closer than the tolerance merge off the exact path.
    near = np.vstack([rows[:1], rows[:1] * (1 + 1e-13)])
    assert affine._maps_distinct(near, np.ones(2, bool), exact=False) == 1
    assert affine._maps_distinct(near, np.ones(2, bool), exact=True) == 2


def test_reverse_keys_merge_equal_maps_off_the_exact_path(monkeypatch):
    # Ternary weights times 0.1 (not dyadic: float64, snapped maps): patterns sharing a map
    # must merge under the reverse walk's keys exactly as under the forward walk's rows.
    from tern_jax.sampling import affine, walks

    monkeypatch.setattr(affine, "NARROW_MAPS", 0)  # keys even for these narrow maps
    base = _net(0, [2, 12, 12, 12, 1], ["relu", "identity", "relu"])
    net = tj.ReLUNet.from_arrays([0.1 * w for w in base.weights],
                                 [0.1 * b for b in base.biases], base.activations)  # fmt: skip
    rev = tj.count_regions(net, tj.Box(-0.2, 0.2), 1 << 18, seed=0)
    monkeypatch.setattr(walks, "walk_mode", lambda *a: "forward")
    fwd = tj.count_regions(net, tj.Box(-0.2, 0.2), 1 << 18, seed=0)
    assert not rev.affine["exact"] and rev.affine["maps_compared"].startswith("hash:")
    assert rev.affine_distinct == fwd.affine_distinct < rev.distinct
    # Units identically 0 on a region (zero bias, inputs all off) are flagged by the run's
    # own pass and settled on the host as no faces, as the forward walk settles them.
    figures = [r.figures() for r in (rev, fwd)]
    for f in figures:
        f["affine"].pop("maps_compared")
    assert figures[0] == figures[1]


def test_maps_through_the_first_layer_part_patterns_as_the_maps_do():
    # Rows (v_1, c - b_1 . v_1) must be equal exactly when the maps (G, c) are, whenever W_1
    # is injective: every pattern of a small integer network, where many maps coincide.
    from tern_jax.sampling import walks

    rng = np.random.default_rng(8)
    dims = [6, 4, 5, 2]
    while True:
        ws = [rng.integers(-1, 2, (a, b)).astype(float) for a, b in itertools.pairwise(dims)]
        if np.linalg.matrix_rank(ws[0]) == 4:
            break
    bs = [rng.integers(-2, 3, b).astype(float) for b in dims[1:]]
    layers, acts = list(zip(ws, bs)), ("relu", "relu", "identity")
    assert walks.first_layer_injective(layers)
    bits = np.array(list(itertools.product([False, True], repeat=9)))

    def classes(rows):
        _, inverse = np.unique(rows + 0.0, axis=0, return_inverse=True)
        return {tuple(np.flatnonzero(inverse == c)) for c in range(inverse.max() + 1)}

    maps = walks.walk_reverse(layers, acts, bits, False, xp=np)
    through = walks.walk_reverse(layers, acts, bits, True, xp=np)
    assert through.shape[1] == 4 * 2 + 2 < maps.shape[1]
    assert 10 < len(classes(maps)) < len(bits)
    assert classes(through) == classes(maps)
