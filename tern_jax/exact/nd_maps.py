"""Per-cell affine maps of the n-dimensional engine, for the output maps of linear regions.

Cells of one activation region have one affine map of every layer's pre-activations over the
homogeneous input coordinates (X_1..X_n0, W). The count of linear regions needs the output
maps of neighbouring cells compared exactly. Two representations:

- exact: integer numerators ``M`` (C, n0+1, width) over one power-of-two denominator ``D``
  (int64, as long as a magnitude bound proves every product safe: integer and ternary
  networks stay here);
- float: once the numerators would leave int64 (real-weight networks), float64 maps ``Mf``
  with a componentwise bound ``Ef`` on their distance to the true maps, carried through every
  layer (rounding of each dot product and bias addition, gamma_n = n u / (1 - n u) per
  product, with a factor 2 of headroom).

Comparison (:meth:`CellMaps.same`): exact maps are compared directly; float maps first by
the filter (values farther apart than the sum of the bounds somewhere differ for certain),
and the remaining pairs exactly, from the cells' activation patterns, in Python integers.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .. import arith as nb

U = 2.0**-53  # unit roundoff of float64
TINY = 1e-290  # absolute slack for underflow


class CellMaps:
    """The current layer's maps of every cell (see the module docstring)."""

    def __init__(self, n0: int, layers: list, weights: tuple, biases: tuple):
        self.layers = layers
        self.w = [np.asarray(w) for w in weights]
        self.b = [np.asarray(b) for b in biases]
        M = np.zeros((1, n0 + 1, n0), dtype=np.int64)
        M[0, np.arange(n0), np.arange(n0)] = 1  # h_0 * W = X: the homogeneous coordinates
        self.M: np.ndarray | None = M
        self.D = 1
        self.Mf: np.ndarray | None = None
        self.Ef: np.ndarray | None = None
        self.float_decided = 0  # facet pairs the float filter decided

    @property
    def exact(self) -> bool:
        return self.M is not None

    def affine(self, li: int) -> None:
        """Maps of layer li's pre-activations from the previous layer's outputs."""
        if self.exact and not self._affine_exact(li):
            self._to_float()
        if not self.exact:
            self._affine_float(li)

    def _affine_exact(self, li: int) -> bool:
        wn, bn, k = self.layers[li]
        C, r, n = self.M.shape
        bias = nb.shrink(nb.to_object(bn) * self.D)
        if nb.any_object(wn, bias):
            return False
        colsum = int(np.max(np.sum(np.abs(wn), axis=0), initial=0))
        if nb.maxabs(self.M) * colsum + nb.maxabs(bias) >= nb.INT64_LIMIT:
            return False  # decided before the product: no Python-int work wasted
        M = nb.matmul(self.M.reshape(C * r, n), wn, blas=False).reshape(C, r, -1)
        M[:, r - 1, :] += bias
        self.M, self.D = M, self.D << k
        if self.D > 1 and M.size:
            g = math.gcd(self.D, int(np.gcd.reduce(M.ravel())))
            if g > 1:
                self.M, self.D = M // g, self.D // g
        return True

    def _to_float(self) -> None:
        # D is a power of two, so dividing by it is exact; the conversion rounds once.
        self.Mf = self.M.astype(np.float64) / float(self.D)
        self.Ef = np.abs(self.Mf) * (2 * U) + TINY
        self.M = None

    def _affine_float(self, li: int) -> None:
        w, b = self.w[li], self.b[li]
        C, r, n = self.Mf.shape
        aw = np.abs(w)
        with np.errstate(over="ignore", invalid="ignore"):
            X = self.Mf.reshape(C * r, n)
            Mf = (X @ w).reshape(C, r, -1)
            Mf[:, r - 1, :] += b
            terms = (np.abs(X) @ aw).reshape(C, r, -1)
            terms[:, r - 1, :] += np.abs(b)
            carried = (self.Ef.reshape(C * r, n) @ aw).reshape(C, r, -1)
            gamma = 2 * (n + 2) * U / (1 - (n + 2) * U)
            self.Ef = (carried + gamma * terms) * (1 + 4 * (n + 2) * U) + TINY
        self.Mf = Mf

    def mask(self, src: np.ndarray, active: np.ndarray) -> None:
        """New cells (``src``: new -> old) with their inactive units' columns zeroed."""
        a = active[:, None, :]
        if self.exact:
            self.M = self.M[src] * a
        else:
            self.Mf, self.Ef = self.Mf[src] * a, self.Ef[src] * a

    def same(
        self, ca: np.ndarray, cb: np.ndarray, exact_maps: Callable[[np.ndarray], np.ndarray]
    ) -> np.ndarray:
        """Whether the (output) maps of cells ca[i] and cb[i] are equal, exactly.

        ``exact_maps(cells)``: the exact integer maps of those cells (over one common
        denominator), recomputed from their patterns, for pairs the float filter leaves open.
        """
        if not ca.size:
            return np.zeros(0, dtype=bool)
        if self.exact:
            G = self.M
            return np.all((G[ca] == G[cb]).reshape(ca.size, -1), axis=1)
        with np.errstate(invalid="ignore"):
            gap = np.abs(self.Mf[ca] - self.Mf[cb]) > self.Ef[ca] + self.Ef[cb]
        differ = np.any(gap.reshape(ca.size, -1), axis=1)
        unsure = ~differ
        self.float_decided = int(differ.sum())
        out = np.zeros(ca.size, dtype=bool)
        if np.any(unsure):
            ua, ub = ca[unsure], cb[unsure]
            need = np.unique(np.concatenate([ua, ub]))
            G = exact_maps(need)
            ia, ib = np.searchsorted(need, ua), np.searchsorted(need, ub)
            out[unsure] = np.all((G[ia] == G[ib]).reshape(ua.size, -1), axis=1)
        return out
