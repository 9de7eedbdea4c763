"""Exact line engine (tern_jax.exact.line): counts along segments, rays and whole lines.

Expected numbers come from math.md section 4, from hand computation (stated next to each
case), or from an independent method: a plain numpy float64 forward pass on sample points.
"""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference import exact_patterns, small_nets

import tern_jax as tj
from tern_jax import constructions as C

MODES = ("exact", "float64")


def example_35() -> tj.ReLUNet:
    """math.md 3.5 (test_constructions checks that these are its matrices)."""
    return tj.constructions.ternary_alternating(1, [3]).net


def distinct_rows(a: np.ndarray) -> set:
    return {r.tobytes() for r in np.packbits(a, axis=1)} if a.shape[1] else {b""}


# -- math.md section 4, one input -------------------------------------------------------------

# (construction, kwargs, linear regions on the unit interval, over all of R) from math.md 4.
TABLE_1D = [
    (C.ternary_alternating, {"n0": 1, "ps": [2]}, 2, 3),
    (C.ternary_alternating, {"n0": 1, "ps": [3]}, 3, 4),
    (C.ternary_alternating, {"n0": 1, "ps": [2, 2]}, 4, 6),
    (C.ternary_alternating, {"n0": 1, "ps": [4, 4]}, 16, 18),
    (C.ternary_real_bias, {"n0": 1, "ks": [4], "m": 4}, 25, None),  # widths [8, 4]
    (C.ternary_real_bias, {"n0": 1, "ks": [2], "m": 4}, 15, None),  # widths [4, 4]
    (C.montufar, {"n0": 1, "widths": [4, 4]}, 16, 18),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("make", "kw", "cube", "total"), TABLE_1D)
def test_math_section4_counts_1d(make, kw, cube, total, mode):
    c = make(**kw)
    r = tj.exact_regions_1d(c.net, 0, 1, mode=mode)
    assert r.linear_regions == cube == c.regions_unit_cube
    # Activation regions (separately): the construction module's own count.
    assert r.activation_regions == c.activation_regions_unit_cube
    assert r.activation_regions >= r.linear_regions
    assert r.mode == mode
    whole = tj.exact_regions_1d(c.net, None, None, mode=mode)
    if total is not None:
        assert whole.linear_regions == total == c.regions_total
    if c.activation_regions_total is not None:
        assert whole.activation_regions == c.activation_regions_total
    assert whole.domain["kind"] == "line"


def test_example_35_breakpoints_are_exact_fractions():
    net = example_35()
    r = tj.exact_regions_1d(net, 0, 1)
    assert r.mode == "exact" and r.tolerance is None
    assert (r.activation_regions, r.linear_regions) == (3, 3)
    assert r.breakpoints == [Fraction(1, 3), Fraction(2, 3)]
    assert r.linear_breakpoints == [Fraction(1, 3), Fraction(2, 3)]
    whole = tj.exact_regions_1d(net, float("-inf"), float("inf"))
    assert whole.breakpoints == [Fraction(0), Fraction(1, 3), Fraction(2, 3)]
    assert (whole.activation_regions, whole.linear_regions) == (4, 4)
    # Rays: (-inf, 1/2] holds breakpoints 0 and 1/3; [1/2, inf) holds 2/3.
    left = tj.exact_regions_1d(net, None, Fraction(1, 2))
    assert left.domain["kind"] == "ray" and left.breakpoints == [0, Fraction(1, 3)]
    right = tj.exact_regions_1d(net, "1/2", None)
    assert right.breakpoints == [Fraction(2, 3)]
    # A reversed segment is the same set.
    assert tj.exact_regions_1d(net, 1, 0).breakpoints == r.breakpoints


def test_deep_construction_2_pow_20_pieces():
    # math.md 3.2 with p = [4] * 10: 4**10 = 2**20 pieces on the unit interval.
    c = C.ternary_alternating(1, [4] * 10)
    r = tj.exact_regions_1d(c.net, 0, 1)
    assert r.mode == "exact"
    assert r.activation_regions == 2**20 and r.linear_regions == 2**20
    assert r.breakpoints is None  # too many to store by default
    assert r.num_breakpoints == 2**20 - 1
    # Over R: the two unbounded pieces x < 0 and x > 1 (f = 0 on both, not adjacent).
    whole = tj.exact_regions_1d(c.net, None, None)
    assert whole.activation_regions == whole.linear_regions == 2**20 + 2


