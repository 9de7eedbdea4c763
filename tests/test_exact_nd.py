"""The n-dimensional exact engine (tern_jax/exact/nd.py).

Truth comes from the math spec's closed forms (constructions, Zaslavsky), from the line and
plane engines (n0 = 1, 2), from products of line-engine counts (networks that are sums of
one-input networks) and, in 3 dimensions, from an independent brute force: a depth-first
search over activation patterns with one LP (scipy's HiGHS, maximal margin) per prefix.
"""

from __future__ import annotations

import itertools
import json
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference import small_nets
from scipy.optimize import linprog

import tern_jax as tj
from tern_jax.cli import main
from tern_jax.errors import InvalidInput, TooLarge
from tern_jax.exact._common import make_backend
from tern_jax.exact.nd import _box_complex, _Run, homogenised
from tern_jax.exact.regions import choose_engine

C = tj.constructions
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def nd(net, domain=None, **kw):
    return tj.exact_regions(net, domain, engine="nd", **kw)


def counts(res):
    return res.activation_regions, res.linear_regions


# -- closed forms (math.md sections 3-4) ------------------------------------------------------
@pytest.mark.parametrize(
    "build",
    [
        lambda: C.ternary_alternating(3, [2]),
        lambda: C.ternary_alternating(3, [2, 2]),
        lambda: C.ternary_alternating(3, [3]),
        lambda: C.ternary_all_relu(3, [2], form="generic"),
        lambda: C.ternary_all_relu(3, [2, 2], form="cube"),
        lambda: C.ternary_real_bias(3, [1], 1),
        lambda: C.ternary_real_bias(3, [1], 2),
        lambda: C.montufar(3, [6]),
        lambda: C.ternary_alternating(4, [2]),
        lambda: C.ternary_alternating(4, [3]),
        lambda: C.ternary_real_bias(4, [1], 1),
    ],
)
def test_constructions_on_the_unit_cube(build):
    c = build()
    res = nd(c.net, tj.Box(0, 1))
    assert counts(res) == (c.activation_regions_unit_cube, c.regions_unit_cube)


def test_alternating_3_22_gives_64_and_64():
    res = tj.exact_regions(C.ternary_alternating(3, [2, 2]).net, tj.Box(0, 1))
    assert res.engine == "nd" and counts(res) == (64, 64)


def test_real_bias_n0_3_has_27_linear_and_64_activation_regions():
    """The report's 27-vs-64 question: both are right, they count different things."""
    c = C.ternary_real_bias(3, [1], 1)
    assert (c.regions_unit_cube, c.activation_regions_unit_cube) == (27, 64)
    assert counts(nd(c.net, tj.Box(0, 1))) == (64, 27)


@pytest.mark.parametrize(
    "build",
    [
        lambda: C.ternary_alternating(2, [2]),
        lambda: C.ternary_alternating(2, [2, 2]),
        lambda: C.ternary_alternating(3, [2]),
        lambda: C.ternary_alternating(3, [2, 2]),
        lambda: C.ternary_all_relu(3, [2], form="generic"),
        lambda: C.ternary_real_bias(3, [1], 1),
        lambda: C.montufar(2, [4, 4]),
    ],
)
def test_constructions_on_the_whole_space(build):
    c = build()
    res = nd(c.net, None)
    assert counts(res) == (c.activation_regions_total, c.regions_total)


@pytest.mark.parametrize("n", [1, 2, 5, 9])
def test_one_random_layer_in_the_plane_is_zaslavsky(n):
    rng = np.random.default_rng(n)
    net = tj.ReLUNet.from_arrays(
        [rng.normal(size=(2, n)), rng.normal(size=(n, 1))],
        [rng.normal(size=n), [0.0]],
        ["relu", "identity"],
    )
    assert nd(net, None).activation_regions == 1 + n + math.comb(n, 2)
    net3 = tj.ReLUNet.from_arrays(
        [rng.normal(size=(3, n)), rng.normal(size=(n, 1))],
        [rng.normal(size=n), [0.0]],
        ["relu", "identity"],
    )
    assert nd(net3, None).activation_regions == tj.bounds.zaslavsky(3, n)


