"""The arithmetic interface of the exact engines: per-piece affine maps, hyperplanes, points
and the sign decisions made on them, written once for every engine and every arithmetic.

Coordinates. An engine partitions a k-dimensional domain (k = 1: a segment or line, k = 2: a
polygon of a plane, k = n0: a box of input space) with parameters y in R^k. A point is
stored homogeneously as (Y, W) in R^{k+1} with W > 0 (y = Y / W); an affine function
a . y + c of the parameters is the row (a, c), and its sign at a point is the sign of the
dot product (a, c) . (Y, W). The point where k hyperplanes meet is their *kernel*: the
vector of signed k x k minors of their k x (k+1) coefficient matrix.

Maps. For every piece of its current partition an engine keeps the affine maps of the
current layer's outputs: ``Maps.value`` of shape (C, k+1, n), row i < k the coefficient of
y_i, row k the constant. One layer is one :meth:`Backend.affine` call; a ReLU layer then
keeps, for every new piece, its parent's maps with the inactive units zeroed
(:meth:`Backend.select`).

Backends (see :func:`tern_jax.exact._common.make_backend`): :class:`~.rational.
RationalBackend` computes with the network exactly as stored (every float64 is a dyadic
rational): integer numerators over a common denominator, int64 while a magnitude bound proves
it safe, Python integers otherwise. :class:`~.filtered.FilteredBackend` computes in float64
with a rigorous error radius on every value and recomputes exactly (from the piece's
activation pattern and the point's defining hyperplanes) only the decisions whose sign the
radius leaves open. Both return the same, exact answer to every question below.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import arith as nb

# Unit roundoff of float64 (round to nearest).
UNIT = 2.0**-53


def gamma(n: int) -> float:
    """Higham's gamma_n = n u / (1 - n u): |fl(x . y) - x . y| <= gamma_n |x| . |y| for a dot
    product of length n evaluated in any order (with or without fused multiply-add)."""
    return n * UNIT / (1.0 - n * UNIT)


# Entries processed at a time by the bulk passes (selected maps masked and multiplied, signs
# of all units at many points): bounds the temporaries, which keeps them in cache and
# spares page faults on big partitions.
CHUNK_ENTRIES = 1 << 20


@dataclass
class Maps:
    """Affine maps of one layer's units on every piece: ``value`` (C, k+1, n).

    Exact backend: ``value`` holds integer numerators (int64 or Python ints) over the common
    denominator ``den`` > 0. Filtered backend: float64 midpoints with ``radius`` bounding
    the distance to the exact value, and ``lineage``, the record that lets the backend
    recompute any row exactly. ``cache`` holds derived arrays.

    Maps made by :meth:`Backend.select` are lazy (``parts`` = parent values, parent row of
    every piece, active units): the next layer's product reads them a chunk of rows at a
    time (:meth:`chunks`), so the masked copy of every piece's maps, the largest array of
    a refinement, is never built whole.
    """

    stored: np.ndarray | None
    radius: Any = None
    den: int = 1
    lineage: Any = None
    parts: tuple | None = None
    cache: dict = field(default_factory=dict, repr=False)

    @property
    def value(self) -> np.ndarray:
        if self.stored is None:
            self.stored = self.masked(0, self.num_pieces)
        return self.stored

    def masked(self, lo: int, hi: int) -> np.ndarray:
        """Rows lo:hi of a selection: parent rows with the inactive units set to 0."""
        parent, src, active = self.parts
        v = parent[src[lo:hi]]
        if active is None:
            return v
        if v.dtype == object:
            return np.where(active[lo:hi, None, :], v, 0)
        np.multiply(v, active[lo:hi, None, :].view(np.uint8), out=v, casting="unsafe")
        return v

    def chunks(self):
        """(lo, hi, values of rows lo:hi), a bounded chunk of rows at a time."""
        C = self.num_pieces
        if self.stored is not None:
            yield 0, C, self.stored
            return
        step = max(1, CHUNK_ENTRIES // max(1, self.parts[0][0].size))
        for lo in range(0, C, step):
            hi = min(C, lo + step)
            yield lo, hi, self.masked(lo, hi)

    @property
    def num_pieces(self) -> int:
        return int(self.parts[1].size if self.stored is None else self.stored.shape[0])

    @property
    def width(self) -> int:
        return int((self.parts[0] if self.stored is None else self.stored).shape[2])

    @property
    def dtype(self):
        return (self.parts[0] if self.stored is None else self.stored).dtype


class Backend:
    """The questions an engine asks about its maps, hyperplanes and points.

    Hyperplanes and points live in tables owned by the backend and are named by integer ids
    (int64 arrays), so that the filtered backend can remember how to recompute each of them
    exactly. Every sign returned is exact (int8 in {-1, 0, 1}).
    """

    #: "exact" or "float64" (the ``mode`` a result reports)
    mode: str = ""

    def start(self, rows: list[list[Any]]) -> Maps:
        """Maps of the network's inputs on the whole domain: one piece, ``rows`` = k + 1
        rational vectors of the input space (the k directions, then the origin)."""
        raise NotImplementedError

    def affine(self, maps: Maps, layer: int) -> Maps:
        """Apply layer ``layer``'s weights and bias to every piece's maps."""
        raise NotImplementedError

    def select(self, maps: Maps, src: np.ndarray, active: np.ndarray | None) -> Maps:
        """Maps of new pieces: row ``src[i]`` of ``maps`` with the units where
        ``active[i]`` is False set to 0 (the ReLU on a piece where they are inactive)."""
        raise NotImplementedError

    def add_planes(self, maps: Maps, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Ids of the hyperplanes {y : unit cols[i] of piece rows[i] is 0}."""
        raise NotImplementedError

    def add_given_planes(self, coefs: list[list[Any]]) -> np.ndarray:
        """Ids of hyperplanes given by exact rational coefficient rows (a, c)."""
        raise NotImplementedError

    def add_points(self, planes: np.ndarray) -> np.ndarray:
        """Ids of the points where the k hyperplanes ``planes[i]`` (shape (m, k)) meet; the
        caller guarantees they meet in exactly one point."""
        raise NotImplementedError

    def signs(self, maps: Maps, rows: np.ndarray, points: np.ndarray) -> np.ndarray:
        """Signs (m, n) of every unit of piece ``rows[i]`` at point ``points[i]``."""
        raise NotImplementedError

    def sign_entries(
        self, maps: Maps, rows: np.ndarray, points: np.ndarray, cols: np.ndarray
    ) -> np.ndarray:
        """Signs (m,) of unit ``cols[i]`` of piece ``rows[i]`` at point ``points[i]``."""
        raise NotImplementedError

    def coef_signs(self, maps: Maps, rows: np.ndarray, coef: int) -> np.ndarray:
        """Signs (m, n) of coefficient row ``coef`` of the maps of pieces ``rows``."""
        raise NotImplementedError

    def same(self, maps: Maps, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Whether pieces ``a[i]`` and ``b[i]`` have equal maps (every coefficient)."""
        raise NotImplementedError

    def order(self, groups: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Sort points of a line (k = 1) by position within each group (groups ascending).

        Returns ``(order, eq)``: indices into ``points``, and for each consecutive pair of
        that order whether the two are the same point of the same group.
        """
        raise NotImplementedError

    def point_floats(self, points: np.ndarray) -> np.ndarray:
        """Coordinates (m, k) of points as float64 (for pictures and reports)."""
        raise NotImplementedError

    def float_maps(self, maps: Maps) -> np.ndarray:
        """The maps as float64 (for pictures and reports)."""
        raise NotImplementedError

    def point_values(self, points: np.ndarray) -> list:
        """Coordinates of points of a line (k = 1) as reported: Fractions when exact, floats
        otherwise."""
        raise NotImplementedError

    def describe(self) -> str:
        """The arithmetic actually used, in words (for the result record)."""
        raise NotImplementedError


def kernel_exact(A: np.ndarray) -> np.ndarray:
    """Integer kernel vectors (m, k+1) of integer hyperplane rows ``A`` (m, k, k+1): entry i
    is (-1)^i times the minor without column i, so that A x = 0."""
    _, k, k1 = A.shape
    big = nb.maxabs(A)
    if A.dtype != object and math.factorial(k) * big**k < nb.INT64_LIMIT:
        work = A.astype(np.int64)
    else:
        work = nb.to_object(A)
    memo: dict = {}

    def det(rows: tuple, cols: tuple):
        if len(rows) == 1:
            return work[:, rows[0], cols[0]]
        key = (rows, cols)
        if key not in memo:
            total = 0
            for t, c in enumerate(cols):
                term = work[:, rows[0], c] * det(rows[1:], cols[:t] + cols[t + 1 :])
                total = total + term if t % 2 == 0 else total - term
            memo[key] = total
        return memo[key]

    rows = tuple(range(k))
    out = [(-1) ** i * det(rows, tuple(c for c in range(k1) if c != i)) for i in range(k1)]
    return np.stack(out, axis=1)


def kernel_float(A: np.ndarray, R: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Kernel vectors of float hyperplanes ``A`` (m, k, k+1) with entrywise error radius
    ``R``, and a bound on their distance to the kernel of the exact hyperplanes.

    The minors are expanded along their first row (Laplace). With P the same expansion on
    |A| (a permanent) and Q = perm(|A| + R) - perm(|A|), expanded so that nothing cancels,
    the error is at most Q + gamma_d P for d = k(k+1)/2 - 1 roundings on any path; the bound
    returned covers the rounding of its own evaluation too. Copies (k = 1) are exact.
    """
    _, k, k1 = A.shape
    if k == 1:  # (a0, a1) -> (a1, -a0): copies
        return np.stack([A[:, 0, 1], -A[:, 0, 0]], axis=1), R[:, 0, ::-1].copy()
    if k == 2:
        return _cross_float(A, R)
    absA = np.abs(A)
    memo: dict = {}

    def det(rows: tuple, cols: tuple):
        if len(rows) == 1:
            return A[:, rows[0], cols[0]], absA[:, rows[0], cols[0]], R[:, rows[0], cols[0]]
        key = (rows, cols)
        if key not in memo:
            val = P = Q = 0.0
            for t, c in enumerate(cols):
                sv, sp, sq = det(rows[1:], cols[:t] + cols[t + 1 :])
                a, aa, ra = A[:, rows[0], c], absA[:, rows[0], c], R[:, rows[0], c]
                val = val + a * sv if t % 2 == 0 else val - a * sv
                P = P + aa * sp
                Q = Q + aa * sq + ra * (sp + sq)
            memo[key] = (val, P, Q)
        return memo[key]

    depth = k * (k + 1) // 2 - 1
    g = gamma(depth + 2) if depth else 0.0
    rows = tuple(range(k))
    vals, bounds = [], []
    for i in range(k1):
        v, P, Q = det(rows, tuple(c for c in range(k1) if c != i))
        vals.append(v if i % 2 == 0 else -v)
        bounds.append(Q * (1 + 2 * g) + 2 * g * P if g else Q)
    return np.stack(vals, axis=1), np.stack(bounds, axis=1)


def _cross_float(A: np.ndarray, R: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`kernel_float` for k = 2: the cross product x_i = a_{i+1} b_{i+2} - a_{i+2}
    b_{i+1} (indices mod 3) with the same bound, all three minors at once."""
    a1, a2 = A[:, 0, [1, 2, 0]], A[:, 0, [2, 0, 1]]
    b1, b2 = A[:, 1, [1, 2, 0]], A[:, 1, [2, 0, 1]]
    ra1, ra2 = R[:, 0, [1, 2, 0]], R[:, 0, [2, 0, 1]]
    rb1, rb2 = R[:, 1, [1, 2, 0]], R[:, 1, [2, 0, 1]]
    x = a1 * b2 - a2 * b1
    aa1, aa2, ab1, ab2 = np.abs(a1), np.abs(a2), np.abs(b1), np.abs(b2)
    P = aa1 * ab2 + aa2 * ab1
    Q = aa1 * rb2 + ra1 * (ab2 + rb2) + aa2 * rb1 + ra2 * (ab1 + rb1)
    g = gamma(4)  # depth 2, plus 2 for the bound's own rounding
    return x, Q * (1 + 2 * g) + 2 * g * P


def reduce_rows(X: np.ndarray) -> np.ndarray:
    """Integer rows divided by their gcd (rows of zeros stay zero)."""
    if X.size == 0:
        return X
    g = np.gcd.reduce(X, axis=1)
    g = np.where(g == 0, 1, g)
    out = X // g[:, None]
    return nb.shrink(out) if out.dtype == object else out
