"""Constructions (math.md section 3): structure, functions and exact counts.

Counts are checked against math.md section 4's integers and, over a range of parameters,
against independent methods written here: exact rational piecewise-linear propagation on a
line (n0 = 1), connected components on a fine grid (n0 = 2, 3), random sampling of patterns
(n0 = 3), and the project's exact and sampling engines.
"""

from __future__ import annotations

import itertools
import json
from fractions import Fraction

import numpy as np
import pytest

import tern_jax as tj
from tern_jax import constructions as C
from tern_jax.cli import main

# -- independent brute-force counters -------------------------------------------------------


def _frac(a) -> np.ndarray:
    a = np.asarray(a)
    out = np.empty(a.shape, dtype=object)
    for idx, v in np.ndenumerate(a):
        out[idx] = Fraction(float(v))  # float64 parameters, read exactly
    return out


def line_counts(net, lo, hi) -> tuple[int, int]:
    """Exact (activation, linear) regions of a one-input net on (lo, hi), in rationals.

    Propagates the hidden vector as a piecewise-affine function of x, splitting pieces where
    a ReLU pre-activation changes sign; merges neighbouring pieces with equal patterns
    (activation) or equal output maps (linear).
    """
    assert net.input_dim == 1
    one, zero = np.array([Fraction(1)], dtype=object), np.array([Fraction(0)], dtype=object)
    pieces = [(Fraction(lo), Fraction(hi), one, zero, ())]
    for w, b, act in zip(net.weights[:-1], net.biases[:-1], net.activations[:-1]):
        w, b = _frac(w), _frac(b)
        new = []
        for a0, a1, jac, c, pat in pieces:
            jz, cz = jac.dot(w), c.dot(w) + b
            if act == "identity":
                new.append((a0, a1, jz, cz, pat))
                continue
            roots = {-cz[i] / jz[i] for i in range(len(jz)) if jz[i] != 0}
            pts = [a0, *sorted(r for r in roots if a0 < r < a1), a1]
            for s0, s1 in itertools.pairwise(pts):
                mid = (s0 + s1) / 2
                mask = np.array([jz[i] * mid + cz[i] > 0 for i in range(len(jz))])
                new.append(
                    (
                        s0,
                        s1,
                        np.where(mask, jz, Fraction(0)),
                        np.where(mask, cz, Fraction(0)),
                        pat + tuple(mask.tolist()),
                    )
                )
        pieces = new
    w_out, b_out = _frac(net.weights[-1]), _frac(net.biases[-1])
    n_act = n_lin = 0
    prev_pat = prev_map = None
    for _, _, jac, c, pat in pieces:
        amap = (tuple(jac.dot(w_out)), tuple(c.dot(w_out) + b_out))
        n_act += pat != prev_pat
        n_lin += amap != prev_map
        prev_pat, prev_map = pat, amap
    return n_act, n_lin


def forward64(net, x: np.ndarray) -> np.ndarray:
    """f(x) in numpy float64 (the JAX forward runs in float32 without x64)."""
    h = np.asarray(x, dtype=np.float64)
    for w, b, act in zip(net.weights, net.biases, net.activations):
        h = h @ w + b
        if act == "relu":
            h = np.maximum(h, 0.0)
    return h[:, 0]


def local_maps(net, x: np.ndarray):
    """Patterns, gradient and offset of the output at points x (float64)."""
    h = np.asarray(x, dtype=np.float64)
    jac = np.broadcast_to(np.eye(x.shape[1]), (x.shape[0], x.shape[1], x.shape[1]))
    bits = []
    for w, b, act in zip(net.weights[:-1], net.biases[:-1], net.activations[:-1]):
        z = h @ w + b
        jac = jac @ w
        if act == "relu":
            m = z > 0
            bits.append(m)
            z = z * m
            jac = jac * m[:, None, :]
        h = z
    f = h @ net.weights[-1] + net.biases[-1]
    g = (jac @ net.weights[-1])[:, :, 0]
    return np.concatenate(bits, 1), g, f[:, 0] - np.einsum("ni,ni->n", g, x)