def test_float64_mode_deep_construction():
    c = C.ternary_alternating(1, [3] * 6)
    r = tj.exact_regions_1d(c.net, 0, 1, mode="float64")
    assert r.activation_regions == r.linear_regions == 3**6
    # No tolerance is involved in either mode; tol is accepted and ignored.
    assert r.tolerance is None and "float64" in r.arithmetic
    same = tj.exact_regions_1d(c.net, 0, 1, mode="float64", tol=0.5)
    assert same.activation_regions == 3**6


# -- activation vs linear, degenerate units (hand-computed) -----------------------------------


def _net(ws, bs, acts):
    return tj.ReLUNet.from_arrays(ws, bs, acts)


@pytest.mark.parametrize("mode", MODES)
def test_activation_and_linear_differ(mode):
    # f = relu(x) - relu(x): two duplicate units cancel. Over R: patterns (0,0), (1,1) -> 2
    # activation regions; f == 0 -> 1 linear region.
    net = _net([[[1.0, 1.0]], [[1.0], [-1.0]]], [[0.0, 0.0], [0.0]], ["relu", "identity"])
    r = tj.exact_regions_1d(net, None, None, mode=mode)
    assert (r.activation_regions, r.linear_regions) == (2, 1)
    assert r.linear_breakpoints == []
    # Units relu(x), relu(x - 1), output reads only the first: breakpoints 0 and 1 split the
    # line into 3 activation regions; f = relu(x) has 2 linear regions.
    net = _net([[[1.0, 1.0]], [[1.0], [0.0]]], [[0.0, -1.0], [0.0]], ["relu", "identity"])
    r = tj.exact_regions_1d(net, None, None, mode=mode)
    assert (r.activation_regions, r.linear_regions) == (3, 2)
    # f = relu(x) - relu(-x) = x: equal slopes on both sides of the pattern change at 0.
    net = _net([[[1.0, -1.0]], [[1.0], [-1.0]]], [[0.0, 0.0], [0.0]], ["relu", "identity"])
    r = tj.exact_regions_1d(net, -3, 5, mode=mode)
    assert (r.activation_regions, r.linear_regions) == (2, 1)


@pytest.mark.parametrize("mode", MODES)
def test_degenerate_units(mode):
    # Unit 1: identically zero (never active). Unit 2: crossing exactly at the segment end 1.
    # Unit 3: crossing at 1/2. Second layer: a unit equal to unit 3 again (zero along an
    # existing breakpoint) -> no new breakpoint.
    w1 = [[0.0, 1.0, 2.0]]
    b1 = [0.0, -1.0, -1.0]
    w2 = [[0.0], [0.0], [1.0]]
    b2 = [0.0]
    net = _net([w1, w2, [[1.0]]], [b1, b2, [0.0]], ["relu", "relu", "identity"])
    r = tj.exact_regions_1d(net, 0, 1, mode=mode, keep_patterns=True)
    assert r.activation_regions == 2
    assert r.breakpoints[0] == pytest.approx(0.5)
    assert not r.patterns[:, 0].any()  # the zero unit is inactive everywhere
    assert not r.patterns[:, 1].any()  # relu(x - 1) is 0 on [0, 1], never > 0


def test_identity_only_network():
    net = _net([[[2.0, -1.0]], [[1.0], [1.0]]], [[0.0, 3.0], [0.0]], ["identity", "identity"])
    r = tj.exact_regions_1d(net, None, None)
    assert (r.activation_regions, r.linear_regions, r.num_breakpoints) == (1, 1, 0)


# -- several inputs: segments and lines through points -------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_two_inputs_segment_and_line(mode):
    net = C.ternary_alternating(2, [2]).net  # f = Z_2(x1) + Z_2(x2)
    # Horizontal segment x2 = 1/4: breakpoint where x1 = 1/2 only.
    r = tj.exact_regions_1d(net, [0, 0.25], [1, 0.25], mode=mode)
    assert r.activation_regions == 2 and r.breakpoints == [Fraction(1, 2)]
    # Whole line through the same points: x1 = 0 and x1 = 1/2 (t = 0, 1/2).
    r = tj.exact_regions_1d(net, [0, 0.25], [1, 0.25], line=True, mode=mode)
    assert r.activation_regions == 3 and r.breakpoints == [0, Fraction(1, 2)]
    # Diagonal: both coordinates break together at t = 1/2 (two hyperplanes, one point).
    r = tj.exact_regions_1d(net, [0, 0], [1, 1], mode=mode)
    assert r.activation_regions == 2 and r.linear_regions == 2


