"""The filtered backend: float64 speed, exact answers.

Every value is a float64 midpoint with a rigorous bound on its distance to the exact value
for the network as stored (maps, hyperplane coefficients, point coordinates). A sign
decision is taken in float64 when the midpoint's magnitude exceeds that bound plus the
rounding error of the decision itself (Higham's gamma bounds); otherwise, and only then, it
is recomputed exactly by :class:`~._oracle.ExactOracle` (the piece's maps by replaying its
activation pattern in integers, a point from the exact hyperplanes that define it). This is
the scheme of Shewchuk's adaptive predicates and CGAL's filtered kernels: no tolerance
anywhere, and big windows or small features cost precision only where a decision is close.

Error bounds of maps are kept compact (:class:`Radius`): entry (c, i, j) is within
``rho[c, i] * s[j] + (i == k) * beta[j]`` of its exact value. One layer maps them to
``rho' = rho + g mu``, ``s' = max(s @ |W|, colsum |W|)``, ``beta' = beta @ |W| + g |b|``
(mu: the largest |value| of a piece's row, g = gamma(n + 3) for the rounding of
``V @ W + b`` in any summation order), each lifted for the rounding of its own evaluation:
a bound costs O(pieces x units) per layer, not a second matrix product.

Underflow: every bound, and every factor of a bound that is multiplied further, carries an
absolute ``ETA`` = 2^-1000 (more than products can lose to gradual underflow), so bounds stay
valid at any scale; decisions about values below about 1e-290 therefore always go exact. A
value is taken as exactly 0 only for a unit whose weights and bias are all 0. Overflow gives
inf or NaN, which never passes a test.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from .. import arith as nb
from ..network import ReLUNet
from ._oracle import ExactOracle, Step
from ._store import Grow
from .kernel import CHUNK_ENTRIES, UNIT, Backend, Maps, gamma, kernel_float
from .ordering import certified_order
from .rational import dot_rows

ETA = 2.0**-1000


@dataclass
class Radius:
    """Compact error bound of a Maps array: entry (c, i, j) is within
    ``rho[c, i] * s[j] + (i == k) * beta[j] + ETA`` of its exact value; units flagged
    ``dead`` (all weights and bias 0) are exactly 0."""

    rho: np.ndarray  # (C, k+1)
    s: np.ndarray  # (n,)
    beta: np.ndarray  # (n,)
    dead: np.ndarray  # (n,) bool

    def full(self, rows: np.ndarray) -> np.ndarray:
        """The bound (len(rows), k+1, n), computed upwards (ETA covers the products)."""
        R = self.rho[rows][:, :, None] * self.s
        R[:, -1, :] += self.beta
        return R + 2 * ETA

    def entries(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """The bound (m, k+1) of unit cols[i] of piece rows[i]."""
        R = self.rho[rows] * self.s[cols][:, None]
        R[:, -1] += self.beta[cols]
        return R + 2 * ETA


def _rowmax(value: np.ndarray) -> np.ndarray:
    """Largest |value| of every piece's coefficient row (C, k+1), without an |value| copy."""
    if value.shape[2] == 0:
        return np.zeros(value.shape[:2])
    return np.maximum(value.max(axis=2), -value.min(axis=2))


def _to_float(v: Fraction) -> float:
    """Correctly rounded float of a rational; +-inf beyond the float range."""
    try:
        return float(v)
    except OverflowError:
        return float("inf") if v > 0 else float("-inf")


