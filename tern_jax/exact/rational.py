"""The exact backend: the network as stored, in integer arithmetic.

Every float64 parameter is a dyadic rational, so a layer is ``(Wn, bn) / 2**e`` with integer
numerators. Maps are integer numerators over one common denominator (divided by the common
gcd after each layer, which keeps dyadic networks small); points are integer homogeneous
coordinates (Y, W), W > 0, divided by their gcd. Arithmetic runs in int64 while a magnitude
bound proves it safe, in Python integers otherwise (slower, never wrong): ternary codes and
every construction stay in int64 however deep; Gaussian float64 weights need Python integers
(denominators near 2**60 per layer), which works but is slow.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np

from .. import arith as nb
from ..network import ReLUNet
from ._store import Grow
from .kernel import CHUNK_ENTRIES, Backend, Maps, kernel_exact, reduce_rows
from .ordering import certified_order


def integer_layers(net: ReLUNet) -> list[tuple[np.ndarray, np.ndarray, int]]:
    """Per layer ``(Wn, bn, e)`` with ``W = Wn / 2**e`` and ``b = bn / 2**e`` exactly."""
    out = []
    for w, b in zip(net.weights, net.biases):
        both = np.concatenate([np.asarray(w).ravel(), np.asarray(b).ravel()])
        nums, e = nb.dyadic(both)
        out.append((nums[: w.size].reshape(w.shape), nums[w.size :], e))
    return out


def dot_rows(P: np.ndarray, value: np.ndarray, rows: np.ndarray, cols=None) -> np.ndarray:
    """sum_i P[:, i] * value[rows, i, cols] (all units when ``cols`` is None) exactly:
    int64 when a magnitude bound proves it safe, Python integers otherwise."""
    k1 = P.shape[1]
    sub = value[rows] if cols is None else value[rows, :, cols]
    if cols is None:
        sub = np.moveaxis(sub, 1, 0)  # (k+1, m, n)
    else:
        sub = sub.T  # (k+1, m)
    safe = P.dtype != object and sub.dtype != object
    if safe and k1 * nb.maxabs(P) * nb.maxabs(sub) >= nb.INT64_LIMIT:
        safe = False
    if not safe:
        P, sub = nb.to_object(P), nb.to_object(sub)
    z = 0
    for i in range(k1):
        coef = P[:, i, None] if cols is None else P[:, i]
        z = z + coef * sub[i]
    return z


class RationalBackend(Backend):
    """Exact integer arithmetic (see the module docstring)."""

    mode = "exact"

    def __init__(self, net: ReLUNet, k: int, blas: bool = True):
        self.net, self.k, self.blas = net, k, blas
        self.layers = integer_layers(net)
        self.planes = Grow(np.zeros((0, k + 1), dtype=np.int64))
        self.points = Grow(np.zeros((0, k + 1), dtype=np.int64))
        self.big = False  # whether Python integers were needed

    # -- maps -----------------------------------------------------------------------------
    def start(self, rows: list[list[Any]]) -> Maps:
        flat = [v for r in rows for v in r]
        nums, den = nb.fractions_common(flat)
        return Maps(nums.reshape(1, len(rows), -1), den=int(den))

    def affine(self, maps: Maps, layer: int) -> Maps:
        wn, bn, e = self.layers[layer]
        value = self._product(maps, wn)
        D = maps.den
        small = value.dtype != object and bn.dtype != object and D < nb.INT64_LIMIT
        if small and nb.maxabs(value[:, -1, :]) + nb.maxabs(bn) * D < nb.INT64_LIMIT:
            value[:, -1, :] += bn * D
        else:
            value = nb.to_object(value)
            value[:, -1, :] = value[:, -1, :] + nb.to_object(bn) * D
        return self._reduced(value, D << e)

    def _product(self, maps: Maps, wn: np.ndarray) -> np.ndarray:
        """Every piece's maps times ``wn``, exactly; selected maps a chunk of rows at a time.
        Wide layers go through float64 BLAS while the magnitudes keep that exact (see
        arith.matmul and arith.use_blas; never with ``blas=False``); narrow ones through
        numpy's integer product, as fast there."""
        C, k1, n_prev = maps.num_pieces, self.k + 1, maps.width
        if maps.stored is None and maps.dtype != object and wn.dtype != object:
            colsum = float(np.max(np.abs(wn.astype(np.float64)).sum(axis=0), initial=0.0))
            # Masking only zeroes entries: the parent's magnitude bounds every chunk.
            bound = float(nb.maxabs(maps.parts[0])) * colsum * (1 + 2.0**-40)
            if bound < nb.INT64_LIMIT:
                blas = self.blas and nb.use_blas(n_prev, bound)
                wf = wn.astype(np.float64) if blas else wn
                out = []
                for lo, hi, v in maps.chunks():
                    v = v.reshape(-1, n_prev)
                    prod = (v.astype(np.float64) @ wf).astype(np.int64) if blas else v @ wf
                    out.append(prod.reshape(hi - lo, k1, -1))
                return out[0] if len(out) == 1 else np.concatenate(out)
        return nb.matmul(maps.value.reshape(C * k1, n_prev), wn, self.blas).reshape(C, k1, -1)

    def _reduced(self, value: np.ndarray, den: int) -> Maps:
        """Divide numerators and the common denominator by their gcd."""
        if value.dtype == object:
            self.big = True
        if den > 1 and value.size:
            g = math.gcd(den, int(np.gcd.reduce(value.ravel())))
            if g == den and not np.any(value):
                den = 1  # every map is 0: any denominator will do
            elif g > 1:
                value, den = value // g, den // g
        if value.dtype == object:
            value = nb.shrink(value)
        return Maps(value, den=den)

    def select(self, maps: Maps, src: np.ndarray, active: np.ndarray | None) -> Maps:
        return Maps(None, den=maps.den, parts=(maps.value, np.asarray(src), active))

    # -- hyperplanes and points -----------------------------------------------------------
    def add_planes(self, maps: Maps, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        return self.planes.append(maps.value[rows, :, cols])

    def add_given_planes(self, coefs: list[list[Any]]) -> np.ndarray:
        out = []
        for row in coefs:
            nums, _ = nb.fractions_common(row)
            out.append(nums)
        return self.planes.append(nb.shrink(np.array(out, dtype=object)))

    def add_points(self, planes: np.ndarray) -> np.ndarray:
        if planes.shape[0] == 0:
            return np.zeros(0, np.int64)
        A = self.planes.a[planes]
        if self.k == 1:  # the zero of a0 t + a1: t = -a1 / a0, in lowest terms, W = |a0|
            a0, a1 = A[:, 0, 0], A[:, 0, 1]
            T, W = np.where(a0 > 0, -a1, a1), np.abs(a0)
            g = np.gcd(T, W)
            X = np.stack([T // g, W // g], axis=1)
        else:
            X = kernel_exact(A)
            X = reduce_rows(np.where((X[:, -1] < 0)[:, None], -X, X))
        if X.dtype == object:
            self.big = True
        return self.points.append(X)

    # -- signs ----------------------------------------------------------------------------
    def signs(self, maps: Maps, rows: np.ndarray, points: np.ndarray) -> np.ndarray:
        out = np.empty((rows.size, maps.width), dtype=np.int8)
        step = max(1, CHUNK_ENTRIES // max(1, maps.width))
        for lo in range(0, rows.size, step):  # temporaries stay small
            hi = min(rows.size, lo + step)
            out[lo:hi] = nb.sign(dot_rows(self.points.a[points[lo:hi]], maps.value, rows[lo:hi]))
        return out

    def sign_entries(self, maps, rows, points, cols) -> np.ndarray:
        return nb.sign(dot_rows(self.points.a[points], maps.value, rows, cols))

    def coef_signs(self, maps: Maps, rows: np.ndarray, coef: int) -> np.ndarray:
        return nb.sign(maps.value[rows, coef, :])

    def same(self, maps: Maps, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        v = maps.value
        return np.all((v[a] == v[b]).reshape(len(a), v[0].size), axis=1)

    def order(self, groups: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        X = self.points.a[points]
        key = nb.to_float(X[:, 0], X[:, 1])

        def exact(idx: np.ndarray):
            return X[idx, 0], X[idx, 1]

        return certified_order(groups, key, np.zeros_like(key), exact, keys_are_exact=True)

    # -- reports --------------------------------------------------------------------------
    def point_floats(self, points: np.ndarray) -> np.ndarray:
        X = self.points.a[points]
        w = X[:, -1:]
        return nb.to_float(X[:, :-1], np.broadcast_to(w, X[:, :-1].shape).copy())

    def float_maps(self, maps: Maps) -> np.ndarray:
        v, den = maps.value, maps.den
        if v.dtype != object and nb.maxabs(v) <= nb.FLOAT_EXACT and den <= nb.FLOAT_EXACT:
            return v / float(den)
        return np.array([int(x) / den for x in v.ravel()]).reshape(v.shape)

    def point_values(self, points: np.ndarray) -> list:
        X = self.points.a[points]
        return [Fraction(int(t), int(w)) for t, w in X.tolist()]

    def describe(self) -> str:
        return "exact rational arithmetic (" + (
            "Python integers)" if self.big else "int64 under proven magnitude bounds)"
        )