def grid_counts(net, n: int, lo: float = 0.0, hi: float = 1.0) -> tuple[int, int]:
    """(activation, linear) regions seen on a grid of n^d cell centres of [lo, hi]^d.

    Activation: distinct patterns (regions are convex). Linear: connected components
    (face-adjacent grid cells) of cells sharing one affine map of the output.
    """
    from scipy import ndimage

    d = net.input_dim
    ax = lo + (np.arange(n) + 0.5) / n * (hi - lo)
    pts = np.stack(np.meshgrid(*([ax] * d), indexing="ij"), -1).reshape(-1, d)
    bits, g, off = local_maps(net, pts)
    n_act = len(np.unique(bits, axis=0))
    key = np.concatenate([np.round(g, 9), np.round(off, 9)[:, None]], 1)
    _, lab = np.unique(key, axis=0, return_inverse=True)
    lab = lab.reshape((n,) * d)
    n_lin = sum(ndimage.label(lab == v)[1] for v in np.unique(lab))
    return n_act, n_lin


def zigzag(p: int, u: np.ndarray) -> np.ndarray:
    """Z_p(u) = sigma(p u) + 2 sum_{j=1}^{p-1} (-1)^j sigma(p u - j), straight from math.md."""
    out = np.maximum(p * u, 0.0)
    for j in range(1, p):
        out = out + 2 * (-1) ** j * np.maximum(p * u - j, 0.0)
    return out


# -- structure ------------------------------------------------------------------------------


def test_small_example_matches_math_md_3_5():
    net = C.ternary_alternating(1, [3]).net
    assert net.activations == ("identity", "relu", "identity")
    np.testing.assert_array_equal(net.weights[0], np.ones((1, 6)))
    np.testing.assert_array_equal(net.biases[0], [0, 0, 0, -1, -1, -1])
    rows = [
        [1, 1, 1, 0, 0, 0],
        [1, 1, 0, 1, 0, 0],
        [1, 1, 0, 1, 0, 0],
        [1, 0, 0, 1, 1, 0],
        [1, 0, 0, 1, 1, 0],
    ]
    np.testing.assert_array_equal(net.weights[1], np.array(rows).T)
    np.testing.assert_array_equal(net.biases[1], np.zeros(5))
    np.testing.assert_array_equal(net.weights[2][:, 0], [1, -1, -1, 1, 1])
    np.testing.assert_array_equal(net.biases[2], [0])


@pytest.mark.parametrize("n0", [1, 2, 3])
@pytest.mark.parametrize("ps", [[1], [3], [2, 4], [2, 2, 3]])
def test_widths_activations_and_ternary(n0, ps):
    alt = C.ternary_alternating(n0, ps).net
    gen = C.ternary_all_relu(n0, ps, form="generic").net
    cube = C.ternary_all_relu(n0, ps, form="cube").net
    expect = []
    for p in ps:
        expect += [2 * n0 * p, n0 * (2 * p - 1)]
    assert alt.widths == tuple(expect)
    assert cube.widths == tuple(expect)
    assert gen.widths == tuple(w * 2 if i % 2 == 0 else w for i, w in enumerate(expect))
    assert alt.hidden_activations == ("identity", "relu") * len(ps)
    assert gen.hidden_activations == cube.hidden_activations == ("relu",) * (2 * len(ps))
    for net in (alt, gen, cube):
        assert net.is_ternary() and net.input_dim == n0 and net.output_dim == 1


def test_real_bias_and_montufar_structure():
    rb = C.ternary_real_bias(2, [3, 1], 4)
    assert rb.net.widths == (2 * 2 * 3, 2 * 2 * 1, 2 * 4)
    assert set(rb.net.hidden_activations) == {"relu"}
    assert all(np.all(np.isin(w, (-1, 0, 1))) for w in rb.net.weights)  # ternary weights
    assert not rb.net.is_ternary()  # but real biases
    mo = C.montufar(2, [5, 7])  # p = 2, 3 with 1 dead unit each
    assert mo.net.widths == (5, 7)
    assert mo.regions_unit_cube == (2 * 3) ** 2


# -- math.md section 4 ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "n0, ps, cube, total",
    [
        (1, [2], 2, 3),
        (1, [3], 3, 4),
        (1, [2, 2], 4, 6),
        (1, [4, 4], 16, 18),
        (2, [2], 4, None),
        (2, [3], 9, None),
        (2, [2, 2], 16, None),
    ],
)
def test_math_md_table_ternary_alternating(n0, ps, cube, total):
    c = C.ternary_alternating(n0, ps)
    assert c.regions_unit_cube == cube
    if total is not None:
        assert c.regions_total == total
    assert c.net.widths[:2] == (2 * n0 * ps[0], n0 * (2 * ps[0] - 1))