# -- agreement with the line and plane engines ----------------------------------------------
def _degenerate(draw, net: tj.ReLUNet) -> tj.ReLUNet:
    """Add duplicated units (exact copies and positive multiples), zero units and units
    through the box corners to a network's first hidden layer."""
    ws = [np.array(w) for w in net.weights]
    bs = [np.array(b) for b in net.biases]
    n0 = net.input_dim
    cols, bias, rows = [], [], []
    w0, b0 = ws[0], bs[0]
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["copy", "double", "zero", "corner"]))
        j = draw(st.integers(0, w0.shape[1] - 1))
        if kind in ("copy", "double"):
            s = 1.0 if kind == "copy" else 2.0
            cols.append(s * w0[:, j])
            bias.append(s * b0[j])
        elif kind == "zero":
            cols.append(np.zeros(n0))
            bias.append(draw(st.sampled_from([0.0, 1.0, -1.0])))
        else:  # x_1 - x_2 (or x_1) through the corners of a symmetric box
            c = np.zeros(n0)
            c[0] = 1.0
            if n0 > 1:
                c[1] = -1.0
            cols.append(c)
            bias.append(0.0)
        rows.append(draw(st.sampled_from([1.0, -1.0, 0.0])) * ws[1][j % ws[1].shape[0]])
    ws[0] = np.concatenate([w0, np.array(cols).T], axis=1)
    bs[0] = np.concatenate([b0, bias])
    ws[1] = np.concatenate([ws[1], np.array(rows)], axis=0)
    return tj.ReLUNet.from_arrays(ws, bs, net.activations)


@st.composite
def nets(draw, n0):
    net = draw(small_nets(n0=n0))
    if draw(st.booleans()):
        net = _degenerate(draw, net)
    return net


@SETTINGS
@given(nets(1), st.sampled_from([(-2, 2), (-1, 1), (0, 1)]))
def test_agrees_with_the_line_engine(net, box):
    dom = tj.Box(*box)
    assert counts(nd(net, dom)) == counts(tj.exact_regions(net, dom, engine="line"))
    assert counts(nd(net, None)) == counts(tj.exact_regions(net, None, engine="line"))


@SETTINGS
@given(nets(2), st.sampled_from([(-2, 2), (-1, 1), (0, 1)]))
def test_agrees_with_the_plane_engine(net, box):
    dom = tj.Box(*box)
    ref = tj.exact_regions(net, dom, engine="plane")
    res = nd(net, dom)
    assert counts(res) == counts(ref)
    # Same set of patterns, too.
    assert {p.tobytes() for p in res.patterns} == {p.tobytes() for p in ref.patterns}


@pytest.mark.parametrize(("n0", "engine", "domains"), [(1, "line", 2), (2, "plane", 1)])
def test_gaussian_nets_agree_with_the_line_and_plane_engines(n0, engine, domains):
    rng = np.random.default_rng(6 + n0)
    for _ in range(20):
        widths = rng.integers(1, 7, size=rng.integers(1, 4)).tolist()
        net = _random_net(rng, n0, widths, ternary=False)
        for dom in (tj.Box(-3, 3), None)[:domains]:  # the plane engine takes no R^2
            assert counts(nd(net, dom)) == counts(tj.exact_regions(net, dom, engine=engine))


def test_real_weights_with_cancelling_units_agree_with_the_exact_plane_engine():
    """Real (non-dyadic-small) weights, where the float filter on output maps is used: a
    duplicated unit with opposite output weights makes neighbouring maps equal exactly."""
    rng = np.random.default_rng(8)
    for _ in range(6):
        w1, b1 = rng.normal(size=(2, 5)), rng.normal(size=5)
        w1 = np.concatenate([w1, w1[:, :2]], axis=1)
        b1 = np.concatenate([b1, b1[:2]])
        w2 = rng.normal(size=(7, 1))
        w2[5:, 0] = -w2[:2, 0]
        net = tj.ReLUNet.from_arrays([w1, w2], [b1, [0.3]], ["relu", "identity"])
        dom = tj.Box(-3, 3)
        ref = tj.exact_regions(net, dom, engine="plane", mode="exact")
        res = nd(net, dom)
        assert counts(res) == counts(ref)
        assert res.linear_regions < res.activation_regions or res.activation_regions == 1


