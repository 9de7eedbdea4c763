"""The host-side running table of (pattern key, count), bounded by the number of patterns.

Keys arrive from the device as (n, W) uint32 words (W <= 4), already grouped per device step
(each key once, bar rare repeats that the merge adds up). On the host they become one or two
uint64 columns (``hi`` holds words 0-1, ``lo`` words 2-3) whose (hi, lo) order is the words'
lexicographic order. New pairs wait in a pending list; when the pending rows reach the
table's size (at least ``min(FLUSH_MIN, max_rows)``) everything is concatenated, sorted and
reduced by key. The amortised cost is O(log) per pair and memory stays O(distinct patterns),
never O(N).

Each key can carry a *representative*: the global index of one sample with that pattern (the
smallest seen; the merge keeps the minimum), from which :mod:`.affine` recomputes the pattern
and its affine map once per distinct pattern.

Sketch mode (beyond memory): when the table would exceed ``max_rows`` patterns, only
patterns whose 64-bit mix of the key has its top ``level`` bits zero are kept (a
hash-sampled subset with rate 2^-level; the level rises until the table fits). Their counts
stay exact, so the subset's frequency table is exact and distinct ~ kept * 2^level, with
relative standard error about sqrt((1 - 2^-level) / kept). The final level is the smallest
one whose subset fits, whatever the processing order, so the result stays deterministic and
tables from several devices or hosts merge by taking the larger level.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from ..errors import InvalidInput

FLUSH_MIN = 1 << 18


def words_to_columns(words: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """(n, W) uint32 -> (hi, lo) uint64 columns, lexicographic order preserved."""
    w = np.asarray(words, dtype=np.uint32)
    k = w.shape[1]

    def join(a: int, b: int) -> np.ndarray:
        hi = w[:, a].astype(np.uint64) << np.uint64(32)
        return hi | w[:, b] if b < k else hi

    return join(0, 1), (join(2, 3) if k > 2 else None)


def columns_to_words(hi: np.ndarray, lo: np.ndarray | None, words: int) -> np.ndarray:
    """Inverse of :func:`words_to_columns`: (n, words) uint32."""
    cols = [hi >> np.uint64(32), hi & np.uint64(0xFFFFFFFF)]
    if lo is not None:
        cols += [lo >> np.uint64(32), lo & np.uint64(0xFFFFFFFF)]
    return np.stack(cols[:words], axis=1).astype(np.uint32)


def mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser (a bijection on uint64 with full avalanche)."""
    x = np.asarray(x, dtype=np.uint64)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def sample_hash(hi: np.ndarray, lo: np.ndarray | None) -> np.ndarray:
    h = mix64(hi)
    if lo is not None:
        h = mix64(h ^ mix64(lo ^ np.uint64(0x9E3779B97F4A7C15)))
    return h


def sort_two(hi, lo):
    """The order sorting rows by (hi, lo), and the mask of each key's first row in it.

    Sorting by ``hi`` alone is ~2x faster than a two-key lexsort, and is enough unless two
    different keys share ``hi`` (64 bits of a hash, or the first two words of an exact key);
    that case is detected and only then the full lexsort runs.
    """
    # Stable (timsort) exploits the sorted runs: the table, and each device group's output
    # when the device sorted it.
    order = np.argsort(hi, kind="stable")
    shi, slo = hi[order], (lo[order] if lo is not None else None)
    same_hi = shi[1:] == shi[:-1]
    if slo is not None and np.any(same_hi & (slo[1:] != slo[:-1])):
        order = np.lexsort((lo, hi))
        shi, slo = hi[order], lo[order]
        same_hi = shi[1:] == shi[:-1]
    new = np.ones(shi.size, dtype=bool)
    new[1:] = ~same_hi if slo is None else ~same_hi | (slo[1:] != slo[:-1])
    return order, new


@dataclasses.dataclass
class TableState:
    """A consolidated table: sorted unique keys, counts and the sketch level."""

    hi: np.ndarray
    lo: np.ndarray | None
    counts: np.ndarray
    level: int = 0
    reps: np.ndarray | None = None  # int64 global sample index per key, when tracked
    total: int | None = None  # samples added (before any sketch subsetting), when known