def test_math_md_table_others():
    rb = C.ternary_real_bias(1, [4], 4)
    assert rb.net.widths == (8, 4) and rb.regions_unit_cube == 25
    rb = C.ternary_real_bias(1, [2], 4)
    assert rb.net.widths == (4, 4) and rb.regions_unit_cube == 15
    mo = C.montufar(1, [4, 4])
    assert (mo.regions_unit_cube, mo.regions_total) == (16, 18)
    for c in (C.ternary_alternating(1, [2]), C.ternary_all_relu(1, [2]), rb):
        assert c.claim.startswith("construction following the paper's")
    assert "not a claim of the paper" in mo.claim


# -- exact counts on the line, n0 = 1 -------------------------------------------------------

PS_1D = [[1], [2], [3], [5], [2, 3], [3, 2], [2, 2, 2], [1, 2], [2, 1], [4, 4], [3, 1, 2]]


def _check_line(c):
    cube = line_counts(c.net, 0, 1)
    assert cube == (c.activation_regions_unit_cube, c.regions_unit_cube), c.params
    if c.regions_total is not None:
        # Every breakpoint lies in [0, 1] (the tails are affine); a wide interval is R.
        total = line_counts(c.net, -40, 50)
        assert total == (c.activation_regions_total, c.regions_total), c.params


@pytest.mark.parametrize("ps", PS_1D)
def test_line_counts_alternating_and_all_relu(ps):
    _check_line(C.ternary_alternating(1, ps))
    _check_line(C.ternary_all_relu(1, ps, form="generic"))
    _check_line(C.ternary_all_relu(1, ps, form="cube"))


@pytest.mark.parametrize("widths", [[1], [2], [4], [4, 4], [3, 2], [5, 3, 2], [2, 2, 2]])
def test_line_counts_montufar(widths):
    _check_line(C.montufar(1, widths))


@pytest.mark.parametrize(
    "ks, m", [([], 1), ([], 4), ([1], 1), ([2], 1), ([3], 1), ([4], 4), ([2, 3], 3), ([1, 1], 2)]
)
def test_line_counts_real_bias(ks, m):
    _check_line(C.ternary_real_bias(1, ks, m))


# -- n0 = 2 and 3: grids and sampling --------------------------------------------------------

CASES_2D = [
    ("alt", lambda: C.ternary_alternating(2, [2])),
    ("alt", lambda: C.ternary_alternating(2, [3])),
    ("alt", lambda: C.ternary_alternating(2, [2, 2])),
    ("alt", lambda: C.ternary_alternating(2, [1, 3])),
    ("alt", lambda: C.ternary_alternating(2, [3, 2])),
    ("gen", lambda: C.ternary_all_relu(2, [2, 2], form="generic")),
    ("gen", lambda: C.ternary_all_relu(2, [3], form="generic")),
    ("cube", lambda: C.ternary_all_relu(2, [2, 2], form="cube")),
    ("rb", lambda: C.ternary_real_bias(2, [2], 2)),
    ("rb", lambda: C.ternary_real_bias(2, [1], 1)),
    ("rb", lambda: C.ternary_real_bias(2, [], 3)),
    ("mo", lambda: C.montufar(2, [4, 4])),
    ("mo", lambda: C.montufar(2, [5, 6])),
]


@pytest.mark.parametrize("case", range(len(CASES_2D)))
def test_grid_counts_plane(case):
    c = CASES_2D[case][1]()
    assert grid_counts(c.net, 216) == (c.activation_regions_unit_cube, c.regions_unit_cube)
    if c.regions_total is not None:
        # The square [-1, 2]^2 holds every breakpoint with margin: its count is R^2's.
        got = grid_counts(c.net, 216, -1.0, 2.0)
        assert got == (c.activation_regions_total, c.regions_total)


CASES_3D = [
    lambda: C.ternary_alternating(3, [2]),
    lambda: C.ternary_alternating(3, [3]),
    lambda: C.ternary_alternating(3, [2, 2]),
    lambda: C.ternary_all_relu(3, [3], form="generic"),
    lambda: C.ternary_all_relu(3, [2], form="cube"),
    lambda: C.ternary_real_bias(3, [1], 2),
    lambda: C.montufar(3, [6, 7]),
]


@pytest.mark.parametrize("case", range(len(CASES_3D)))
def test_counts_cube_3d_sampled_and_grid(case):
    c = CASES_3D[case]()
    rng = np.random.default_rng(case)
    x = rng.uniform(0.0, 1.0, size=(40_000, 3))
    assert (
        len(np.unique(np.asarray(c.net.patterns(x.astype(np.float32))), axis=0))
        == c.activation_regions_unit_cube
    )
    assert grid_counts(c.net, 36) == (c.activation_regions_unit_cube, c.regions_unit_cube)


