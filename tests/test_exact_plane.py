"""Exact plane engine (tern_jax.exact.plane): partitions of polygons in 2D input slices.

Expected numbers come from math.md section 4 (including Zaslavsky's 1 + n + C(n, 2)), from
hand computation (stated next to each case), or from an independent method: numpy float64
patterns on sample points.
"""

from __future__ import annotations

import itertools
import json
from fractions import Fraction
from math import comb

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference import exact_patterns, small_nets

import tern_jax as tj
from tern_jax import constructions as C

MODES = ("exact", "float64")
UNIT = ([0, 0], [1, 0], [0, 1], (0, 1, 0, 1))


def rows(a) -> set:
    return {r.tobytes() for r in np.packbits(a, axis=1)} if a.shape[1] else {b""}


def _net(ws, bs, acts):
    return tj.ReLUNet.from_arrays(ws, bs, acts)


# -- one hidden layer, random weights: Zaslavsky -----------------------------------------------


def random_layer(n, seed):
    rng = np.random.default_rng(seed)
    w, b = rng.normal(size=(2, n)), rng.normal(size=n)
    net = _net([w, rng.normal(size=(n, 1))], [b, np.zeros(1)], ["relu", "identity"])
    pts = [np.linalg.solve(w.T[[i, j]], -b[[i, j]]) for i, j in itertools.combinations(range(n), 2)]
    r = float(np.max(np.abs(pts))) * 1.05 + 1.0  # a box holding every intersection point
    return net, r


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("n", [5, 20, 60])
def test_zaslavsky_one_hidden_layer(n, mode):
    net, r = random_layer(n, seed=n)
    res = tj.exact_regions_2d(net, [0, 0], [1, 0], [0, 1], (-r, r, -r, r), mode=mode)
    assert res.activation_regions == 1 + n + comb(n, 2)
    # Random output weights make every neighbouring pair's maps differ.
    assert res.linear_regions == res.activation_regions
    assert res.mode == mode


# -- math.md section 4, two inputs ------------------------------------------------------------

TABLE_2D = [
    (C.ternary_alternating, {"n0": 2, "ps": [2]}, 4),
    (C.ternary_alternating, {"n0": 2, "ps": [3]}, 9),
    (C.ternary_alternating, {"n0": 2, "ps": [2, 2]}, 16),
    (C.montufar, {"n0": 2, "widths": [4, 4]}, 16),  # 3.1: prod floor(n_l/n0)^n0 = 2^2 * 2^2
    (C.ternary_all_relu, {"n0": 2, "ps": [2, 2], "form": "generic"}, 16),  # 3.3: as 3.2
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("make", "kw", "cube"), TABLE_2D)
def test_math_section4_counts_2d(make, kw, cube, mode):
    c = make(**kw)
    r = tj.exact_regions_2d(c.net, *UNIT, mode=mode)
    assert r.linear_regions == cube == c.regions_unit_cube
    assert r.activation_regions == c.activation_regions_unit_cube
    assert r.activation_regions >= r.linear_regions


def test_three_inputs_slice():
    # 3.2 with n0 = 3, p = [2]: the slice x3 = 1/4 of the unit cube sees the 2 x 2 grid of
    # x1, x2 (x3 = 1/4 is inside one fold of the third coordinate).
    net = C.ternary_alternating(3, [2]).net
    r = tj.exact_regions_2d(net, [0, 0, 0.25], [1, 0, 0], [0, 1, 0], (0, 1, 0, 1))
    assert r.activation_regions == r.linear_regions == 4
    # Tilted slice x3 = s: all three coordinates fold at 1/2 -> s = 1/2 and t = 1/2 lines.
    r = tj.exact_regions_2d(net, [0, 0, 0], [1, 0, 1], [0, 1, 0], (0, 1, 0, 1))
    assert r.activation_regions == 4


