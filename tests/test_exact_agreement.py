"""float64 (filtered) and exact (integer) arithmetic give the same counts on every network,
and exact arithmetic works on any finite float64 network.

Both modes count the network as stored, exactly; they differ only in how (module
docstrings of tern_jax.exact.filtered and tern_jax.exact.rational). The tests compare the
two on hundreds of random, degenerate and rescaled networks, and each against an independent
reference where one exists (patterns of sample points in Fractions: tests/reference.py).
"""

from __future__ import annotations

import numpy as np
import pytest
from exact_nets import degenerate_nets, generic_nets, net_from
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference import exact_patterns

import tern_jax as tj
from tern_jax import constructions as C

MANY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def both(net, domain, **kw):
    e = tj.exact_regions(net, domain, mode="exact", **kw)
    f = tj.exact_regions(net, domain, mode="float64", **kw)
    return e, f


def rows(a) -> set:
    return {r.tobytes() for r in np.packbits(a, axis=1)} if a.shape[1] else {b""}


@MANY
@given(net=st.one_of(degenerate_nets(), generic_nets()), seed=st.integers(0, 2**31 - 1))
def test_plane_modes_agree(net, seed):
    rng = np.random.default_rng(seed)
    R = float(2.0 ** rng.integers(-3, 8))
    origin = np.round(rng.normal(size=2) * 4) / 4 * R
    dom = tj.Plane(origin, [1, 0], [0, 1], (-R, R, -R / 2, R))
    e, f = both(net, dom, keep_cells=True)
    assert (e.activation_regions, e.linear_regions) == (f.activation_regions, f.linear_regions)
    assert e.num_vertices == f.num_vertices and e.num_edges == f.num_edges
    assert rows(e.patterns) == rows(f.patterns)


@MANY
@given(
    net=st.one_of(degenerate_nets(n0=3), generic_nets(n0=3), degenerate_nets(n0=1)),
    seed=st.integers(0, 2**31 - 1),
    whole=st.booleans(),
)
def test_line_modes_agree(net, seed, whole):
    rng = np.random.default_rng(seed)
    n0 = net.input_dim
    a = np.round(rng.normal(size=n0) * 4) / 4
    b = a + np.round(rng.normal(size=n0) * 4) / 4 + (rng.integers(1, 4) if n0 == 1 else 0)
    if np.all(a == b):
        b = a + 1
    dom = tj.Line(a, b) if whole else tj.Segment(a, b)
    e, f = both(net, dom, keep_patterns=True)
    assert (e.activation_regions, e.linear_regions) == (f.activation_regions, f.linear_regions)
    assert np.array_equal(e.patterns, f.patterns)
    # Every breakpoint of the float64 run is the exact one, rounded.
    assert f.breakpoints == pytest.approx([float(t) for t in e.breakpoints], rel=1e-9, abs=1e-12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(net=degenerate_nets(), seed=st.integers(0, 2**31 - 1))
def test_plane_patterns_match_exact_sampling(net, seed):
    # Independent reference: patterns of sample points computed in Fractions are patterns
    # of cells, and a sample strictly inside every cell... is not needed: every sampled
    # pattern must be one of the cells' patterns in both modes.
    rng = np.random.default_rng(seed)
    dom = tj.Plane([0, 0], [1, 0], [0, 1], (-2, 2, -2, 2))
    e, f = both(net, dom, keep_cells=True)
    den = 2**40
    pts = rng.integers(-2 * den + 1, 2 * den, size=(4000, 2)).astype(object)
    sampled = rows(exact_patterns(net, pts, den))
    assert sampled <= rows(e.patterns) == rows(f.patterns)


# -- exact arithmetic on any finite float64 network ------------------------------------------


def test_issue_overflow_example_every_output_map_zero():
    net = tj.ReLUNet.from_arrays(
        [[[0.744665291371974], [1.0]], [[-0.13796506137840808]]],
        [[-5.0], [0.0]],
        ["relu", "identity"],
    )
    # The unit is 0.74 x + y - 5 < 0 on the whole square: inactive, f == 0.
    for mode in ("exact", "float64", "auto"):
        r = tj.exact_regions_2d(net, [0, 0], [1, 0], [0, 1], bounds=(-1, 1, -1, 1), mode=mode)
        assert (r.activation_regions, r.linear_regions) == (1, 1)
        r = tj.exact_regions_1d(net, [-1, -1], [1, 1], line=True, mode=mode)
        assert (r.activation_regions, r.linear_regions) == (2, 2)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**31 - 1),
    exps=st.lists(st.integers(-300, 300), min_size=3, max_size=3),
    whole=st.booleans(),
)
def test_exact_mode_never_raises_on_finite_weights(seed, exps, whole):
    # Layers scaled by 2**e up to 2**300 either way (denominators up to 2**350), zero
    # layers and subnormal entries: exact arithmetic is slow there but works, and the
    # filtered float64 run (whose own products may overflow or underflow) agrees.
    rng = np.random.default_rng(seed)
    ws = [rng.normal(size=(2, 3)), rng.normal(size=(3, 3)), rng.normal(size=(3, 1))]
    bs = [rng.normal(size=3), rng.normal(size=3), np.zeros(1)]
    for w, b, e in zip(ws, bs, exps):
        w *= 2.0**e
        b *= 2.0**e
    if rng.random() < 0.3:
        ws[1][:] = 0.0  # every map of that layer is 0
    if rng.random() < 0.3:
        ws[0][0, 0] = 5e-324  # a subnormal weight
    net = net_from(ws, bs, ["relu", "relu", "identity"])
    dom = tj.Line([0, 0], [1, 0.5]) if whole else tj.Plane([0, 0], [1, 0], [0, 1], (-1, 1, -1, 1))
    e, f = both(net, dom)
    assert (e.activation_regions, e.linear_regions) == (f.activation_regions, f.linear_regions)
    assert e.arithmetic.startswith("exact")


def test_float64_mode_on_constructions_counts_exactly():
    # Ternary constructions are degenerate everywhere (duplicated units, lines through
    # vertices): float64 mode settles those decisions exactly and says how many.
    c = C.ternary_alternating(2, [2, 2])
    f = tj.exact_regions_2d(c.net, [0, 0], [1, 0], [0, 1], (0, 1, 0, 1), mode="float64")
    assert f.linear_regions == c.regions_unit_cube == 16
    assert "exact fallback for" in f.arithmetic and f.tolerance is None
    line = tj.exact_regions_1d(C.ternary_alternating(1, [4, 4]).net, None, None, mode="float64")
    assert line.linear_regions == 18