def test_big_integers_fall_back_to_python_ints():
    # Scaling a layer by a positive constant changes no pattern; 2**40 makes int64 overflow.
    c = C.ternary_alternating(1, [3, 3])
    big = 2.0**40
    ws = [np.asarray(w) * big for w in c.net.weights]
    bs = [np.asarray(b) * big ** (i + 1) for i, b in enumerate(c.net.biases)]
    net = tj.ReLUNet.from_arrays(ws, bs, c.net.activations)
    r = tj.exact_regions_1d(net, 0, 1, mode="exact")
    assert r.activation_regions == r.linear_regions == 9


def test_non_dyadic_network_auto_uses_float64_and_exact_agrees():
    c = C.ternary_real_bias(1, [2], 4)  # biases like 1/3 are not dyadic
    auto = tj.exact_regions_1d(c.net, 0, 1)
    assert auto.mode == "float64"
    forced = tj.exact_regions_1d(c.net, 0, 1, mode="exact")
    assert forced.mode == "exact"
    assert (forced.activation_regions, forced.linear_regions) == (15, 15)
    assert (auto.activation_regions, auto.linear_regions) == (15, 15)


def test_record_json():
    r = tj.exact_regions_1d(example_35(), 0, 1)
    d = json.loads(r.to_json())
    assert d["activation_regions"] == 3 and d["linear_regions"] == 3
    assert d["mode"] == "exact" and d["engine"] == "line"
    assert d["fingerprint"] == example_35().fingerprint
    assert d["breakpoints"] == ["1/3", "2/3"]
    assert d["version"] == tj.__version__
    assert "patterns" not in d


# -- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "match"),
    [
        (0.5, 0.5, "empty segment"),
        (float("nan"), 1, "NaN"),
        (0, float("nan"), "NaN"),
        ([0, 1], 1, "coordinates"),
    ],
)
def test_bad_1d_domains(start, end, match):
    with pytest.raises(ValueError, match=match):
        tj.exact_regions_1d(example_35(), start, end)


def test_bad_nd_domains():
    net = C.ternary_alternating(2, [2]).net
    with pytest.raises(ValueError, match="coincide"):
        tj.exact_regions_1d(net, [0, 1], [0, 1])
    with pytest.raises(ValueError, match="two finite points"):
        tj.exact_regions_1d(net, None, None)
    with pytest.raises(ValueError, match="non-finite"):
        tj.exact_regions_1d(net, [0, float("inf")], [1, 1])
    with pytest.raises(ValueError, match="expected 2 coordinates"):
        tj.exact_regions_1d(net, [0, 0, 0], [1, 1, 1])
    with pytest.raises(ValueError, match="mode"):
        tj.exact_regions_1d(net, [0, 0], [1, 1], mode="fast")
    with pytest.raises(TypeError, match="ReLUNet"):
        tj.exact_regions_1d("net.npz", 0, 1)


# -- property tests: exact vs sampling, exact vs float64 ------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(net=small_nets(), seed=st.integers(0, 2**31 - 1), whole=st.booleans())
def test_exact_vs_sampling_and_float64(net, seed, whole):
    rng = np.random.default_rng(seed)
    n0 = net.input_dim
    a = np.round(rng.normal(size=n0) * 4) / 4
    b = a + np.round(rng.normal(size=n0) * 4) / 4
    if np.all(a == b):
        b = a + 1
    r = tj.exact_regions_1d(net, a, b, line=whole, mode="exact", keep_patterns=True)
    f = tj.exact_regions_1d(net, a, b, line=whole, mode="float64")
    assert (f.activation_regions, f.linear_regions) == (r.activation_regions, r.linear_regions)
    assert r.linear_regions <= r.activation_regions == len(distinct_rows(r.patterns))
    # Sample the same domain (for a whole line: a window holding every breakpoint). With one
    # input the line parameter is x itself; otherwise x(t) = a + t (b - a).
    bps = np.array([float(t) for t in r.breakpoints])
    lo, hi = (min(a[0], b[0]), max(a[0], b[0])) if n0 == 1 else (0.0, 1.0)
    if whole:
        lo = min(-1.0, bps.min() - 1) if bps.size else -1.0
        hi = max(2.0, bps.max() + 1) if bps.size else 2.0
    # Sample points have denominator 2**40 (so they avoid every breakpoint, which has a small
    # denominator, almost surely); patterns are evaluated exactly at them.
    den = 2**40
    lo_i, hi_i = int(np.ceil(lo * den)) + 1, int(np.floor(hi * den)) - 1
    grid = np.linspace(lo_i, hi_i, 4000).astype(np.int64) + int(rng.integers(0, 2**30))
    ts = np.concatenate([grid, rng.integers(lo_i, hi_i, 2000)])
    ts = np.minimum(ts, hi_i).astype(object)
    if n0 == 1:
        xs = ts[:, None]
    else:
        # x = a + t (b - a) with a, b multiples of 1/4: numerators over den * 4.
        a4 = np.array([int(v) for v in np.round(a * 4)], dtype=object)
        d4 = np.array([int(v) for v in np.round((b - a) * 4)], dtype=object)
        xs = a4[None, :] * den + ts[:, None] * d4[None, :]
        den = den * 4
    sampled = distinct_rows(exact_patterns(net, xs, den))
    exact_set = distinct_rows(r.patterns)
    # Every sampled pattern is one of the exact pieces' patterns, so never more of them.
    assert sampled <= exact_set
    assert len(sampled) <= r.activation_regions
    # Dense sampling sees every piece when all pieces are long compared with the grid step.
    edges = np.concatenate([[lo], bps, [hi]])
    if np.min(np.diff(edges)) > 3 * (hi - lo) / 4000:
        assert len(sampled) == r.activation_regions


