"""The volume estimators (tj.estimate_regions) against exact truth from independent methods:
the exact plane and line engines, Zaslavsky's closed form, a brute-force LP search
(experiments/_bruteforce.py), and exact region masses for the Horvitz-Thompson maths."""

from __future__ import annotations

import itertools
import json
import os
import sys
from math import comb

import numpy as np
import pytest

import tern_jax as tj
from tern_jax.estimators import compare_estimators, horvitz, polytopes
from tern_jax.estimators.local import local_domain

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "experiments"))

from _bruteforce import count_box_regions  # noqa: E402


def _exact_2d(net, lo, hi):
    return tj.exact_regions_2d(net, [0, 0], [1, 0], [0, 1], bounds=(lo, hi, lo, hi))


def _vertex_cube(net):
    w, b = net.weights[0], net.biases[0]
    far = 1.0
    n0, n = w.shape
    for idx in itertools.combinations(range(n), n0):
        far = max(far, float(np.abs(np.linalg.solve(w[:, idx].T, -b[list(idx)])).max()))
    return float(np.ceil(far * 1.1))


# -- Horvitz-Thompson maths on populations with known masses ---------------------------------
def test_inclusion_is_accurate_for_tiny_masses():
    assert horvitz.inclusion(1e-15, 1000) == pytest.approx(1e-12, rel=1e-9)
    assert horvitz.inclusion(1.0, 5) == 1.0
    assert horvitz.inclusion(0.5, 2) == pytest.approx(0.75)


def test_horvitz_thompson_is_unbiased_but_its_interval_under_covers_heavy_tails():
    # 60 classes with masses over five orders of magnitude; multinomial draws are exactly
    # the uniform sampling of a partition with these masses.
    rng = np.random.default_rng(0)
    p = np.exp(rng.uniform(np.log(1e-4), np.log(1.0), 60))
    p /= p.sum()
    m, reps = 2000, 400
    ests, cover = [], 0
    for _ in range(reps):
        seen = np.unique(rng.choice(60, size=m, p=p))
        est, var = horvitz.horvitz_thompson(p[seen], m)
        lo, hi = horvitz.normal_interval(est, var, len(seen), 0.95)
        ests.append(est)
        cover += lo <= 60 <= hi
    se = np.std(ests) / np.sqrt(reps)
    assert abs(np.mean(ests) - 60) < 4 * se  # unbiased
    # ... but right-skewed: usually below 60, rarely far above (a small class hit once), so
    # its normal interval holds 60 in only about 72% of the samples. This is why the volume
    # method adds neighbours (catchments with masses near those of their large neighbours).
    assert 0.6 < cover / reps < 0.9


def test_pair_terms_match_the_exact_joint_inclusion():
    # Two overlapping catchments: pi_RS computed directly.
    a = np.array([0.01, 0.02])
    m, c = 50, 0.005
    pi = 1 - (1 - a) ** m
    pij = 1 - (1 - a[0]) ** m - (1 - a[1]) ** m + (1 - a[0] - a[1] + c) ** m
    want = 2 * (pij - pi[0] * pi[1]) / (pi[0] * pi[1] * pij)
    got = horvitz.pair_terms(a, m, (np.array([0]), np.array([1]), np.array([c])))
    assert got == pytest.approx(want, rel=1e-9)


# -- region geometry ---------------------------------------------------------------------------
def test_polygon_cell_area_and_facets():
    lo, hi = np.zeros(2), np.ones(2)
    # x + y <= 1 and y >= 0.25 (written as -y + 0.25 <= 0): legs 0.75 in the unit square
    cl = polytopes.polygon_cell(np.array([[1.0, 1.0], [0.0, -1.0]]), np.array([-1.0, 0.25]), lo, hi)
    assert cl.volume == pytest.approx(0.5 * 0.75 * 0.75, rel=1e-12)  # a right triangle
    assert len(cl.facets) == 2
    for point, normal in cl.facets:
        assert 0 < point[0] < 1 and 0 <= point[1] <= 1
        assert np.linalg.norm(normal) == pytest.approx(1.0)


def test_qhull_and_lp_cells_of_a_simplex():
    lo, hi = np.zeros(3), np.ones(3)
    a, c = np.array([[1.0, 1.0, 1.0]]), np.array([-1.0])  # x + y + z <= 1 in the unit cube
    cl = polytopes.qhull_cell(a, c, lo, hi)
    assert cl.volume == pytest.approx(1 / 6, rel=1e-9)
    assert len(cl.facets) == 1
    point, _ = cl.facets[0]
    assert point.sum() == pytest.approx(1.0) and np.all(point > 0)
    lp, lps = polytopes.lp_cell(a, c, lo, hi)
    assert len(lp.facets) == 1 and np.isnan(lp.volume) and lps >= 1
    assert lp.facets[0][0].sum() == pytest.approx(1.0)


