"""Samples that never invent patterns, and exact lattice arithmetic (math.md sections 1, 5).

Truth comes from the exact engines (rational arithmetic) or from math.md section 4, never
from earlier sampled output.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tern_jax as tj
from tern_jax import constructions as C
from tern_jax.cli import main
from tern_jax.sampling import device as dev
from tern_jax.sampling import lattice, samplers

SHIFTS = [1, 8, 1000, 2**20]
SETTINGS = settings(max_examples=10, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])  # fmt: skip


def shifted(con_net: tj.ReLUNet, shift: float, scale: float = 1.0) -> tj.ReLUNet:
    """The network x -> net((x - scale * shift) / scale): the unit cube's pieces moved to
    [scale * shift, scale * (shift + 1)]^n0 (first-layer weights / scale, biases - shift W1)."""
    ws, bs = list(con_net.weights), list(con_net.biases)
    bs[0] = bs[0] - shift * ws[0].sum(axis=0) if np.ndim(shift) == 0 else bs[0] - shift @ ws[0]
    ws[0] = ws[0] / scale
    return tj.ReLUNet.from_arrays(ws, bs, con_net.activations)


def _random_integer_net(rng, dims, acts, top=1):
    ws = [rng.integers(-top, top + 1, size=(a, b)).astype(float)
          for a, b in itertools.pairwise(dims)]  # fmt: skip
    bs = [rng.integers(-top, top + 1, size=b).astype(float) for b in dims[1:]]
    return tj.ReLUNet.from_arrays(ws, bs, [*acts, "identity"])


# -- the construction moved away from the origin ---------------------------------------------


@pytest.mark.parametrize("shift", SHIFTS)
def test_shifted_construction_gives_exactly_its_pieces(shift):
    # math.md 3.2, n0 = 1, p = [4, 4]: 16 pieces in [shift, shift + 1]. The float32 sampler
    # of earlier versions reported 17, 19 and 9 here (samples rounded onto breakpoints).
    net = shifted(C.ternary_alternating(1, [4, 4]).net, shift)
    lo, hi = float(shift), float(shift + 1)
    assert tj.exact_regions_1d(net, lo, hi, mode="exact").activation_regions == 16
    rec = tj.count_regions(net, tj.Box(lo, hi), 1 << 20, seed=0)
    assert rec.arithmetic["exact"] and rec.precision == "float32"
    assert rec.distinct == 16 and rec.affine_distinct == 16


@pytest.mark.parametrize("shift", SHIFTS)
def test_shifted_square_construction_gives_its_256_cells(shift):
    net = shifted(C.ternary_alternating(2, [4, 4]).net, shift)
    lo, hi = float(shift), float(shift + 1)
    if shift == 1:  # the plane engine agrees with math.md section 4 (one is enough: slow)
        exact = tj.exact_regions_2d(net, [lo, lo], [1, 0], [0, 1], (0, 1, 0, 1), mode="exact")
        assert exact.activation_regions == 256
    rec = tj.count_regions(net, tj.Box(lo, hi), 1 << 20, seed=1)
    assert rec.distinct == 256
    plane = tj.Plane([lo, lo], [1.0, 0.0], [0.0, 1.0], (0.0, 1.0, 0.0, 1.0))
    assert tj.count_regions(net, plane, 1 << 19, seed=2).distinct == 256


@pytest.mark.slow
@pytest.mark.parametrize("shift", SHIFTS)
def test_shifted_constructions_at_ten_million_samples(shift):
    lo, hi = float(shift), float(shift + 1)
    one = shifted(C.ternary_alternating(1, [4, 4]).net, shift)
    two = shifted(C.ternary_alternating(2, [4, 4]).net, shift)
    assert tj.count_regions(one, tj.Box(lo, hi), 10**7).distinct == 16
    assert tj.count_regions(two, tj.Box(lo, hi), 10**7).distinct == 256


# -- never above the truth -------------------------------------------------------------------


@SETTINGS
@given(
    shift=st.integers(0, 2**30),
    log_scale=st.floats(-6, 6),
    ps=st.sampled_from([[4, 4], [3, 2], [2, 2, 2]]),
)
def test_shifted_and_scaled_constructions_never_exceed_exact(shift, log_scale, ps):
    scale = 10.0**log_scale  # rarely dyadic: these take the float64 path
    net = shifted(C.ternary_alternating(1, ps).net, shift, scale)
    lo, hi = scale * shift, scale * (shift + 1)
    exact = tj.exact_regions_1d(net, lo, hi, mode="exact").activation_regions
    rec = tj.count_regions(net, tj.Box(lo, hi), 1 << 16, seed=shift % 7)
    assert rec.distinct <= exact
    assert rec.affine_distinct <= rec.distinct
    if scale == 1.0 or rec.arithmetic["exact"]:
        assert rec.distinct == exact == math.prod(ps)


@SETTINGS
@given(seed=st.integers(0, 2**31), shift=st.integers(0, 2**30), log_scale=st.integers(-20, 20))
def test_random_integer_networks_never_exceed_exact(seed, shift, log_scale):
    # Integer weights and biases in [-2, 2], the interesting part of R^1 and R^2 moved by
    # 2^30 at most and scaled by a power of two (exact either way).
    rng = np.random.default_rng(seed)
    scale = 2.0**log_scale
    one = shifted(_random_integer_net(rng, [1, 6, 6, 1], ["relu", "relu"], 2), shift, scale)
    lo, hi = scale * (shift - 3), scale * (shift + 3)
    exact = tj.exact_regions_1d(one, lo, hi, mode="exact").activation_regions
    assert tj.count_regions(one, tj.Box(lo, hi), 1 << 16, seed=seed % 5).distinct <= exact
    two = _random_integer_net(rng, [2, 5, 5, 1], ["relu", "relu"])
    two = shifted(two, np.array([shift, -shift], float), scale)
    o = np.array([scale * (shift - 2), scale * (-shift - 2)])
    box = (0.0, 4 * scale, 0.0, 4 * scale)
    truth = tj.exact_regions_2d(two, o, [1, 0], [0, 1], box, mode="exact").activation_regions
    rec = tj.count_regions(two, tj.Box(o, o + 4 * scale), 1 << 16, seed=1)
    assert rec.distinct <= truth
    assert rec.affine_distinct <= rec.distinct


# -- the lattice path is the float64 path, faster --------------------------------------------

EXACT_NETS = {
    "3.2 n0=1 [4,4]": (C.ternary_alternating(1, [4, 4]).net, tj.Box(0.0, 1.0)),
    "3.2 n0=2 [4,4]": (C.ternary_alternating(2, [4, 4]).net, tj.Box(0.0, 1.0)),
    "ternary 2-16-16 relu": (
        _random_integer_net(np.random.default_rng(1), [2, 16, 16, 1], ["relu", "relu"]),
        tj.Box(-1.0, 1.0),
    ),
    "ternary 3-12x4 alternating": (
        _random_integer_net(
            np.random.default_rng(2), [3, 12, 12, 12, 12, 1], ["identity", "relu"] * 2
        ),
        tj.Box(-2.0, 2.0),
    ),
}


@pytest.mark.parametrize("name", list(EXACT_NETS))
def test_lattice_path_gives_the_float64_record(name):
    net, dom = EXACT_NETS[name]
    fast = tj.count_regions(net, dom, 10**6, seed=3)
    slow = tj.count_regions(net, dom, 10**6, seed=3, precision="float64")
    assert fast.precision == "float32" and slow.precision == "float64"
    assert fast.arithmetic["exact"] and slow.arithmetic["exact"]
    assert fast.arithmetic["lattice_bits"] == slow.arithmetic["lattice_bits"] >= lattice.M_MIN
    a, b = fast.figures(), slow.figures()
    for d in (a, b):
        d.pop("precision"), d.pop("arithmetic")
    assert a == b and fast.distinct > 1


def test_integer_form_equals_scaled_preactivations():
    # A dyadic network (ternary x 1/8, biases x 1/4) on a box with dyadic, off-origin corners:
    # the integer network's pre-activations are 2^S_l z_l exactly (Fractions) at lattice points.
    rng = np.random.default_rng(5)
    base = _random_integer_net(rng, [2, 6, 6, 6, 1], ["relu", "identity", "relu"])
    net = tj.ReLUNet.from_arrays([w / 8 for w in base.weights], [b / 4 for b in base.biases],
                                 base.activations)  # fmt: skip
    lo, hi = np.array([-3.25, 1000.5]), np.array([-1.75, 1002.5])
    sampling = samplers.resolve(tj.Box(lo, hi), 2)
    arith = lattice.plan(net, sampling, "auto")
    # z_1 is about 1000 / 8 here: 2^37 lattice units, exact in float64 but not in float32
    assert arith.exact and arith.precision == "float64"
    inet, m = arith.integer, arith.lattice_bits
    bound = lattice.magnitude_bound(inet.layers, net.activations, m)
    t = 2 * rng.integers(0, 2**m, size=(50, 2)) + 1
    for row in t:
        x = [Fraction(float(lo[j])) + Fraction(int(row[j]), 2 ** (m + 1))
             * (Fraction(float(hi[j])) - Fraction(float(lo[j]))) for j in range(2)]  # fmt: skip
        h_true, h_int = x, [int(v) for v in row]
        for i, act in enumerate(net.activations[:-1]):
            w, b = net.weights[i], net.biases[i]
            z = [sum(h_true[j] * Fraction(float(w[j, u])) for j in range(len(h_true)))
                 + Fraction(float(b[u])) for u in range(w.shape[1])]  # fmt: skip
            wi, bi = inet.layers[i]
            zi = [sum(h_int[j] * int(wi[j, u]) for j in range(len(h_int))) + int(bi[u])
                  for u in range(wi.shape[1])]  # fmt: skip
            assert all(Fraction(a) == 2 ** inet.scales[i] * c for a, c in zip(zi, z))
            assert max(abs(a) for a in zi) <= bound
            relu = act == "relu"
            h_true = [max(v, 0) if relu else v for v in z]
            h_int = [max(v, 0) if relu else v for v in zi]


def test_samples_are_cell_centres():
    sampling = samplers.resolve(tj.Box([-1.0, 3.0], [1.0, 7.0]), 2)
    c = dev.sample_coordinates(sampling, 0, 5000, 12)
    t = c * 2.0**13  # odd integers 1 .. 2^13 - 1
    assert np.all(t == np.round(t)) and np.all(t % 2 == 1)
    assert np.all((t >= 1) & (t < 2**13))
    assert abs(float(np.mean(c)) - 0.5) < 0.02


# -- runs that cannot be trusted say so ------------------------------------------------------


def test_huge_domain_is_an_error():
    net = C.ternary_alternating(1, [4, 4]).net
    with pytest.raises(tj.TernJaxError, match="beyond 2\\^52") as err:
        tj.count_regions(net, tj.Box(-1e150, 1e150), 1000)
    assert isinstance(err.value, ValueError)
    with pytest.raises(ValueError, match="meaningless"):
        tj.count_regions(net, tj.Gaussian(0.0, 1e20), 1000)
    # float32 cannot hold a first layer of magnitude 1e36 times a domain of width 1e6
    big = tj.ReLUNet.from_arrays([net.weights[0] * 1e36, *net.weights[1:]], net.biases,
                                 net.activations)  # fmt: skip
    with pytest.raises(ValueError, match="beyond what float32 holds"):
        tj.count_regions(big, tj.Box(0.0, 1e6), 1000, precision="float32")
    assert tj.count_regions(big, tj.Box(0.0, 1e6), 1000).precision == "float64"


def test_huge_domain_on_the_command_line(tmp_path, capsys):
    path = tmp_path / "net.npz"
    tj.save_network(C.ternary_alternating(1, [4, 4]).net, path)
    assert main(["count", str(path), "-n", "1000", "--domain", "box:-1e150,1e150"]) == 2
    err = capsys.readouterr().err
    assert "meaningless" in err and "Traceback" not in err


def _deep_integer_net():
    # 64-wide ternary layers: pre-activations beyond 2^24 lattice units on any fine grid.
    return _random_integer_net(np.random.default_rng(0), [2, 64, 64, 64, 1], ["relu"] * 3)


def test_unproven_float32_warns_with_a_measured_check(tmp_path, capsys):
    net = _deep_integer_net()
    auto = tj.count_regions(net, tj.Box(-1.0, 1.0), 20_000)
    assert auto.precision == "float64"
    rec = tj.count_regions(net, tj.Box(-1.0, 1.0), 20_000, precision="float32")
    check = rec.arithmetic["float32_check"]
    assert not rec.arithmetic["exact"] and check["checked"] == dev.BLOCK
    assert 0 <= check["differing"] <= check["checked"]
    assert check["rate"] <= check["rate_upper_95"] <= 1
    assert any("float32 is not proven exact" in w for w in rec.warnings)
    path = tmp_path / "net.npz"
    tj.save_network(net, path)
    args = ["count", str(path), "-n", "20000", "--domain", "box:-1,1", "--precision", "float32"]
    assert main([*args, "--json"]) == 0
    out = capsys.readouterr()
    assert "float32 is not proven exact" in out.err  # said on the terminal, not only in JSON


def test_real_weights_take_float64_by_default():
    rng = np.random.default_rng(3)
    ws = [rng.normal(size=(2, 8)), rng.normal(size=(8, 1))]
    net = tj.ReLUNet.from_arrays(ws, [rng.normal(size=8), np.zeros(1)], ["relu", "identity"])
    rec = tj.count_regions(net, tj.Box(-1.0, 1.0), 10_000)
    assert rec.precision == "float64" and not rec.arithmetic["exact"]
    assert rec.arithmetic["lattice_bits"] == lattice.M_MAX
    assert not any("float32" in w for w in rec.warnings)
