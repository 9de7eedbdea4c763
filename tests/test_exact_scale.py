"""Exact counts do not depend on scale: windows from 1e-3 to 1e6, weights from 1e-6 to 1e6,
inputs scaled together with the first layer, hidden units reordered.

Expected numbers come from an independent method: the regions of a line arrangement,
counted in Fractions (tests/exact_nets.py), or the count of the same network before the
transformation (for transformations that are exact in float64: powers of two, permutations).
"""

from __future__ import annotations

import itertools
from fractions import Fraction
from math import comb

import numpy as np
import pytest
from exact_nets import arrangement, degenerate_nets, generic_nets, net_from, one_layer_arrangements
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tern_jax as tj

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def counts(net, domain, mode):
    r = tj.exact_regions(net, domain, mode=mode)
    return r.activation_regions, r.linear_regions


def box(R) -> tj.Plane:
    return tj.Plane([0, 0], [1, 0], [0, 1], bounds=(-R, R, -R, R))


# -- one hidden layer: the arrangement count, at every scale -----------------------------------


@SETTINGS
@given(
    arr=one_layer_arrangements(),
    log_size=st.floats(-3, 5.5),
    log_weight=st.floats(-6, 6),
    log_window=st.floats(0, 1.5),
    seed=st.integers(0, 2**31 - 1),
)
def test_one_layer_counts_the_arrangement_at_every_scale(
    arr, log_size, log_weight, log_window, seed
):
    # Features of size s (inputs scaled by s together with the first layer: the line
    # w . x + b = 0 becomes w . x' + s b = 0), every coefficient times a weight scale.
    w, b = arr
    size, scale = 10.0**log_size, 10.0**log_weight
    w1, b1 = w * scale, b * size * scale
    truth, reach = arrangement(w1, b1)  # of the network as stored
    out = np.random.default_rng(seed).choice([-2.0, -1.0, 0.5, 1.5], size=(w.shape[1], 1))
    net = net_from([w1, out], [b1, np.zeros(1)], ["relu", "identity"])
    R = float(max(2 * reach, Fraction(size))) * 10.0**log_window  # holds every feature
    for mode in ("auto", "exact"):
        r = tj.exact_regions(net, box(R), mode=mode)
        assert r.activation_regions == truth
        assert r.linear_regions <= truth


@pytest.mark.parametrize("e", [-30, -10, 0, 7, 20])
def test_power_of_two_rescaling_is_exact(e):
    # Lines through one dyadic point plus generic ones: concurrency survives an exact
    # rescaling of inputs and weights by 2**e, so the count is the same at every e.
    w = np.array([[1.0, 0.5, -0.25, 1.0, 0.75], [0.0, 1.0, 1.0, -1.0, 0.125]])
    b = -(np.array([0.5, 0.25]) @ w)
    b[3:] += [0.375, -0.625]
    truth, reach = arrangement(w, b)
    # 3 lines through (0.5, 0.25) (2 beyond a simple crossing), 7 simple crossings.
    assert truth == 1 + 5 + 2 + 7 and 2 * reach < 16
    w1, b1 = w * 2.0**e, b * 2.0 ** (2 * e)  # inputs scaled by 2**e, weights by 2**e
    net = net_from([w1, np.ones((5, 1))], [b1, np.zeros(1)], ["relu", "identity"])
    for mode in ("auto", "exact", "float64"):
        assert counts(net, box(2.0**e * 16), mode)[0] == truth


# -- the example: 60 random lines, windows from 3000 to 1e6 ----------------------------


