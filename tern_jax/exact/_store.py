"""Growable tables for the exact engines (vertices, hyperplanes, cell cycles)."""

from __future__ import annotations

import numpy as np

from .. import arith as nb


class Grow:
    """An array with amortised O(1) appends along axis 0 (capacity doubles, so an append
    costs the rows it adds, not the rows already there); its dtype widens to ``object``
    when an appended block holds Python integers that int64 cannot hold.

    ``copy=False`` adopts ``a`` as the buffer (for an array the caller hands over): its
    capacity is its length, so the first append reallocates and ``a`` is never written
    past its end.
    """

    def __init__(self, a: np.ndarray, copy: bool = True):
        self.n = int(a.shape[0])
        self.buf = a.copy() if copy else a

    @property
    def a(self) -> np.ndarray:
        """The filled part (a view)."""
        return self.buf[: self.n]

    def append(self, rows: np.ndarray) -> np.ndarray:
        """Append rows; return their indices."""
        k = int(rows.shape[0])
        need = self.n + k
        if rows.dtype == object and self.buf.dtype != object:
            rows = nb.shrink(rows)  # stay int64 (the fast path) while the rows fit
        widen = rows.dtype == object and self.buf.dtype != object
        if need > self.buf.shape[0] or widen:
            dt = object if (widen or self.buf.dtype == object) else self.buf.dtype
            cap = max(need, 2 * self.buf.shape[0], 16)
            nbuf = np.zeros((cap, *self.buf.shape[1:]), dtype=dt)
            nbuf[: self.n] = self.buf[: self.n]
            self.buf = nbuf
        self.buf[self.n : need] = rows
        idx = np.arange(self.n, need, dtype=np.int64)
        self.n = need
        return idx


def ragged_index(starts: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flat indices of the segments ``[starts[i], starts[i] + lengths[i])`` one after the
    other, and where each segment begins in that flat array."""
    offs = np.zeros(lengths.size, dtype=np.int64)
    if lengths.size > 1:
        np.cumsum(lengths[:-1], out=offs[1:])
    total = int(offs[-1] + lengths[-1]) if lengths.size else 0
    idx = np.arange(total, dtype=np.int64) + np.repeat(starts - offs, lengths)
    return idx, offs