# -- degenerate geometry (hand-computed) -------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_many_lines_through_one_vertex(mode):
    # Zero lines x = 0, y = 0, x = y, x = -y all through the origin: 8 sectors of [-1, 1]^2.
    w = np.array([[1.0, 0.0, 1.0, 1.0], [0.0, 1.0, -1.0, 1.0]])
    net = _net([w, np.ones((4, 1))], [np.zeros(4), np.zeros(1)], ["relu", "identity"])
    r = tj.exact_regions_2d(net, [0, 0], [1, 0], [0, 1], (-1, 1, -1, 1), mode=mode)
    assert r.activation_regions == 8
    # Duplicate every unit: same partition.
    w2 = np.concatenate([w, w], axis=1)
    net = _net([w2, np.ones((8, 1))], [np.zeros(8), np.zeros(1)], ["relu", "identity"])
    r = tj.exact_regions_2d(net, [0, 0], [1, 0], [0, 1], (-1, 1, -1, 1), mode=mode)
    assert r.activation_regions == 8 and r.patterns.shape == (8, 8)
    # The origin is a box corner: the four lines cut [0, 1]^2 only along x = y.
    r = tj.exact_regions_2d(net, [0, 0], [1, 0], [0, 1], (0, 1, 0, 1), mode=mode)
    assert r.activation_regions == 2


@pytest.mark.parametrize("mode", MODES)
def test_lines_along_edges_and_zero_units(mode):
    # x (along edge s = 0), x - 1 (along edge s = 1), a unit with zero weights and bias
    # (identically 0: inactive everywhere), y - 1/2 (one real cut).
    w = np.array([[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]])
    b = np.array([0.0, -1.0, 0.0, -0.5])
    net = _net([w, np.ones((4, 1))], [b, np.zeros(1)], ["relu", "identity"])
    r = tj.exact_regions_2d(net, *UNIT, mode=mode)
    assert r.activation_regions == 2 and r.linear_regions == 2
    assert r.patterns[:, 0].all()  # x > 0 inside the open square
    assert not r.patterns[:, 1].any()  # x - 1 <= 0
    assert not r.patterns[:, 2].any()  # identically zero
    # Second layer re-using first-layer lines: relu(h1 - h2) = relu(x) on the square, whose
    # zero line runs along the edge s = 0 -> no new cells.
    w2 = np.array([[1.0], [-1.0], [0.0], [0.0]])
    net = _net([w, w2, np.ones((1, 1))], [b, np.zeros(1), np.zeros(1)], ["relu"] * 2 + ["identity"])
    r = tj.exact_regions_2d(net, *UNIT, mode=mode)
    assert r.activation_regions == 2


@pytest.mark.parametrize("mode", MODES)
def test_linear_regions_merge_across_cells(mode):
    # Units relu(x), relu(y), relu(x + y); f reads only the first two. Three lines through
    # the origin: 6 activation regions of [-1, 1]^2; f = relu(x) + relu(y) has 4 linear
    # regions (the quadrants): x + y = 0 does not bend f, so its two sides merge.
    w = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
    out = np.array([[1.0], [1.0], [0.0]])
    net = _net([w, out], [np.zeros(3), np.zeros(1)], ["relu", "identity"])
    r = tj.exact_regions_2d(net, [0, 0], [1, 0], [0, 1], (-1, 1, -1, 1), mode=mode)
    assert (r.activation_regions, r.linear_regions) == (6, 4)
    assert len(set(r.cell_linear_region.tolist())) == 4
    # Duplicate units that cancel: f = relu(x) - relu(x) == 0: 2 activation, 1 linear region.
    net = _net(
        [np.array([[1.0, 1.0], [0.0, 0.0]]), np.array([[1.0], [-1.0]])],
        [np.zeros(2), np.zeros(1)],
        ["relu", "identity"],
    )
    r = tj.exact_regions_2d(net, [0, 0], [1, 0], [0, 1], (-1, 1, -1, 1), mode=mode)
    assert (r.activation_regions, r.linear_regions) == (2, 1)