def test_sixty_units_every_window_from_3000_to_1e6():
    rng = np.random.default_rng(30)
    n = 60
    w, b = rng.normal(size=(2, n)), rng.normal(size=n)
    net = net_from([w, rng.normal(size=(n, 1))], [b, np.zeros(1)], ["relu", "identity"])
    # Independent check, in Fractions, that the truth is 1 + n + C(n, 2) in every window
    # below: no two lines parallel, no three through one point, every crossing inside.
    L = [
        (Fraction(float(w[0, j])), Fraction(float(w[1, j])), Fraction(float(b[j])))
        for j in range(n)
    ]
    crossings = set()
    for (a1, c1, d1), (a2, c2, d2) in itertools.combinations(L, 2):
        det = a1 * c2 - a2 * c1
        assert det != 0
        p = ((c1 * d2 - c2 * d1) / det, (a2 * d1 - a1 * d2) / det)
        assert abs(p[0]) < 3000 and abs(p[1]) < 3000
        crossings.add(p)
    assert len(crossings) == comb(n, 2)
    truth = 1 + n + comb(n, 2)
    assert truth == 1831
    for R in (3000, 5000, 1e4, 1e5, 1e6):
        r = tj.exact_regions_2d(net, [0, 0], [1, 0], [0, 1], (-R, R, -R, R))
        assert r.mode == "float64"  # the default for Gaussian weights
        assert (r.activation_regions, r.linear_regions) == (truth, truth)


# -- deeper networks: transformations that change nothing ------------------------------------


def _domains(n0):
    return [
        tj.Plane(
            [0.25, -0.5][:n0] + [0.0] * (n0 - 2), np.eye(n0)[0], np.eye(n0)[1], (-3, 3, -2, 2)
        ),
        tj.Segment([-3.0] * n0, [2.5] * n0),
    ]


def _scaled_inputs(net, e: int):
    """The network of inputs x' = 2**e x: first layer weights times 2**-e (exact)."""
    ws = [np.asarray(w) for w in net.weights]
    ws[0] = ws[0] * 2.0**-e
    return net_from(ws, [np.asarray(b) for b in net.biases], net.activations)


def _permuted(net, seed):
    """The same network with every hidden layer's units in another order."""
    rng = np.random.default_rng(seed)
    ws = [np.asarray(w).copy() for w in net.weights]
    bs = [np.asarray(b).copy() for b in net.biases]
    for i in range(len(ws) - 1):
        p = rng.permutation(ws[i].shape[1])
        ws[i], bs[i], ws[i + 1] = ws[i][:, p], bs[i][p], ws[i + 1][p, :]
    return net_from(ws, bs, net.activations)


@SETTINGS
@given(
    net=st.one_of(degenerate_nets(), generic_nets()),
    e=st.integers(-20, 20),
    seed=st.integers(0, 2**31 - 1),
)
def test_scaling_inputs_with_first_layer_and_reordering_units(net, e, seed):
    scaled, permuted = _scaled_inputs(net, e), _permuted(net, seed)
    for dom in _domains(2):
        ref = counts(net, dom, "exact")
        assert counts(net, dom, "float64") == ref
        assert counts(permuted, dom, "auto") == ref
        if isinstance(dom, tj.Plane):
            big = tj.Plane(np.asarray(dom.origin) * 2.0**e, [2.0**e, 0], [0, 2.0**e], dom.bounds)
        else:
            big = tj.Segment(np.asarray(dom.start) * 2.0**e, np.asarray(dom.end) * 2.0**e)
        assert counts(scaled, big, "auto") == ref


@SETTINGS
@given(net=generic_nets(max_width=4), log_c=st.floats(-6, 6))
def test_generic_networks_any_input_scale(net, log_c):
    # Any factor c: the stored first layer W / c rounds, which moves nothing that is not
    # degenerate to 1e-16, and Gaussian networks have nothing that close.
    c = 10.0**log_c
    ws = [np.asarray(w) for w in net.weights]
    ws[0] = ws[0] / c
    scaled = net_from(ws, [np.asarray(bb) for bb in net.biases], net.activations)
    ref = counts(net, box(3.0), "auto")
    assert counts(scaled, tj.Plane([0, 0], [c, 0], [0, c], (-3, 3, -3, 3)), "auto") == ref
    assert counts(scaled, box(3.0 * c), "auto") == ref