def _floats(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer rows (object) -> correctly rounded float64 rows of the same direction (each
    row scaled by a power of two so that it fits) and their rounding radii."""
    out = np.zeros(X.shape, dtype=np.float64)
    for i, row in enumerate(X.tolist()):
        s = max(0, max(abs(int(v)).bit_length() for v in row) - 900)
        out[i] = [float(Fraction(int(v), 1 << s)) for v in row]
    return out, np.abs(out) * 2.0**-52 + ETA


class FilteredBackend(Backend):
    """float64 midpoint-radius arithmetic with exact fallback (module docstring)."""

    mode = "float64"

    def __init__(self, net: ReLUNet, k: int):
        self.net, self.k = net, k
        self.oracle = ExactOracle(net, k)
        self.lift = 1 + 2 * gamma(k + 8)
        self.layers = []
        for w, b in zip(net.weights, net.biases):
            w, b = np.asarray(w, np.float64), np.asarray(b, np.float64)
            aw = np.abs(w)
            g = gamma(w.shape[0] + 3)
            up = 1 + 2 * gamma(w.shape[0] + 2)
            colsum = aw.sum(axis=0) * up
            dead = (colsum == 0) & (b == 0)
            self.layers.append((w, b, aw, g, up, colsum, dead))
        self.pmid = Grow(np.zeros((0, k + 1)))
        self.prad = Grow(np.zeros((0, k + 1)))
        self.xmid = Grow(np.zeros((0, k + 1)))
        self.xrad = Grow(np.zeros((0, k + 1)))
        self.fallbacks = 0

    # -- maps -----------------------------------------------------------------------------
    def start(self, rows: list[list[Any]]) -> Maps:
        self.oracle.start_rows = rows
        flat = [v for r in rows for v in r]
        value = np.array([_to_float(v) for v in flat]).reshape(1, len(rows), -1)
        exact = all(np.isfinite(x) and Fraction(x) == v for x, v in zip(value.ravel(), flat))
        rho = np.zeros((1, len(rows))) if exact else np.abs(value).max(axis=2) * 2.0**-52
        n0 = value.shape[2]
        radius = Radius(rho, np.ones(n0), np.zeros(n0), np.zeros(n0, dtype=bool))
        return Maps(value, radius, lineage=Step())

    def affine(self, maps: Maps, layer: int) -> Maps:
        w, b, aw, g, up, colsum, dead = self.layers[layer]
        C, k1, n_prev = maps.num_pieces, self.k + 1, maps.width
        value = None
        rowmax = np.empty((C, k1))
        for lo, hi, v in maps.chunks():  # product, bias and row maxima while in cache
            out = (v.reshape(-1, n_prev) @ w).reshape(hi - lo, k1, -1)
            out[:, -1, :] += b
            rowmax[lo:hi] = _rowmax(out)
            if hi - lo == C:
                value = out
            else:
                if value is None:
                    value = np.empty((C, k1, w.shape[1]))
                value[lo:hi] = out
        rad = maps.radius
        with np.errstate(invalid="ignore", over="ignore"):
            mu = maps.cache["rowmax"] if "rowmax" in maps.cache else _rowmax(maps.value)
            # 2 ETA in rho carries the entries' ETA floor through the layer (s >= colsum).
            rho = (rad.rho + g * mu) * self.lift + 2 * ETA
            s = np.where(colsum > 0, np.maximum(rad.s @ aw * up, colsum) + ETA, 0.0)
            beta = (rad.beta @ aw + g * np.abs(b)) * up + ETA
        out = Maps(value, Radius(rho, s, beta, dead), lineage=Step(maps.lineage, layer=layer))
        out.cache["rowmax"] = rowmax  # small; bounds the masked rows of the next layer
        # sum_i |value[c, i, j]| <= (sum_i mu[c, i]) colsum_j + |b_j|: a rank-one bound, so
        # the decisions never build a (pieces x units) array of magnitudes.
        out.cache["msum"] = (mu.sum(axis=1), colsum, np.abs(b) * up)
        return out

    def select(self, maps: Maps, src: np.ndarray, active: np.ndarray | None) -> Maps:
        rad = maps.radius
        bits = None if active is None else np.packbits(active, axis=1)
        step = Step(maps.lineage, src=np.asarray(src), bits=bits, n=maps.width)
        radius = Radius(rad.rho[src], rad.s, rad.beta, rad.dead)
        out = Maps(None, radius, lineage=step, parts=(maps.value, src, active))
        rowmax = maps.cache["rowmax"] if "rowmax" in maps.cache else _rowmax(maps.value)
        out.cache["rowmax"] = rowmax[src]  # masking only lowers a row's largest entry
        return out

    # -- hyperplanes and points -----------------------------------------------------------
    def add_planes(self, maps: Maps, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        sid = self.oracle.step_id(maps.lineage)
        self.pmid.append(maps.value[rows, :, cols])
        with np.errstate(invalid="ignore", over="ignore"):
            self.prad.append(maps.radius.entries(rows, cols))
        src = np.stack([np.full(len(rows), sid), rows, cols], axis=1)
        return self.oracle.plane_src.append(src.astype(np.int64))

    def add_given_planes(self, coefs: list[list[Any]]) -> np.ndarray:
        X = np.empty((len(coefs), self.k + 1), dtype=object)
        for i, r in enumerate(coefs):
            X[i] = [int(v) for v in nb.fractions_common(r)[0]]
        mid, rad = _floats(X)
        self.pmid.append(mid)
        self.prad.append(rad)
        ids = self.oracle.plane_src.append(np.full((len(coefs), 3), -1, dtype=np.int64))
        for i, row in zip(ids.tolist(), X.tolist()):
            self.oracle.given_plane(i, row)
        return ids

    def add_points(self, planes: np.ndarray) -> np.ndarray:
        if planes.shape[0] == 0:
            return np.zeros(0, np.int64)
        with np.errstate(invalid="ignore", over="ignore"):
            x, bound = kernel_float(self.pmid.a[planes], self.prad.a[planes])
            bound += ETA  # products the kernel formed may have underflowed
            w, wb = x[:, -1], bound[:, -1]
            ok = np.isfinite(w) & np.isfinite(wb) & (np.abs(w) > wb)
        x[w < 0] *= -1
        ids = self.xmid.append(x)
        self.xrad.append(bound)
        self.oracle.point_planes.append(planes)
        bad = np.nonzero(~ok)[0]
        if bad.size:  # the sign of W is not certain: use the exact point
            self.fallbacks += int(bad.size)
            mid, rad = _floats(self.oracle.points(ids[bad]))
            self.xmid.buf[ids[bad]] = mid
            self.xrad.buf[ids[bad]] = rad
        return ids

    # -- signs ----------------------------------------------------------------------------
    def _terms(self, maps: Maps):
        """(sum of rho over coefficients per piece, and the factors (mu_sum per piece,
        colsum per unit, |b| per unit) of a bound on sum_i |value[c, i, j]|)."""
        if "msum" not in maps.cache:  # maps not made by a layer: bound by the row maxima
            mu = _rowmax(maps.value)
            maps.cache["msum"] = (mu.sum(axis=1), np.ones(maps.width), np.zeros(maps.width))
        return maps.radius.rho.sum(axis=1), maps.cache["msum"]

    def _bound(self, P, PR, maps: Maps, rows, cols=None) -> np.ndarray:
        """Bound on |float - exact| of the dot products of points (P, radius PR) with the
        maps of pieces ``rows`` (all units, or unit ``cols[i]`` for row i): with a = max |P|,
        r = max PR, R the maps' bound, it is sum_i |P_i| R_i + r sum_i (|V_i| + R_i)
        + gamma_{k+1} a sum_i |V_i|, each factor carrying ETA. Every term is a product of a
        per-point factor and a per-unit one, so all units cost one small matrix product."""
        rad = maps.radius
        rsum, (musum, colsum, absb) = self._terms(maps)
        absP = np.abs(P)
        a, r = absP.max(axis=1), PR.max(axis=1)
        alpha = (absP * rad.rho[rows]).sum(axis=1) + r * rsum[rows] + ETA
        wb = absP[:, -1] + r + ETA
        cm = r + gamma(self.k + 1) * a + ETA
        floor = 2 * (self.k + 1) * ETA * (a + r) + ETA
        left = np.stack([alpha, wb, cm * musum[rows], cm, floor], axis=1)
        if cols is not None:
            right = np.stack([rad.s[cols], rad.beta[cols], colsum[cols], absb[cols]], axis=1)
            return ((left[:, :4] * right).sum(axis=1) + floor) * self.lift
        right = np.stack([rad.s, rad.beta, colsum, absb, np.ones(maps.width)])
        B = left @ right
        B *= self.lift
        return B

    def _decide(self, z: np.ndarray, B: np.ndarray, dead: np.ndarray):
        """Signs of ``z`` and where they are certain (bound ``B``; ``dead``: exactly 0).
        NaN never passes |z| > B, nor does anything with B = inf; a finite-B pass with
        z = +-inf has the right sign (an overflowed sum cannot change sign)."""
        ok = np.abs(z) > B
        if np.any(dead):
            ok |= dead & (z == 0)
        return np.sign(z).astype(np.int8), ok

    def signs(self, maps: Maps, rows: np.ndarray, points: np.ndarray) -> np.ndarray:
        out = np.empty((rows.size, maps.width), dtype=np.int8)
        step = max(1, CHUNK_ENTRIES // max(1, maps.width))
        for lo in range(0, rows.size, step):  # temporaries stay small (cache, page faults)
            hi = min(rows.size, lo + step)
            out[lo:hi] = self._signs(maps, rows[lo:hi], points[lo:hi])
        return out

    def _signs(self, maps: Maps, rows: np.ndarray, points: np.ndarray) -> np.ndarray:
        P, PR = self.xmid.a[points], self.xrad.a[points]
        V = maps.value
        with np.errstate(invalid="ignore", over="ignore"):
            z = V[rows, 0, :]
            z *= P[:, 0, None]
            for i in range(1, self.k + 1):
                term = V[rows, i, :]
                term *= P[:, i, None]
                z += term
            sg, ok = self._decide(z, self._bound(P, PR, maps, rows), maps.radius.dead)
        bi, bj = np.nonzero(~ok)
        if bi.size:
            sg[bi, bj] = self._settle(maps, rows[bi], points[bi], bj)
        return sg

    def sign_entries(self, maps, rows, points, cols) -> np.ndarray:
        P, PR = self.xmid.a[points], self.xrad.a[points]
        with np.errstate(invalid="ignore", over="ignore"):
            z = (P * maps.value[rows, :, cols]).sum(axis=1)
            B = self._bound(P, PR, maps, rows, cols)
            sg, ok = self._decide(z, B, maps.radius.dead[cols])
        bad = np.nonzero(~ok)[0]
        if bad.size:
            sg[bad] = self._settle(maps, rows[bad], points[bad], cols[bad])
        return sg

    def _settle(self, maps: Maps, rows, points, cols) -> np.ndarray:
        """Exact signs of unit ``cols[i]`` of piece ``rows[i]`` at point ``points[i]``."""
        self.fallbacks += int(rows.size)
        urows, inv = np.unique(rows, return_inverse=True)
        exact = self.oracle.maps(maps.lineage, urows)
        return nb.sign(dot_rows(self.oracle.points(points), exact, inv, cols))

    def coef_signs(self, maps: Maps, rows: np.ndarray, coef: int) -> np.ndarray:
        rad = maps.radius
        v = maps.value[rows, coef, :]
        with np.errstate(invalid="ignore", over="ignore"):
            r = rad.rho[rows, coef][:, None] * rad.s + (rad.beta if coef == self.k else 0.0)
            sg, ok = self._decide(v, r + 2 * ETA, rad.dead)
        bi, bj = np.nonzero(~ok)
        if bi.size:
            self.fallbacks += int(bi.size)
            urows, inv = np.unique(rows[bi], return_inverse=True)
            exact = self.oracle.maps(maps.lineage, urows)
            sg[bi, bj] = nb.sign(exact[inv, coef, bj])
        return sg

    def same(self, maps: Maps, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        m, size = len(a), maps.value[0].size
        rad = maps.radius
        with np.errstate(invalid="ignore", over="ignore"):
            d = (maps.value[a] - maps.value[b]).reshape(m, size)
            s = (rad.full(a) + rad.full(b)).reshape(m, size)
            differ = np.any(np.abs(d) * (1 - 4 * UNIT) > s * (1 + 4 * UNIT), axis=1)
        dead = np.broadcast_to(rad.dead, maps.value.shape[1:]).reshape(size)
        out = np.all((d == 0) & dead, axis=1)
        unknown = np.nonzero(~differ & ~out)[0]
        if unknown.size:
            self.fallbacks += int(unknown.size)
            rows = np.concatenate([a[unknown], b[unknown]])
            exact = self.oracle.maps(maps.lineage, rows).reshape(len(rows), size)
            out[unknown] = np.all(exact[: unknown.size] == exact[unknown.size :], axis=1)
        return out

    def order(self, groups: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        X, R = self.xmid.a[points], self.xrad.a[points]
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            key = X[:, 0] / X[:, 1]
            room = X[:, 1] - R[:, 1]
            err = (R[:, 0] + np.abs(key) * R[:, 1] * (1 + 2 * UNIT)) / room
            err = err * (1 + 4 * UNIT) + 2 * UNIT * np.abs(key) + ETA
            err = np.where(room > 0, err, np.inf)

        def exact(idx: np.ndarray):
            self.fallbacks += int(idx.size)
            E = self.oracle.points(points[idx])
            return E[:, 0], E[:, 1]

        return certified_order(groups, key, err, exact, keys_are_exact=False)

    # -- reports --------------------------------------------------------------------------
    def point_floats(self, points: np.ndarray) -> np.ndarray:
        X = self.xmid.a[points]
        return X[:, :-1] / X[:, -1:]

    def float_maps(self, maps: Maps) -> np.ndarray:
        return maps.value

    def point_values(self, points: np.ndarray) -> list:
        return [float(v) + 0.0 for v in self.point_floats(points)[:, 0]]

    def describe(self) -> str:
        return (
            f"float64 with rigorous error bounds, exact fallback for {self.fallbacks} "
            f"uncertain decisions"
        )