@pytest.mark.parametrize("case", [0, 1, 2, 5])
def test_sampling_engine_agrees_3d(case):
    c = CASES_3D[case]()
    rc = tj.count_regions(c.net, tj.Box(0.0, 1.0), 65_536, seed=0)
    assert rc.distinct == c.activation_regions_unit_cube


# -- the project's exact engines ------------------------------------------------------------


LINE_CASES = [
    *(lambda ps=ps: C.ternary_alternating(1, ps) for ps in ([2], [3], [2, 2], [4, 4], [2, 3])),
    *(lambda ps=ps: C.ternary_all_relu(1, ps, "generic") for ps in ([3], [2, 2], [3, 2])),
    *(lambda ps=ps: C.ternary_all_relu(1, ps, "cube") for ps in ([3], [2, 2])),
    lambda: C.ternary_real_bias(1, [4], 4),
    lambda: C.ternary_real_bias(1, [2, 3], 1),
    lambda: C.montufar(1, [4, 4]),
    lambda: C.montufar(1, [5, 3, 2]),
]


@pytest.mark.parametrize("case", range(len(LINE_CASES)))
def test_exact_engine_line(case):
    c = LINE_CASES[case]()
    r = tj.exact_regions_1d(c.net, [0.0], [1.0])
    assert (r.activation_regions, r.linear_regions) == (
        c.activation_regions_unit_cube,
        c.regions_unit_cube,
    )
    if c.regions_total is not None:
        r = tj.exact_regions_1d(c.net, None, None)  # the whole real line
        assert (r.activation_regions, r.linear_regions) == (
            c.activation_regions_total,
            c.regions_total,
        )


@pytest.mark.parametrize("case", range(len(CASES_2D)))
def test_exact_engine_plane(case):
    c = CASES_2D[case][1]()
    e1, e2 = [1.0, 0.0], [0.0, 1.0]
    r = tj.exact_regions_2d(c.net, [0.0, 0.0], e1, e2, bounds=(0, 1, 0, 1))
    assert (r.activation_regions, r.linear_regions) == (
        c.activation_regions_unit_cube,
        c.regions_unit_cube,
    )
    if c.regions_total is not None:
        # [-1, 2]^2 holds every breakpoint with margin, so its counts are those of R^2
        r = tj.exact_regions_2d(c.net, [0.0, 0.0], e1, e2, bounds=(-1, 2, -1, 2))
        assert (r.activation_regions, r.linear_regions) == (
            c.activation_regions_total,
            c.regions_total,
        )


# -- functions -------------------------------------------------------------------------------


@pytest.mark.parametrize("n0, ps", [(1, [2]), (1, [3, 2]), (2, [2, 3]), (3, [1, 2, 2]), (2, [4])])
def test_forms_compute_the_same_function(n0, ps):
    rng = np.random.default_rng(7)
    alt = C.ternary_alternating(n0, ps).net
    gen = C.ternary_all_relu(n0, ps, form="generic").net
    cube = C.ternary_all_relu(n0, ps, form="cube").net
    x_all = rng.uniform(-3.0, 4.0, size=(2000, n0))
    expected = np.zeros(len(x_all))
    for i in range(n0):
        u = x_all[:, i]
        for p in ps:
            u = zigzag(p, u)
        expected += u
    np.testing.assert_allclose(forward64(alt, x_all), expected, atol=1e-9)
    np.testing.assert_allclose(forward64(gen, x_all), expected, atol=1e-9)
    # the JAX forward (float32) agrees too
    np.testing.assert_allclose(
        np.asarray(alt(x_all.astype(np.float32))), expected[:, None], rtol=1e-4, atol=1e-3
    )
    x_cube = rng.uniform(0.0, 1.0, size=(2000, n0))
    np.testing.assert_allclose(forward64(cube, x_cube), forward64(alt, x_cube), atol=1e-9)


def test_cube_form_differs_outside_the_cube():
    alt = C.ternary_all_relu(1, [2], form="generic").net
    cube = C.ternary_all_relu(1, [2], form="cube").net
    x = np.array([[2.0], [3.0]])
    assert not np.allclose(forward64(alt, x), forward64(cube, x))