# -- estimate_regions against exact truth ------------------------------------------------------
def test_volume_estimate_on_a_2d_ternary_net_matches_the_plane_engine():
    net = tj.random_network(2, [8, 8, 8, 8], architecture="alternating", seed=3)
    truth = _exact_2d(net, -2, 2).activation_regions  # 94
    r = tj.estimate_regions(net, tj.Box(-2, 2), 500, seed=0)
    assert r.kind == "activation regions" and r.method == "volume"
    assert r.volume_method == "exact polygon"
    assert r.distinct <= r.found <= truth and r.lower_bound <= truth
    assert r.interval[0] <= truth <= r.interval[1]
    assert r.distinct == tj.count_regions(net, tj.Box(-2, 2), 500, seed=0, progress=False).distinct


def test_complete_partition_gives_the_exact_count():
    # math.md 3.2 with n0 = 2, p = [3, 2]: (3 * 2)^2 = 36 regions on the unit square; 300
    # draws and their neighbours find them all, and their masses fill the square.
    net = tj.constructions.ternary_alternating(2, [3, 2]).net
    r = tj.estimate_regions(net, tj.Box(0, 1), 300, seed=1)
    assert r.unobserved_mass == pytest.approx(0, abs=1e-9)
    assert r.estimate == 36 and r.interval == (36.0, 36.0)
    assert "complete" in r.interval_method


def test_segment_and_plane_domains_match_the_exact_engines():
    net = tj.constructions.ternary_alternating(1, [4, 4]).net  # 16 pieces on (0, 1)
    seg = tj.estimate_regions(net, tj.Segment([0.0], [1.0]), 200, seed=0)
    assert seg.volume_method == "interval"
    assert seg.estimate == tj.exact_regions_1d(net, 0.0, 1.0).activation_regions
    net3 = tj.random_network(3, [6, 6], architecture="all_relu", seed=2)
    # Dyadic coordinates: with 0.1, -0.2, 0.3 (not dyadic, so stored as nearby dyadic
    # rationals) lines that meet in one point in decimal arithmetic miss each other by
    # ~1e-17 and the exact engines count 11 more slivers, which no sample can see.
    plane = tj.Plane([0.125, -0.25, 0.375], [1, 0, 1], [0, 1, -1], (-2, 2, -2, 2))
    truth = tj.exact_regions(net3, plane).activation_regions
    r = tj.estimate_regions(net3, plane, 400, seed=0)
    assert r.found <= truth and r.interval[0] <= truth <= r.interval[1]


def test_3d_qhull_against_zaslavsky():
    net = tj.random_network(3, [7], weights="gaussian", seed=7)
    L = _vertex_cube(net)  # every vertex inside: every region of the arrangement meets it
    truth = sum(comb(7, j) for j in range(4))  # 64
    r = tj.estimate_regions(net, tj.Box(-L, L), 400, seed=0)
    assert r.volume_method == "qhull"
    assert r.found <= truth and r.interval[0] <= truth <= r.interval[1]


def test_3d_against_bruteforce_and_the_bruteforce_against_the_plane_engine():
    net2 = tj.random_network(2, [5, 5], architecture="all_relu", seed=4)
    assert count_box_regions(net2, -2, 2)[0] == _exact_2d(net2, -2, 2).activation_regions
    net = tj.random_network(3, [5, 5], architecture="all_relu", seed=1)
    truth = count_box_regions(net, -2, 2)[0]
    r = tj.estimate_regions(net, tj.Box(-2, 2), 300, seed=0)
    assert r.found <= truth and r.interval[0] <= truth <= r.interval[1]


def test_monte_carlo_path_on_a_case_with_known_truth():
    # The high-dimensional route (no volumes: LP facets and a stream of further draws) on a
    # 3-input one-layer net whose count is Zaslavsky's.
    net = tj.random_network(3, [5], weights="gaussian", seed=5)
    L = _vertex_cube(net)
    truth = sum(comb(5, j) for j in range(4))  # 26
    res = compare_estimators(
        net, tj.Box(-L, L), 300, 0, methods=("volume", "horvitz-thompson", "hansen-hurwitz"),
        volumes="monte-carlo",
    )  # fmt: skip
    for r in res.values():
        assert r.volume_method == "monte-carlo" and r.unobserved_mass is None
        assert r.costs["monte_carlo_draws"] > 0
        assert r.distinct <= r.found <= truth
    vol = res["volume"]
    assert vol.interval[0] <= truth <= vol.interval[1]
    assert vol.costs["linear_programs"] > 0
    # Unknown volumes: the right-skew-aware interval, which holds the normal one.
    if vol.std_error > 0:
        assert "log-normal" in vol.interval_method
        normal = horvitz.normal_interval(vol.estimate, vol.std_error**2, vol.lower_bound, 0.95)
        assert vol.interval[0] <= normal[0] and normal[1] <= vol.interval[1]