def test_every_mode_counts_the_same_on_real_weights():
    """The cells' maps in integers ("exact") or float64 with exact fallback ("float64",
    which "auto" picks here) give the same counts; equal neighbouring maps (a cancelled
    duplicate unit) are decisions the float64 bounds leave to the exact fallback."""
    rng = np.random.default_rng(8)
    w1, b1 = rng.normal(size=(2, 5)), rng.normal(size=5)
    w1, b1 = np.concatenate([w1, w1[:, :2]], axis=1), np.concatenate([b1, b1[:2]])
    w2 = rng.normal(size=(7, 1))
    w2[5:, 0] = -w2[:2, 0]
    net = tj.ReLUNet.from_arrays([w1, w2], [b1, [0.3]], ["relu", "identity"])
    res = {m: nd(net, tj.Box(-3, 3), mode=m) for m in ("auto", "exact", "float64")}
    assert {counts(r) for r in res.values()} == {(15, 6)}
    assert [r.mode for r in res.values()] == ["float64", "exact", "float64"]
    assert "exact fallback for 0 " not in res["float64"].arithmetic


def test_output_maps_from_patterns_equal_the_maps_carried_through_the_layers():
    """The exact maps the float filter falls back on (recomputed from patterns) equal the
    exact maps carried layer by layer (integer network: denominator 1 on both sides)."""
    rng = np.random.default_rng(4)
    net = _random_net(rng, 3, [6, 5], ternary=True)
    runs = {}
    for mode in ("exact", "float64"):  # the same complex: vertices are exact in both
        cx = _box_complex([Fraction(-2)] * 3, [Fraction(2)] * 3, 6 + net.num_relu_units)
        runs[mode] = _Run(net, cx, make_backend(net, mode, 3), False, None, 2**40)
        runs[mode].run()
    exact, filtered = runs["exact"], runs["float64"]
    assert exact.maps.den == 1
    cells = np.arange(exact.cx.num_cells)
    from_patterns = filtered.backend.oracle.maps(filtered.maps.lineage, cells)
    np.testing.assert_array_equal(from_patterns, exact.maps.value)


# -- 3 dimensions: independent brute force and product networks -----------------------------
def _frac_layers(net):
    return [
        (
            [[Fraction(float(x)) for x in row] for row in np.asarray(w)],
            [Fraction(float(x)) for x in b],
            a,
        )
        for w, b, a in zip(net.weights, net.biases, net.activations)
    ]


def lp_regions(net, lo, hi) -> set[bytes]:
    """Patterns of positive volume in the box, by depth-first search with one LP per prefix.

    A prefix is kept when the open set {units so far strictly on their side} meets the open
    box: max s subject to a.x + c >= s |a| (active), <= -s |a| (inactive) and the box shrunk
    by s, with s* > 1e-7. A unit whose map is constant on the prefix's region has a known
    state and no constraint. Maps are exact (Fractions) from the prefix.
    """
    n0 = net.input_dim
    layers = _frac_layers(net)
    box_a = [[(-1.0 if k == i else 0.0) for k in range(n0)] + [1.0] for i in range(n0)]
    box_a += [[(1.0 if k == i else 0.0) for k in range(n0)] + [1.0] for i in range(n0)]
    box_b = [-lo] * n0 + [hi] * n0
    found: set[bytes] = set()

    def feasible(A, b):
        res = linprog(
            [0.0] * n0 + [-1.0],
            A_ub=np.array(box_a + A),
            b_ub=np.array(box_b + b),
            bounds=[(None, None)] * n0 + [(None, 1.0)],
            method="highs",
        )
        return res.status == 0 and -res.fun > 1e-7

    def maps_after(h_map, li):
        """Pre-activation maps of layer li given the maps h_map of its inputs."""
        w, b, _ = layers[li]
        out = []
        for j in range(len(b)):
            m = [sum(h_map[i][k] * w[i][j] for i in range(len(w))) for k in range(n0)]
            c = sum(h_map[i][n0] * w[i][j] for i in range(len(w))) + b[j]
            out.append([*m, c])
        return out

    def walk(li, h_map, A, b, bits):
        if li == len(layers) - 1:
            found.add(np.array(bits, dtype=bool).tobytes())
            return
        z = maps_after(h_map, li)
        if layers[li][2] == "identity":
            walk(li + 1, z, A, b, bits)
            return

        def unit(j, A, b, bits, hs):
            if j == len(z):
                walk(li + 1, hs, A, b, bits)
                return
            m, c = z[j][:n0], z[j][n0]
            zero = [Fraction(0)] * (n0 + 1)
            if all(x == 0 for x in m):
                on = c > 0
                unit(j + 1, A, b, [*bits, on], [*hs, z[j] if on else zero])
                return
            norm = math.sqrt(sum(float(x) ** 2 for x in m))
            mf = [float(x) for x in m]
            for on in (True, False):
                sgn = -1.0 if on else 1.0
                row = [sgn * x for x in mf] + [norm]
                A2, b2 = [*A, row], [*b, -sgn * float(c)]
                if feasible(A2, b2):
                    unit(j + 1, A2, b2, [*bits, on], [*hs, z[j] if on else zero])

        unit(0, A, b, bits, [])

    ident = [[Fraction(int(i == k)) for k in range(n0 + 1)] for i in range(n0)]
    walk(0, ident, [], [], [])
    return found