def test_montufar_and_real_bias_functions():
    rng = np.random.default_rng(3)
    x = rng.uniform(0.0, 1.0, size=(1000, 2))
    mo = C.montufar(2, [5, 7])  # p = 2, 3
    expected = sum(zigzag(3, zigzag(2, x[:, i])) for i in range(2))
    np.testing.assert_allclose(forward64(mo.net, x), expected, atol=1e-9)
    # 3.4 folds [0, 1] onto [0, 1/(k+1)] (slopes +-1), then the last layer's sawtooth.
    rb = C.ternary_real_bias(1, [2], 2).net
    t = np.array([[0.1], [1 / 3 + 0.05], [2 / 3 + 0.1]])
    u = np.array([0.1, 1 / 3 - 0.05, 0.1])  # the folded coordinate
    s1, s2 = 1 / 9, 2 / 9
    expected = -np.maximum(s1 - u, 0) + np.maximum(u - s2, 0)
    np.testing.assert_allclose(forward64(rb, t), expected, atol=1e-12)


# -- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: C.ternary_alternating(0, [2]), "n0"),
        (lambda: C.ternary_alternating(1, []), "ps"),
        (lambda: C.ternary_alternating(1, [2, 0]), r"ps\[1\]"),
        (lambda: C.ternary_alternating(1, [1.5]), "integer"),
        (lambda: C.ternary_alternating(1, [True]), "integer"),
        (lambda: C.ternary_alternating(1, "22"), "ps"),
        (lambda: C.ternary_all_relu(1, [2], form="wide"), "form"),
        (lambda: C.ternary_real_bias(1, [2], 0), "m"),
        (lambda: C.ternary_real_bias(1, [0], 2), r"ks\[0\]"),
        (lambda: C.montufar(2, [4, 1]), "n_l >= n0"),
        (lambda: C.build("zigzag", n0=1), "unknown construction"),
    ],
)
def test_bad_arguments_raise(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# -- CLI --------------------------------------------------------------------------------------


def test_cli_construct_writes_a_loadable_network(tmp_path, capsys):
    out = tmp_path / "net.npz"
    assert (
        main(["construct", "ternary-alternating", "--n0", "1", "--ps", "3,3", "--out", str(out)])
        == 0
    )
    text = capsys.readouterr().out
    assert "linear regions, open unit cube" in text and ": 9" in text
    net = tj.load_network(out)
    assert net == C.ternary_alternating(1, [3, 3]).net and net.is_ternary()
    from tern_jax.netfile import read_network_metadata

    meta = read_network_metadata(out)["construction"]
    assert meta["counts"]["linear_regions_unit_cube"] == 9
    assert meta["counts"]["linear_regions_total"] == 10


@pytest.mark.parametrize(
    "argv, name, cube",
    [
        (
            ["ternary-all-relu", "--n0", "2", "--ps", "2,2", "--form", "cube"],
            "ternary_all_relu",
            16,
        ),
        (["ternary-real-bias", "--ks", "3,3", "--m", "3"], "ternary_real_bias", 64),
        (["montufar", "--widths", "4,4"], "montufar", 16),
    ],
)
def test_cli_construct_json(tmp_path, capsys, argv, name, cube):
    out = tmp_path / "n.npz"
    assert main(["construct", *argv, "--out", str(out), "--json"]) == 0
    rec = json.loads(capsys.readouterr().out)
    assert rec["construction"] == name
    assert rec["counts"]["linear_regions_unit_cube"] == cube
    assert rec["fingerprint"] == tj.load_network(out).fingerprint


@pytest.mark.parametrize(
    "argv, match",
    [
        (["montufar", "--ps", "3"], "'ps' does not apply"),
        (["ternary-alternating"], "needs 'ps'"),
        (["ternary-real-bias", "--ks", "2"], "needs 'm'"),
        (["ternary-alternating", "--ps", "2,0"], r"ps\[1\]"),
    ],
)
def test_cli_construct_errors(capsys, argv, match):
    import re

    assert main(["construct", *argv]) == 2
    assert re.search(match, capsys.readouterr().err)


def test_cli_construct_never_overwrites_without_force(tmp_path, capsys):
    out = tmp_path / "net.npz"
    out.write_bytes(b"a user's file")
    argv = ["construct", "ternary-alternating", "--ps", "2", "--out", str(out)]
    assert main(argv) == 2
    assert "--force" in capsys.readouterr().err
    assert out.read_bytes() == b"a user's file"
    assert main([*argv, "--force"]) == 0
    assert C.ternary_alternating(1, [2]).net == tj.load_network(out)
