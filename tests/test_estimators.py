"""Estimators on synthetic populations with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from tern_jax import estimators as E


def _fof(labels: np.ndarray) -> dict[int, int]:
    _, counts = np.unique(labels, return_counts=True)
    ks, fs = np.unique(counts, return_counts=True)
    return {int(k): int(f) for k, f in zip(ks, fs)}


def _expected_new(p: np.ndarray, n: int, m: int) -> float:
    """Exact E[# classes unseen in n draws but seen in m further draws]."""
    return float(np.sum((1 - p) ** n * (1 - (1 - p) ** m)))


def test_hand_computed_values():
    f = {1: 3, 2: 1, 5: 2}  # N = 15, S_obs = 6
    assert E.observed(f) == 6 and E.sample_size(f) == 15
    assert E.coverage(f) == pytest.approx(1 - 3 / 15)
    assert E.chao1(f) == pytest.approx(6 + 3 * 2 / (2 * 2))
    assert E.good_toulmin(f, 0.5) == pytest.approx(0.5 * 3 - 0.25 * 1 + 0.5**5 * 2)
    assert E.good_toulmin(f, 0.0) == 0.0
    lo, hi = E.chao1_ci(f)
    assert 6 <= lo < E.chao1(f) < hi


def test_equally_likely_classes():
    # About 14% of the classes stay unseen: the regime Chao1's interval is built for. (Near
    # completeness its log-normal lower end exceeds S_obs and can miss a fully seen K.)
    k, n = 500, 1000
    p = np.full(k, 1 / k)
    rng = np.random.default_rng(0)
    inside, covs, gts = 0, [], []
    for _ in range(40):
        labels = rng.integers(0, k, size=n)
        f = _fof(labels)
        lo, hi = E.chao1_ci(f)
        inside += lo <= k <= hi
        true_cov = p[np.unique(labels)].sum()
        covs.append(E.coverage(f) - true_cov)
        gts.append(E.good_toulmin(f, 0.5))
    assert inside >= 34  # nominal 95% of 40
    assert abs(np.mean(covs)) < 0.005
    assert np.mean(gts) == pytest.approx(_expected_new(p, n, n // 2), rel=0.05)


def test_geometric_masses():
    k, n = 400, 3000
    p = 0.985 ** np.arange(k)
    p /= p.sum()
    rng = np.random.default_rng(1)
    covs, gt1, chaos, s_obs = [], [], [], []
    for _ in range(40):
        labels = rng.choice(k, size=n, p=p)
        f = _fof(labels)
        covs.append(E.coverage(f) - p[np.unique(labels)].sum())
        gt1.append(E.good_toulmin(f, 1.0))
        chaos.append(E.chao1(f))
        s_obs.append(E.observed(f))
    assert abs(np.mean(covs)) < 0.002
    # Twice the samples: the smoothed estimator tracks the exact expectation.
    assert np.mean(gt1) == pytest.approx(_expected_new(p, n, n), rel=0.15)
    # Chao1 adds to S_obs but stays a lower bound when masses differ this much.
    assert np.all(np.array(chaos) >= np.array(s_obs))
    assert np.mean(chaos) <= k


def test_saturation():
    f = {1: 90, 2: 5}  # N = 100, S_obs = 95
    assert E.is_saturated(f)
    est = E.estimate(f)
    assert est.saturated and est.chao1 is None and est.good_toulmin_2x is None
    assert est.warnings and "saturated" in est.warnings[0]
    ok = E.estimate({1: 2, 2: 3, 50: 4}, n=208)
    assert not ok.saturated and ok.chao1 == pytest.approx(9 + 2 * 1 / (2 * 4))


def test_validation():
    with pytest.raises(ValueError, match="k must be >= 1"):
        E.coverage({0: 3})
    with pytest.raises(ValueError, match="N = 10"):
        E.estimate({1: 3}, n=10)
    with pytest.raises(ValueError, match="t must be"):
        E.good_toulmin({1: 3}, -1)
    with pytest.raises(ValueError, match="empty"):
        E.estimate({})


def test_good_toulmin_never_negative():
    # Doubletons outnumber singletons: the alternating sum is negative (the issue saw -5.1,
    # -2.4, -2.7 on a trained model); the estimate of new regions is clamped at 0.
    f = {1: 2, 2: 10, 3: 1, 40: 5}
    assert E.good_toulmin_raw(f, 1.0) < 0
    assert E.good_toulmin(f, 1.0) == 0.0
    assert E.good_toulmin({1: 1, 2: 6}, 0.5) == 0.0  # classical sum below 1 too
    est = E.estimate(f)
    assert est.good_toulmin_2x == 0.0 and not est.saturated
    assert any("cannot be negative" in w for w in est.warnings)
    rng = np.random.default_rng(3)
    for _ in range(200):  # never negative on random tables
        f = {k: int(v) for k, v in zip(range(1, 8), rng.integers(0, 20, size=7))}
        if sum(f.values()):
            assert E.good_toulmin(f, 1.0) >= 0 and E.good_toulmin(f, 0.3) >= 0


def test_chao1_is_labelled_lower_bound_type():
    assert "lower-bound-type" in E.chao1.__doc__
    assert "no coverage promise" in E.chao1_ci.__doc__
    assert "lower-bound-type" in E.abundance.__doc__