def _random_net(rng, n0, widths, ternary=True):
    dims = [n0, *widths, 1]
    if ternary:
        ws = [rng.integers(-1, 2, size=(a, b)).astype(float) for a, b in itertools.pairwise(dims)]
        bs = [rng.integers(-1, 2, size=b).astype(float) for b in dims[1:]]
    else:
        ws = [rng.normal(size=(a, b)) for a, b in itertools.pairwise(dims)]
        bs = [rng.normal(size=b) for b in dims[1:]]
    return tj.ReLUNet.from_arrays(ws, bs, [*["relu"] * len(widths), "identity"])


@pytest.mark.parametrize("seed", range(4))
def test_3d_patterns_equal_the_lp_brute_force(seed):
    rng = np.random.default_rng(seed)
    net = _random_net(rng, 3, [4, 3], ternary=seed % 2 == 0)
    res = nd(net, tj.Box(-2, 2))
    ref = lp_regions(net, -2.0, 2.0)
    assert res.activation_regions == len(ref)
    assert {p.tobytes() for p in res.patterns} == ref


@pytest.mark.parametrize("seed", range(2))
def test_4d_patterns_equal_the_lp_brute_force(seed):
    rng = np.random.default_rng(50 + seed)
    net = _random_net(rng, 4, [4, 2], ternary=seed == 0)
    res = nd(net, tj.Box(-1, 1))
    assert {p.tobytes() for p in res.patterns} == lp_regions(net, -1.0, 1.0)


@pytest.mark.parametrize(("n0", "width"), [(5, 7), (6, 6), (8, 4)])
def test_one_random_layer_in_higher_dimensions_is_zaslavsky(n0, width):
    net = tj.random_network(n0, [width], weights="gaussian", seed=n0, bias_std=0.5)
    res = nd(net, None)
    assert res.activation_regions == res.linear_regions == tj.bounds.zaslavsky(n0, width)


@pytest.mark.parametrize("n0", [5, 6, 8])
def test_constructions_in_higher_dimensions(n0):
    c = C.ternary_alternating(n0, [2])
    assert counts(nd(c.net, tj.Box(0, 1))) == (2**n0, 2**n0)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(12))
def test_3d_patterns_equal_the_lp_brute_force_larger(seed):
    rng = np.random.default_rng(100 + seed)
    net = _random_net(rng, 3, [6, 5, 3], ternary=seed % 3 != 0)
    res = nd(net, tj.Box(-2, 2))
    assert {p.tobytes() for p in res.patterns} == lp_regions(net, -2.0, 2.0)


def _sum_of_line_nets(parts: list[tj.ReLUNet]) -> tj.ReLUNet:
    """f(x) = sum_i g_i(x_i) as one network with block-diagonal layers."""
    ws, bs = [], []
    for li in range(parts[0].num_layers):
        blocks = [np.asarray(p.weights[li]) for p in parts]
        rows, cols = sum(b.shape[0] for b in blocks), sum(b.shape[1] for b in blocks)
        W = np.zeros((rows, cols))
        r = c = 0
        for b in blocks:
            W[r : r + b.shape[0], c : c + b.shape[1]] = b
            r, c = r + b.shape[0], c + b.shape[1]
        if li == parts[0].num_layers - 1:
            W = W.sum(axis=1, keepdims=True)
            bias = np.array([sum(float(np.asarray(p.biases[li])[0]) for p in parts)])
        else:
            bias = np.concatenate([np.asarray(p.biases[li]) for p in parts])
        ws.append(W)
        bs.append(bias)
    return tj.ReLUNet.from_arrays(ws, bs, parts[0].activations)