@settings(max_examples=25, deadline=None)
@given(net=small_nets(n0=1, ternary=True), seed=st.integers(0, 2**31 - 1))
def test_net_patterns_sampling_never_exceeds_exact(net, seed):
    # The package's own net.patterns (float32 JAX) on the whole line's window, at odd
    # multiples of 2**-9: float32 evaluates these small ternary nets exactly there.
    r = tj.exact_regions_1d(net, None, None, keep_patterns=True)
    rng = np.random.default_rng(seed)
    xs = ((2 * rng.integers(-2048, 2048, 3000) + 1) / 2**9).astype(np.float32)[:, None]
    pats = np.asarray(net.patterns(xs))
    assert distinct_rows(pats) <= distinct_rows(r.patterns)
    assert len(distinct_rows(pats)) <= r.activation_regions


# -- command line ---------------------------------------------------------------------------------


def test_cli_segment_line_json_and_plot(tmp_path, capsys):
    from tern_jax.cli import main

    path = tj.save_network(example_35(), tmp_path / "net.npz")
    assert main(["exact", str(path), "--segment", "0;1"]) == 0
    out = capsys.readouterr().out
    assert "activation regions" in out and "linear regions" in out and "segment" in out
    assert "rational arithmetic" in out and "1/3, 2/3" in out
    assert main(["exact", str(path), "--line", "0;1", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert (d["activation_regions"], d["linear_regions"]) == (4, 4)
    assert d["domain"]["kind"] == "line" and d["mode"] == "exact"
    png = tmp_path / "f.png"
    assert (
        main(
            [
                "exact",
                str(path),
                "--segment=-inf;inf",
                "--mode",
                "float64",
                "--plot",
                str(png),
                "--json",
            ]
        )
        == 0
    )
    d = json.loads(capsys.readouterr().out)
    assert d["activation_regions"] == 4 and d["mode"] == "float64" and d["tolerance"] is None
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_cli_errors(tmp_path, capsys):
    from tern_jax.cli import main

    path = tj.save_network(example_35(), tmp_path / "net.npz")
    assert main(["exact", str(path), "--segment", "1;1"]) == 2
    assert "empty segment" in capsys.readouterr().err
    assert main(["exact", str(path), "--segment", "0;x"]) == 2
    assert "not a number" in capsys.readouterr().err
    assert main(["exact", str(path), "--segment", "0;1;2"]) == 2
    assert "2 points" in capsys.readouterr().err
    assert main(["exact", str(path), "--segment", "nan;1"]) == 2
    assert "error" in capsys.readouterr().err


@pytest.mark.parametrize("mode", MODES)
def test_chunked_layers_give_the_same_partition(monkeypatch, mode):
    from tern_jax.exact import _line_refine as line_mod

    c = C.ternary_alternating(1, [3, 2, 3])
    net = c.net
    ref = tj.exact_regions_1d(net, None, None, mode=mode, keep_patterns=True)
    monkeypatch.setattr(line_mod, "CHUNK_ENTRIES", 7)  # a few pieces per chunk
    r = tj.exact_regions_1d(net, None, None, mode=mode, keep_patterns=True)
    assert r.breakpoints == ref.breakpoints
    assert np.array_equal(r.patterns, ref.patterns)
    assert r.activation_regions == ref.activation_regions
    assert r.linear_regions == ref.linear_regions == c.regions_total
