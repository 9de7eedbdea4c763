"""Convex cells of a conforming planar partition, and the vectorised cut of many cells.

A cell is a counter-clockwise cycle of vertex ids; each position also names the hyperplane
(a line of the plane, an id of the backend's table) carrying the edge that leaves that vertex.
Cycles live back to back in a shared pool: cutting a cell writes its two pieces at the end
of the pool (the old cycle becomes garbage until :meth:`Cells.flat` compacts the pool), so a
cut touches only the cells it cuts, never the whole partition.
"""

from __future__ import annotations

import numpy as np

from ._store import Grow, ragged_index


class Cells:
    """The cells: pool of cycles (``verts``, ``planes``), and per cell its ``start`` and
    ``length`` in the pool and ``src``, the row of the current layer's maps it lies in."""

    def __init__(self, verts: np.ndarray, planes: np.ndarray):
        self.verts = Grow(np.asarray(verts, dtype=np.int64))
        self.planes = Grow(np.asarray(planes, dtype=np.int64))
        self.start = Grow(np.zeros(1, dtype=np.int64))
        self.length = Grow(np.array([len(verts)], dtype=np.int64))
        self.src = Grow(np.zeros(1, dtype=np.int64))

    @property
    def count(self) -> int:
        return self.start.n

    def gather(self, cells: np.ndarray):
        """(vertex ids, plane ids, segment offsets, lengths) of ``cells``, back to back."""
        lens = self.length.a[cells]
        idx, offs = ragged_index(self.start.a[cells], lens)
        return self.verts.buf[idx], self.planes.buf[idx], offs, lens

    def flat(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Compact the pool; return (vertex ids, plane ids, starts with the end appended)."""
        v, e, offs, _ = self.gather(np.arange(self.count))
        self.verts, self.planes = Grow(v), Grow(e)
        self.start.buf[: self.count] = offs
        return v, e, np.append(offs, v.size)

    def _write(self, v: np.ndarray, e: np.ndarray, lens: np.ndarray) -> np.ndarray:
        base = self.verts.n
        self.verts.append(v)
        self.planes.append(e)
        return base + np.concatenate([[0], np.cumsum(lens)[:-1]]).astype(np.int64)

    def replace(self, cells: np.ndarray, piece) -> None:
        """Give ``cells`` new cycles ``piece = (vertex ids, plane ids, lengths)``."""
        v, e, lens = piece
        self.start.buf[cells] = self._write(v, e, lens)
        self.length.buf[cells] = lens

    def add(self, piece, src: np.ndarray) -> None:
        """Append new cells with cycles ``piece`` lying in maps rows ``src``."""
        v, e, lens = piece
        self.start.append(self._write(v, e, lens))
        self.length.append(lens)
        self.src.append(src)


def split_cycles(v, e, s, offs, lens, w, chord):
    """Cut K convex cycles along a line, all at once.

    ``v``, ``e``, ``s``: vertex id, plane id of the leaving edge and the line's sign (int8)
    at every position of K cycles stored back to back (``offs``, ``lens``); ``w``: the new
    vertex on the edge leaving a position where the sign changes strictly (else -1);
    ``chord``: the plane id of the cutting line, per cycle. Returns the positive and the
    negative pieces, each (vertex ids, plane ids, lengths per cycle).

    Walking a cycle, a piece keeps the vertices on its side (or on the line) and the new
    vertices; a kept item's leaving edge runs along the chord exactly when the next vertex
    of the cycle lies strictly on the other side (and, for an old vertex, no new vertex
    comes first), else along the cycle's own edge.
    """
    K = lens.size
    cell = np.repeat(np.arange(K), lens)
    sn = s[next_in_cycle(offs, lens)]
    cr = w >= 0
    ch = chord[cell]
    items = np.stack([v, w], axis=1).ravel()
    owner = np.repeat(cell, 2)

    def piece(keep_old, chord_old, chord_new):
        keep = np.stack([keep_old, cr], axis=1).ravel()
        pl = np.stack([np.where(chord_old, ch, e), np.where(chord_new, ch, e)], axis=1).ravel()
        return items[keep], pl[keep], np.bincount(owner[keep], minlength=K).astype(np.int64)

    pos = piece(s >= 0, ~cr & (sn < 0), sn < 0)
    neg = piece(s <= 0, ~cr & (sn > 0), sn > 0)
    return pos, neg


def next_in_cycle(offs: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """Index of the next position of every position of cycles stored back to back."""
    nxt = np.arange(1, int(lens.sum()) + 1)
    nxt[offs + lens - 1] = offs
    return nxt