@SETTINGS
@given(st.data())
def test_sums_of_one_input_nets_multiply_the_line_counts(data):
    """On a box, the cells of sum_i g_i(x_i) are the products of the pieces of the g_i, and
    two neighbours (one coordinate apart) merge iff that g_i keeps its affine piece."""
    depth = data.draw(st.integers(1, 2))
    widths = [data.draw(st.integers(1, 3)) for _ in range(depth)]
    acts = [
        *data.draw(st.lists(st.sampled_from(["relu", "identity"]), min_size=depth, max_size=depth)),
        "identity",
    ]
    parts = []
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31 - 1)))
    for _ in range(3):
        dims = [1, *widths, 1]
        ws = [rng.integers(-1, 2, size=(a, b)).astype(float) for a, b in itertools.pairwise(dims)]
        bs = [rng.integers(-1, 2, size=b).astype(float) for b in dims[1:]]
        parts.append(tj.ReLUNet.from_arrays(ws, bs, acts))
    net = _sum_of_line_nets(parts)
    got = nd(net, tj.Box(-2, 2))
    lines = [tj.exact_regions(p, tj.Box(-2, 2), engine="line") for p in parts]
    assert got.activation_regions == math.prod(r.activation_regions for r in lines)
    assert got.linear_regions == math.prod(r.linear_regions for r in lines)


def test_sampled_patterns_never_exceed_the_exact_count():
    rng = np.random.default_rng(3)
    for ternary in (True, False):
        net = _random_net(rng, 3, [8, 6], ternary=ternary)
        res = nd(net, tj.Box(-1, 1))
        rc = tj.count_regions(net, tj.Box(-1.0, 1.0), 20_000, seed=0, progress=False)
        assert rc.distinct <= res.activation_regions
        assert res.linear_regions <= res.activation_regions


# -- whole space, homogenisation ------------------------------------------------------------
def test_homogenised_network_is_t_times_f_of_x_over_t():
    rng = np.random.default_rng(5)
    net = _random_net(rng, 3, [5, 4], ternary=False)
    F = homogenised(net)
    x = rng.normal(size=(50, 3))
    t = rng.uniform(0.1, 2.0, size=(50, 1))
    got = np.asarray(F(np.concatenate([x, t], axis=1)))
    want = t * np.asarray(net(x / t))
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)
    pf = np.asarray(F.patterns(np.concatenate([x, t], axis=1)))
    keep = np.ones(pf.shape[1], dtype=bool)
    keep[[5, 5 + 5]] = False  # the t units (last of each ReLU layer: 5 + 1, 4 + 1 units)
    np.testing.assert_array_equal(pf[:, keep], np.asarray(net.patterns(x / t)))


def test_whole_space_contains_every_box():
    rng = np.random.default_rng(11)
    net = _random_net(rng, 3, [6, 4], ternary=True)
    whole = nd(net, None)
    box = nd(net, tj.Box(-3, 3))
    assert box.activation_regions <= whole.activation_regions
    assert {p.tobytes() for p in box.patterns} <= {p.tobytes() for p in whole.patterns}


# -- dispatch, record, errors ---------------------------------------------------------------
def test_auto_engine_choice():
    n1 = C.ternary_alternating(1, [2]).net
    n2 = C.ternary_alternating(2, [2]).net
    n3 = C.ternary_alternating(3, [2]).net
    assert choose_engine(n1, None) == "line"
    assert choose_engine(n2, None) == "nd"
    assert choose_engine(n2, tj.Box(0, 1)) == "plane"
    assert choose_engine(n3, tj.Box(0, 1)) == "nd"
    assert choose_engine(n3, None) == "nd"


def test_record_and_summary():
    res = nd(C.ternary_alternating(3, [2]).net, tj.Box(0, 1))
    d = json.loads(res.to_json())
    assert d["engine"] == "nd" and d["mode"] == "exact" and d["domain"]["kind"] == "box"
    assert d["activation_regions"] == 8 and d["num_vertices"] == 27
    assert d["num_facets"] == 8 * 6 - (8 * 6 - 6 * 4) // 2
    assert "8" in res.summary() and "facets" in res.summary()
    whole = json.loads(nd(C.ternary_alternating(3, [2]).net, None).to_json())
    assert whole["domain"]["kind"] == "whole"