class PatternTable:
    """Running (key, count) table with exact per-pattern counts (see module docstring)."""

    def __init__(self, two_columns: bool, max_rows: int | None = None, reps: bool = False):
        if max_rows is not None and max_rows < 1:
            raise InvalidInput(f"max_rows must be >= 1, got {max_rows}")
        self.two_columns = two_columns
        self.max_rows = max_rows
        self.tracks_reps = reps
        self.level = 0
        self._hi = np.zeros(0, np.uint64)
        self._lo = np.zeros(0, np.uint64) if two_columns else None
        self._counts = np.zeros(0, np.int64)
        self._reps = np.zeros(0, np.int64) if reps else None
        self._pending: list[tuple] = []
        self._pending_rows = 0
        self.total = 0  # samples added, whether or not the sketch keeps their pattern

    # -- input ----------------------------------------------------------------------------
    def add_words(self, words: np.ndarray, counts: np.ndarray, reps=None) -> None:
        """Add device output: rows with count 0 are padding and are dropped. ``reps``: the
        global sample index of each row's representative (an array, or a function of the
        kept row positions returning one), when the table tracks them."""
        counts = np.asarray(counts)
        keep = np.flatnonzero(counts)  # take() is ~3x faster than a boolean row mask here
        hi, lo = words_to_columns(np.asarray(words).take(keep, axis=0))
        if self.tracks_reps:
            reps = reps(keep) if callable(reps) else np.asarray(reps)[keep]
        self.add(hi, lo, counts[keep].astype(np.int64), reps)

    def add(self, hi: np.ndarray, lo: np.ndarray | None, counts: np.ndarray,
            reps: np.ndarray | None = None) -> None:  # fmt: skip
        if (lo is not None) != self.two_columns:
            raise InvalidInput("key width does not match the table")
        if (reps is not None) != self.tracks_reps:
            raise InvalidInput("representatives do not match the table")
        self.total += int(np.sum(counts))
        if self.level:
            keep = self._in_sample(hi, lo, self.level)
            hi, counts = hi[keep], counts[keep]
            lo = lo[keep] if lo is not None else None
            reps = reps[keep] if reps is not None else None
        if hi.size == 0:
            return
        self._pending.append((hi, lo, counts, reps))
        self._pending_rows += hi.size
        floor = FLUSH_MIN if self.max_rows is None else min(FLUSH_MIN, self.max_rows)
        if self._pending_rows >= max(floor, self._hi.size):
            self.consolidate()

    def merge_state(self, other: TableState) -> None:
        """Merge another consolidated table (another device, host or a saved state)."""
        if other.level > self.level:
            self.consolidate()
            self._raise_level(other.level)
        reps = other.reps if self.tracks_reps else None
        if self.tracks_reps and reps is None:
            raise InvalidInput("the saved table has no representatives")
        before = self.total
        self.add(other.hi, other.lo, other.counts, reps)
        if other.total is not None:  # the kept counts understate a sketch's samples
            self.total = before + other.total
        self.consolidate()

    # -- consolidation --------------------------------------------------------------------
    def consolidate(self) -> None:
        if not self._pending:
            self._fit()
            return
        parts = [(self._hi, self._lo, self._counts, self._reps), *self._pending]
        self._pending, self._pending_rows = [], 0
        hi = np.concatenate([p[0] for p in parts])
        lo = np.concatenate([p[1] for p in parts]) if self.two_columns else None
        counts = np.concatenate([p[2] for p in parts])
        order, new = sort_two(hi, lo)
        starts = np.flatnonzero(new)
        self._counts = np.add.reduceat(counts[order], starts) if starts.size else counts[:0]
        self._hi = hi[order][starts]
        self._lo = lo[order][starts] if lo is not None else None
        if self.tracks_reps:
            reps = np.concatenate([p[3] for p in parts])[order]
            self._reps = np.minimum.reduceat(reps, starts) if starts.size else reps[:0]
        self._fit()

    def _fit(self) -> None:
        if self.max_rows is None or self._hi.size <= self.max_rows:
            return
        h = sample_hash(self._hi, self._lo)
        level = self.level
        while level < 63:
            level += 1
            if np.count_nonzero((h >> np.uint64(64 - level)) == 0) <= self.max_rows:
                break
        self._raise_level(level)

    def _raise_level(self, level: int) -> None:
        keep = self._in_sample(self._hi, self._lo, level)
        self._hi, self._counts = self._hi[keep], self._counts[keep]
        if self._lo is not None:
            self._lo = self._lo[keep]
        if self._reps is not None:
            self._reps = self._reps[keep]
        self.level = level

    @staticmethod
    def _in_sample(hi, lo, level: int) -> np.ndarray:
        if level <= 0:
            return np.ones(hi.size, dtype=bool)
        return (sample_hash(hi, lo) >> np.uint64(64 - level)) == 0

    # -- output ---------------------------------------------------------------------------
    def state(self) -> TableState:
        self.consolidate()
        return TableState(self._hi, self._lo, self._counts, self.level, self._reps, self.total)

    @property
    def rows(self) -> int:
        self.consolidate()
        return int(self._hi.size)

    def freq_of_freq(self) -> dict[int, int]:
        """f_k: number of kept patterns seen exactly k times (exact for the kept set)."""
        self.consolidate()
        ks, fs = np.unique(self._counts, return_counts=True)
        return {int(k): int(f) for k, f in zip(ks, fs)}

    def sketch_summary(self) -> dict | None:
        """None in exact mode; otherwise the estimate and its error bound."""
        return sketch_summary(self.level, self.rows) if self.level else None


def sketch_summary(level: int, kept: int) -> dict:
    """The estimate of distinct patterns from ``kept`` patterns of a 2^-level hash sample."""
    rate = 2.0**-level
    rel = math.sqrt((1.0 - rate) / kept) if kept else float("inf")
    est = kept / rate
    return {
        "kind": "hash-sampled subset (exact counts for patterns whose key hash "
        "falls in a 2^-level slice)",
        "level": level,
        "sampling_rate": rate,
        "kept_patterns": kept,
        "distinct_estimate": est,
        "relative_std_error": rel,
        "distinct_95ci": [max(kept, est * (1 - 1.96 * rel)), est * (1 + 1.96 * rel)],
    }