def test_polygon_domain_and_plane_in_r3():
    # Triangle (0,0), (1,0), (0,1) of the 3.2 n0 = 2 p = [2] slice: the lines s = 1/2 and
    # t = 1/2 meet inside the square at (1/2, 1/2), which lies on the triangle's hypotenuse,
    # so the triangle holds 3 cells.
    net = C.ternary_alternating(2, [2]).net
    r = tj.exact_regions_2d(net, [0, 0], [1, 0], [0, 1], polygon=[(0, 0), (1, 0), (0, 1)])
    assert r.activation_regions == 3
    # Clockwise input is accepted (same triangle).
    r2 = tj.exact_regions_2d(net, [0, 0], [1, 0], [0, 1], None, polygon=[(0, 1), (1, 0), (0, 0)])
    assert r2.activation_regions == 3


def test_big_integers_fall_back_to_python_ints():
    c = C.ternary_alternating(2, [2, 2])
    big = 2.0**40
    ws = [np.asarray(w) * big for w in c.net.weights]
    bs = [np.asarray(b) * big ** (i + 1) for i, b in enumerate(c.net.biases)]
    net = tj.ReLUNet.from_arrays(ws, bs, c.net.activations)
    r = tj.exact_regions_2d(net, *UNIT, mode="exact")
    assert r.activation_regions == r.linear_regions == 16


def test_non_dyadic_network_auto_float64_and_forced_exact():
    c = C.ternary_real_bias(2, [2], 2)  # biases 1/3, 2/3: not dyadic
    auto = tj.exact_regions_2d(c.net, *UNIT)
    forced = tj.exact_regions_2d(c.net, *UNIT, mode="exact")
    assert auto.mode == "float64" and forced.mode == "exact"
    assert auto.linear_regions == forced.linear_regions == c.regions_unit_cube == 81
    assert auto.activation_regions == forced.activation_regions


def test_record_json_and_cells():
    r = tj.exact_regions_2d(C.ternary_alternating(2, [3]).net, *UNIT)
    d = json.loads(r.to_json())
    assert d["activation_regions"] == 9 and d["linear_regions"] == 9
    assert d["engine"] == "plane" and d["mode"] == "exact"
    assert "cells" not in d and "patterns" not in d
    assert len(r.cells) == 9
    # The 3 x 3 grid of equal squares: every cell has area 1/9.
    areas = [
        0.5 * abs(np.sum(p[:, 0] * np.roll(p[:, 1], -1) - np.roll(p[:, 0], -1) * p[:, 1]))
        for p in r.cells
    ]
    assert np.allclose(areas, 1 / 9)


# -- errors ------------------------------------------------------------------------------------


def test_bad_planes():
    net = C.ternary_alternating(2, [2]).net
    with pytest.raises(ValueError, match="parallel"):
        tj.exact_regions_2d(net, [0, 0], [1, 1], [2, 2])
    with pytest.raises(ValueError, match="parallel"):
        tj.exact_regions_2d(net, [0, 0], [0, 0], [0, 1])
    with pytest.raises(ValueError, match="zero-width"):
        tj.exact_regions_2d(net, [0, 0], [1, 0], [0, 1], (0, 0, 0, 1))
    with pytest.raises(ValueError, match="zero-width"):
        tj.exact_regions_2d(net, [0, 0], [1, 0], [0, 1], (0, 1, 1, 0))
    with pytest.raises(ValueError, match="non-finite"):
        tj.exact_regions_2d(net, [np.nan, 0], [1, 0], [0, 1])
    with pytest.raises(ValueError, match="non-finite"):
        tj.exact_regions_2d(net, [0, 0], [1, 0], [0, 1], (0, np.inf, 0, 1))
    with pytest.raises(ValueError, match="expected 2 coordinates"):
        tj.exact_regions_2d(net, [0, 0, 0], [1, 0], [0, 1])
    with pytest.raises(ValueError, match="convex"):
        tj.exact_regions_2d(
            net, [0, 0], [1, 0], [0, 1], None, polygon=[(0, 0), (2, 0), (1, 0.2), (1, 2)]
        )
    with pytest.raises(ValueError, match="zero area"):
        tj.exact_regions_2d(net, [0, 0], [1, 0], [0, 1], None, polygon=[(0, 0), (1, 1), (2, 2)])
    with pytest.raises(ValueError, match="no planes"):
        tj.exact_regions_2d(C.ternary_alternating(1, [2]).net, [0], [1], [2])