def test_refusals():
    net = C.ternary_alternating(3, [2]).net
    with pytest.raises(InvalidInput):
        nd(net, tj.Plane([0, 0, 0], [1, 0, 0], [0, 1, 0]))
    # every mode counts exactly, as in the line and plane engines
    assert nd(net, tj.Box(0, 1), mode="float64").activation_regions == 8
    with pytest.raises(TooLarge):
        nd(net, tj.Box(0, 1), max_cells=3)
    big = tj.ReLUNet.from_arrays([np.ones((20, 1))], [np.zeros(1)], ["identity"])
    with pytest.raises(TooLarge):
        nd(big, tj.Box(0, 1))


def test_memory_budget_stops_before_memory_runs_out():
    """The complex's memory, not its cell count, is what runs out in many dimensions."""
    net = C.ternary_alternating(3, [2, 2]).net
    with pytest.raises(TooLarge, match=r"needed about .* cells, .* vertices .* budget of 1.0 KiB"):
        nd(net, tj.Box(0, 1), memory_budget_mb=1 / 1024)
    assert nd(net, tj.Box(0, 1), memory_budget_mb=10**6).activation_regions == 64
    for bad in (0, -1, float("nan"), "64", True):
        with pytest.raises(InvalidInput, match="memory_budget_mb"):
            nd(net, tj.Box(0, 1), memory_budget_mb=bad)


def test_memory_estimate_counts_the_python_integers():
    from tern_jax.exact.nd_complex import Complex

    small = np.zeros((4, 3), dtype=np.int64)
    big = np.array([[10**40] * 3] * 4, dtype=object)
    empty = np.zeros(0, dtype=np.int64)
    a = Complex(small, small.copy(), empty, empty, empty, empty, 2).memory_bytes()
    b = Complex(big, small.copy(), empty, empty, empty, empty, 2).memory_bytes()
    assert b >= a + 12 * 40  # each 10^40 is a Python int of over 40 bytes


def test_progress_bar_runs(capsys):
    res = nd(C.ternary_alternating(3, [2]).net, tj.Box(0, 1), progress=True)
    assert res.activation_regions == 8


# -- command line ---------------------------------------------------------------------------
def test_cli_box_whole_json(tmp_path, capsys):
    path = tj.save_network(C.ternary_alternating(3, [2, 2]).net, tmp_path / "net.npz")
    assert main(["exact", str(path), "--box", "0,1"]) == 0
    out = capsys.readouterr().out
    assert "activation regions (exact partition, rational arithmetic): 64" in out
    assert "linear regions     (exact partition, rational arithmetic): 64" in out
    assert "facets" in out
    assert main(["exact", str(path), "--whole", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert (d["activation_regions"], d["linear_regions"]) == (216, 216)
    assert d["engine"] == "nd" and d["domain"]["kind"] == "whole"
    assert main(["exact", str(path), "--box", "0,0,0;1,1,1", "--engine", "nd", "-q"]) == 0
    assert "64" in capsys.readouterr().out


def test_cli_refusals(tmp_path, capsys):
    path = tj.save_network(C.ternary_alternating(3, [2]).net, tmp_path / "net.npz")
    assert main(["exact", str(path), "--box", "0,1", "--plot", str(tmp_path / "p.png")]) == 2
    assert "--plot" in capsys.readouterr().err
    assert main(["exact", str(path), "--whole", "--max-cells", "2"]) == 2
    assert "max_cells" in capsys.readouterr().err
    path1 = tj.save_network(C.ternary_alternating(1, [2]).net, tmp_path / "one.npz")
    assert main(["exact", str(path1), "--segment", "0;1", "--max-cells", "5"]) == 2
    assert "n-D engine only" in capsys.readouterr().err
    assert main(["exact", str(path1), "--segment", "0;1", "--memory-budget-mb", "5"]) == 2
    assert "--memory-budget-mb applies to the n-D engine only" in capsys.readouterr().err
    assert main(["exact", str(path), "--box", "0,1", "--memory-budget-mb", "0.0001"]) == 2
    assert "memory budget" in capsys.readouterr().err