def test_skewed_interval_is_the_union_and_reaches_further_up():
    # A 10-input run's figures (estimate 35,389, standard error 2,179, 31,336 regions
    # found): the normal interval ends at 39,660, just below that model's 39,667 regions;
    # the log-normal part above the 31,336 found reaches past it.
    est, se, found = 35_389.0, 2_179.0, 31_336
    lo, hi = horvitz.skewed_interval(est, se**2, found, 0.95)
    n_lo, n_hi = horvitz.normal_interval(est, se**2, found, 0.95)
    l_lo, l_hi = horvitz.log_normal_interval(est, se**2, found, 0.95)
    assert (lo, hi) == (min(n_lo, l_lo), max(n_hi, l_hi))
    assert n_hi < 39_667 < hi and lo >= found
    # A symmetric case (estimate far above the certain bound): both agree closely.
    lo, hi = horvitz.skewed_interval(1000.0, 100.0, 0, 0.95)
    assert hi - 1019.6 < 1 and 1000 - lo < 20.5


def test_all_methods_share_the_draws_and_chao1_is_lower_bound_type():
    net = tj.random_network(2, [10, 10, 10], weights="gaussian", seed=4)
    res = compare_estimators(net, tj.Box(-3, 3), 300, 0)
    assert {r.distinct for r in res.values()} == {res["volume"].distinct}
    assert res["chao1"].volume_method == "none"
    assert "lower-bound-type" in res["chao1"].summary()


def test_record_json_and_summary():
    net = tj.random_network(2, [6, 6], architecture="all_relu", seed=0)
    r = tj.estimate_regions(net, tj.Box(-1, 1), 100, seed=2, level=0.9)
    d = json.loads(r.to_json())
    keys = "estimate interval level n_samples method kind domain seconds distinct found"
    for key in (*keys.split(), "lower_bound", "unobserved_mass", "costs"):
        assert key in d
    assert d["level"] == 0.9 and d["how"] == "estimated" and d["domain"]["type"] == "box"
    text = r.summary()
    assert "activation regions" in text and "box(" in text and "estimated" in text


def test_bad_input():
    net = tj.random_network(2, [4], seed=0)
    with pytest.raises(tj.InvalidInput, match="bounded domain"):
        tj.estimate_regions(net, tj.Gaussian(), 100)
    with pytest.raises(tj.InvalidInput, match="method"):
        tj.estimate_regions(net, tj.Box(0, 1), 100, method="magic")
    with pytest.raises(tj.InvalidInput, match="level"):
        tj.estimate_regions(net, tj.Box(0, 1), 100, level=1.5)
    with pytest.raises(tj.InvalidInput, match="n_samples"):
        tj.estimate_regions(net, tj.Box(0, 1), 1)
    with pytest.raises(tj.WrongType):
        tj.estimate_regions("net.npz", tj.Box(0, 1), 100)
    with pytest.raises(tj.InvalidInput, match="input dimension"):
        tj.estimate_regions(net, tj.Box([0, 0, 0], [1, 1, 1]), 100)
    assert isinstance(local_domain(tj.Box(0, 1), 2).volume, float)


def test_cli_estimate(tmp_path, capsys):
    from tern_jax.cli import main

    net = tj.constructions.ternary_alternating(2, [3, 2]).net
    path = str(tmp_path / "net.npz")
    tj.save_network(net, path)
    assert main(["estimate", path, "--domain", "box:0,1", "--samples", "300", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["estimate"] == 36 and d["kind"] == "activation regions" and d["method"] == "volume"
    assert main(["estimate", path, "-n", "200", "--method", "chao1", "--level", "0.9"]) == 0
    out = capsys.readouterr().out
    assert "lower-bound-type" in out and "90%" in out
    assert main(["estimate", path, "-n", "200", "--domain", "gaussian"]) == 2
    assert "bounded domain" in capsys.readouterr().err


def test_linear_regions_against_the_exact_engines():
    # Ternary nets merge many activation regions into one linear region.
    net = tj.random_network(2, [8, 8, 8], architecture="all_relu", seed=2)
    ex = _exact_2d(net, -2, 2)
    assert ex.linear_regions < ex.activation_regions  # 47 < 65
    r = tj.estimate_regions(net, tj.Box(-2, 2), 300, seed=0, kind="linear")
    assert r.kind == "linear regions"
    assert r.distinct <= r.found <= ex.linear_regions
    assert r.interval[0] <= ex.linear_regions <= r.interval[1]
    net1 = tj.constructions.ternary_alternating(1, [3, 2]).net
    seg = tj.estimate_regions(net1, tj.Segment([-0.5], [1.5]), 200, seed=1, kind="linear")
    assert seg.estimate == tj.exact_regions_1d(net1, -0.5, 1.5).linear_regions
    with pytest.raises(tj.InvalidInput, match="linear regions need exact"):
        tj.estimate_regions(net, tj.Box(-2, 2), 100, kind="linear", volumes="monte-carlo")