# -- property tests ----------------------------------------------------------------------------


def _inside(poly: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Points strictly inside a counter-clockwise convex polygon."""
    ok = np.ones(len(pts), dtype=bool)
    for p, q in zip(poly, np.roll(poly, -1, axis=0)):
        ok &= (q[0] - p[0]) * (pts[:, 1] - p[1]) - (q[1] - p[1]) * (pts[:, 0] - p[0]) > 1e-12
    return ok


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    net=small_nets(n0=2, max_width=4), n0=st.sampled_from([2, 3]), seed=st.integers(0, 2**31 - 1)
)
def test_exact_vs_sampling_and_float64(net, n0, seed):
    rng = np.random.default_rng(seed)
    if n0 == 3:  # the same network family on a plane of R^3: prepend a 3 -> 2 ternary map
        w0 = rng.integers(-1, 2, size=(3, 2)).astype(float)
        net = tj.ReLUNet.from_arrays(
            [w0, *net.weights], [np.zeros(2), *net.biases], ["identity", *net.activations]
        )
    origin = np.round(rng.normal(size=n0) * 4) / 4
    u, v = np.eye(n0)[0], np.eye(n0)[1]
    if n0 == 3:
        u = u + np.eye(3)[2] / 2
    bounds = (-2, 2, -1.5, 2)
    r = tj.exact_regions_2d(net, origin, u, v, bounds, mode="exact", keep_cells=True)
    f = tj.exact_regions_2d(net, origin, u, v, bounds, mode="float64")
    assert (f.activation_regions, f.linear_regions) == (r.activation_regions, r.linear_regions)
    assert r.linear_regions <= r.activation_regions == len(rows(r.patterns))
    # Sample points (s, t) with denominator 2**40, so they avoid every cell boundary (a line
    # with small denominators) almost surely; patterns evaluated exactly there.
    den = 2**40
    s_i = rng.integers(-2 * den + 1, 2 * den, 3000)
    t_i = rng.integers(int(-1.5 * den) + 1, 2 * den, 3000)
    gs, gt = np.meshgrid(
        np.arange(-2 * den, 2 * den, den // 32)[1:] + int(rng.integers(0, 2**30)),
        np.arange(int(-1.5 * den), 2 * den, den // 32)[1:] + int(rng.integers(0, 2**30)),
    )
    st_i = np.concatenate([np.stack([s_i, t_i], 1), np.stack([gs.ravel(), gt.ravel()], 1)])
    st_o = st_i.astype(object)
    o4 = np.array([int(x) for x in np.round(origin * 4)], dtype=object)
    u2 = np.array([int(x) for x in np.round(u * 2)], dtype=object)
    v2 = np.array([int(x) for x in np.round(v * 2)], dtype=object)
    # x = origin + s u + t v over the common denominator 4 * den.
    xs = o4[None, :] * den + 2 * (st_o[:, :1] * u2[None, :] + st_o[:, 1:] * v2[None, :])
    sampled = rows(exact_patterns(net, xs, 4 * den))
    st_ = st_i.astype(np.float64) / den
    assert sampled <= rows(r.patterns)
    assert len(sampled) <= r.activation_regions
    # Dense sampling sees every cell that contains a sample point strictly inside.
    if all(_inside(np.asarray(c), st_).any() for c in r.cells):
        assert len(sampled) == r.activation_regions


# -- command line ---------------------------------------------------------------------------


def test_cli_plane(tmp_path, capsys):
    from tern_jax.cli import main

    path = tj.save_network(C.ternary_alternating(2, [2, 2]).net, tmp_path / "net.npz")
    png = tmp_path / "p.png"
    args = ["exact", str(path), "--plane", "0,0;1,0;0,1", "--bounds", "0,1,0,1"]
    assert main([*args, "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    assert "activation regions" in out and "16" in out and "box" in out
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert main([*args, "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert (d["activation_regions"], d["linear_regions"]) == (16, 16)
    assert d["engine"] == "plane" and d["mode"] == "exact"
    assert main(["exact", str(path), "--plane", "0,0;1,1;2,2", "--bounds", "0,1,0,1"]) == 2
    assert "parallel" in capsys.readouterr().err
    assert main(["exact", str(path), "--plane", "0,0;1,0;0,1"]) == 2
    assert "--bounds" in capsys.readouterr().err
    assert main([*args[:4], "--bounds=0,0,0,1"]) == 2
    assert "zero-width" in capsys.readouterr().err


def test_nearly_coincident_stored_lines_counted_exactly_in_both_modes():
    # 0.1 x + 0.2 y - 0.3 and 0.3 x + 0.6 y - 0.9 are one line in real numbers but two
    # (nearly coincident) lines as stored in float64; 0.7 x - 0.7 y crosses both near (1, 1).
    # Both modes count the network as stored, so both see the two thin slivers.
    w = np.array([[0.1, 0.3, 0.7], [0.2, 0.6, -0.7]])
    b = np.array([-0.3, -0.9, 0.0])
    net = _net([w, np.ones((3, 1))], [b, np.zeros(1)], ["relu", "identity"])
    # Lines crossing a convex domain in general position make 1 + lines + interior crossing
    # points regions; count the stored lines' crossings inside the box exactly.
    A = [
        [Fraction(float(w[0, k])), Fraction(float(w[1, k])), Fraction(float(b[k]))]
        for k in range(3)
    ]
    inside = 0
    for (a1, b1, c1), (a2, b2, c2) in itertools.combinations(A, 2):
        det = a1 * b2 - a2 * b1
        if det == 0:
            continue  # parallel
        x, y = (b1 * c2 - b2 * c1) / det, (a2 * c1 - a1 * c2) / det
        inside += 0 < x < 2 and 0 < y < 2
    assert inside == 2  # the two stored copies of x + 2y = 3 are parallel, distinct
    f = tj.exact_regions_2d(net, [0, 0], [1, 0], [0, 1], (0, 2, 0, 2))
    e = tj.exact_regions_2d(net, [0, 0], [1, 0], [0, 1], (0, 2, 0, 2), mode="exact")
    assert f.mode == "float64" and e.mode == "exact"
    assert f.activation_regions == e.activation_regions == 1 + 3 + inside  # 6
    # Along the diagonal x = y = 2t both modes find both stored crossings.
    fr = [Fraction(float(v)) for v in (0.1, 0.2, 0.3, 0.6, 0.9)]
    t1 = fr[2] / (2 * (fr[0] + fr[1]))
    t2 = fr[4] / (2 * (fr[2] + fr[3]))
    r = tj.exact_regions_1d(net, [0, 0], [2, 2], mode="exact")
    assert t1 != t2 and r.breakpoints == sorted([t1, t2])
    r = tj.exact_regions_1d(net, [0, 0], [2, 2], mode="float64")
    assert r.activation_regions == 3  # breakpoints reported as float64 approximations
    assert r.breakpoints == pytest.approx([float(t) for t in sorted([t1, t2])], rel=1e-15)


def test_deep_2d_construction():
    # math.md 3.2 with n0 = 2 and p = [2] * 6: (2**6)**2 = 4096 squares of the unit square.
    c = C.ternary_alternating(2, [2] * 6)
    r = tj.exact_regions_2d(c.net, *UNIT, keep_cells=False)
    assert r.activation_regions == r.linear_regions == 4096 == c.regions_unit_cube
    assert r.cells is None and r.patterns is None
    # A grid of 64 x 64 squares has 65 * 65 vertices and 2 * 64 * 65 edges.
    assert (r.num_vertices, r.num_edges) == (65 * 65, 2 * 64 * 65)
