"""The exact engines' arithmetic (tern_jax.exact.kernel, .rational, .filtered, .ordering):
kernels of hyperplanes, rigorous float bounds, certified order, and the two backends giving
the same answers in any dimension k (the line engine uses k = 1, the plane engine k = 2; an
n-dimensional engine would use k = n0: k = 3 is tested here).

Expected answers come from plain Fraction arithmetic written in this file.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from exact_nets import net_from
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tern_jax.exact._common import make_backend
from tern_jax.exact.kernel import kernel_exact, kernel_float
from tern_jax.exact.ordering import certified_order

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def fr_matrix(a) -> list:
    return [[Fraction(float(x)) for x in row] for row in a]


def fr_kernel(A: list) -> list:
    """Kernel of a k x (k+1) Fraction matrix by signed minors (Laplace, in Fractions)."""

    def det(M):
        if len(M) == 1:
            return M[0][0]
        return sum(
            (-1) ** c * M[0][c] * det([r[:c] + r[c + 1 :] for r in M[1:]]) for c in range(len(M))
        )

    k1 = len(A[0])
    return [(-1) ** i * det([r[:i] + r[i + 1 :] for r in A]) for i in range(k1)]


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_kernel_exact_is_the_kernel(k):
    rng = np.random.default_rng(k)
    A = rng.integers(-9, 10, size=(50, k, k + 1))
    A[0] *= 2**40  # big entries take Python integers
    X = kernel_exact(A)
    for a, x in zip(A.tolist(), X.tolist()):
        assert [int(v) for v in x] == fr_kernel([[Fraction(v) for v in r] for r in a])


@pytest.mark.parametrize("k", [1, 2, 3])
def test_kernel_float_bound_holds(k):
    # The float kernel of A is within the bound of the exact kernel of every matrix within
    # R of A (checked at the corners of the box that maximise each minor's change).
    rng = np.random.default_rng(10 + k)
    A = rng.normal(size=(40, k, k + 1)) * 10.0 ** rng.integers(-5, 6, size=(40, 1, 1))
    R = np.abs(A) * 10.0 ** rng.integers(-16, -8, size=(40, 1, 1))
    x, bound = kernel_float(A, R)
    for i in range(40):
        for trial in range(4):
            signs = rng.choice([-1, 1], size=A[i].shape) if trial else np.zeros(A[i].shape)
            exact = fr_kernel(
                [
                    [Fraction(float(a)) + s * Fraction(float(r)) for a, r, s in zip(ra, rr, sr)]
                    for ra, rr, sr in zip(A[i], R[i], signs)
                ]
            )
            for c in range(k + 1):
                assert abs(Fraction(float(x[i, c])) - exact[c]) <= Fraction(float(bound[i, c]))


@SETTINGS
@given(seed=st.integers(0, 2**31 - 1), groups=st.integers(1, 4))
def test_certified_order_with_noisy_keys(seed, groups):
    # Exact positions with many ties and near ties; float keys off by up to err (and in
    # the wrong order within it): the result is the exact order, with exact equalities.
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 60))
    g = np.sort(rng.integers(0, groups, size=n))
    num = rng.integers(-6, 7, size=n) * 2**60 + rng.integers(-2, 3, size=n)
    den = rng.choice([1, 3, 7], size=n) * 2**60
    exact = [Fraction(int(a), int(d)) for a, d in zip(num, den)]
    err = np.abs(rng.normal(size=n)) * 1e-15 * rng.integers(0, 2, size=n)
    key = np.array([float(v) for v in exact]) + rng.uniform(-1, 1, size=n) * err
    numo, deno = num.astype(object), den.astype(object)
    order, eq = certified_order(g, key, err, lambda idx: (numo[idx], deno[idx]), False)
    want = sorted(range(n), key=lambda i: (g[i], exact[i]))
    assert [(g[i], exact[i]) for i in order] == [(g[i], exact[i]) for i in want]
    for t in range(n - 1):
        a, b = order[t], order[t + 1]
        assert eq[t] == (g[a] == g[b] and exact[a] == exact[b])


# -- the two backends, in any dimension k ----------------------------------------------------


def fr_values(net, layer_maps_rows, point):
    """Reference: pre-activations of layer 0 of ``net`` at a point y of the domain
    x = origin + sum_i y_i dir_i (Fractions)."""
    dirs, origin = layer_maps_rows[:-1], layer_maps_rows[-1]
    x = [o + sum(y * d[i] for y, d in zip(point, dirs)) for i, o in enumerate(origin)]
    W, b = fr_matrix(np.asarray(net.weights[0])), [Fraction(float(v)) for v in net.biases[0]]
    return [sum(x[i] * W[i][j] for i in range(len(x))) + b[j] for j in range(len(b))]


@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("weights", ["dyadic", "gaussian"])
def test_backends_agree_in_dimension_k(k, weights):
    rng = np.random.default_rng(100 * k + len(weights))
    n = 6
    p = np.round(rng.normal(size=k) * 2) / 2
    if weights == "dyadic":
        w0 = np.round(rng.normal(size=(k, n)) * 4) / 4
    else:
        w0, b0 = rng.normal(size=(k, n)), rng.normal(size=n)
    w0[0, 0] = 1.25  # unit 0's hyperplane meets the axis hyperplanes y_i = c (i >= 1)
    if weights == "dyadic":
        b0 = -(p @ w0)  # every unit's hyperplane through p: all signs 0 there
    w1 = rng.integers(-1, 2, size=(n, n)).astype(float)
    net = net_from(
        [w0, w1, np.ones((n, 1))], [b0, np.zeros(n), np.zeros(1)], ["relu", "relu", "identity"]
    )
    rows = [[Fraction(int(i == j)) for j in range(k)] for i in range(k)] + [[Fraction(0)] * k]
    cs = np.round(rng.normal(size=(8, k)) * 4) / 4
    cs[1] = p
    given = [
        [Fraction(int(i == j)) for j in range(k)] + [-Fraction(float(c[i]))]
        for c in cs
        for i in range(k)
    ]
    active = rng.random((5, n)) < 0.5
    answers = []
    for mode in ("exact", "float64"):
        be = make_backend(net, mode, k)
        m0 = be.affine(be.start(rows), 0)
        # Points: k axis hyperplanes y_i = c_i meet at c; unit 0's hyperplane meets the
        # axis hyperplanes of cs[0] but the first.
        ids = be.add_given_planes(given).reshape(8, k)
        on0 = be.add_planes(m0, np.zeros(1, np.int64), np.zeros(1, np.int64))
        pts = np.concatenate(
            [be.add_points(ids), be.add_points(np.concatenate([on0, ids[0, 1:]])[None])]
        )
        zeros = np.zeros(pts.size, np.int64)
        sg = be.signs(m0, zeros, pts)
        ent = be.sign_entries(m0, zeros, pts, np.arange(pts.size) % n)
        m1 = be.affine(be.select(m0, np.zeros(5, np.int64), active), 1)
        same = be.same(m1, np.array([0, 0, 1]), np.array([1, 0, 2]))
        coef = be.coef_signs(m1, np.arange(5), k)
        answers.append((sg, ent, same, coef))
        for r, c in enumerate(cs):
            want = [int(np.sign(v)) for v in fr_values(net, rows, [Fraction(float(v)) for v in c])]
            assert sg[r].tolist() == want
        assert sg[-1, 0] == 0  # on unit 0's hyperplane
        if weights == "dyadic":
            assert not np.any(sg[1])
    for a, b in zip(*answers):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("mode", ["exact", "float64"])
def test_backend_order_when_float_keys_are_misordered(mode):
    # Zeros of a0 t + a1 for coefficients float64 cannot hold: A = (2^53 + 3) / (2^53 + 1)
    # lies just below B = 1 + 2^-52, but A's rounded coefficients put its key above B's.
    net = net_from(
        [np.ones((1, 1)), np.ones((1, 1))], [np.zeros(1), np.zeros(1)], ["relu", "identity"]
    )
    be = make_backend(net, mode, 1)
    big = 2**53
    lines = [
        [Fraction(big + 1), -Fraction(big + 3)],  # A
        [Fraction(1), -(1 + Fraction(1, 2**52))],  # B
        [Fraction(3), -(3 + Fraction(3, 2**52))],  # B again, other coefficients
        [Fraction(1), -Fraction(1)],  # 1
        [Fraction(7), -Fraction(8)],  # 8/7
    ]
    pts = be.add_points(be.add_given_planes(lines)[:, None])
    order, eq = be.order(np.zeros(5, np.int64), pts)
    values = [-c[1] / c[0] for c in lines]
    assert values[0] < values[1] == values[2]
    assert [values[i] for i in order] == sorted(values)
    assert eq.tolist() == [values[order[t]] == values[order[t + 1]] for t in range(4)]
