"""Several hosts: start ``jax.distributed`` and combine the per-process tables.

Each process counts a contiguous share of the canonical blocks on its own devices (see
:func:`process_share`); the partial tables are then all-gathered with JAX's own collectives
(``multihost_utils.process_allgather``, gloo on CPU, NCCL/ICI on accelerators) and merged
in process order, so every process ends with the same, deterministic record.
"""

from __future__ import annotations

import jax
import numpy as np
from jax.experimental import multihost_utils

from ..errors import InvalidInput
from .table import PatternTable, TableState


def initialize(
    coordinator_address: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
) -> None:
    """``jax.distributed.initialize``: auto-detected on TPU pods / Slurm when called without
    arguments, explicit otherwise (coordinator "host:port", process count and index)."""
    kwargs = {}
    if coordinator_address is not None:
        kwargs = {
            "coordinator_address": coordinator_address,
            "num_processes": num_processes,
            "process_id": process_id,
        }
        if num_processes is None or process_id is None:
            raise InvalidInput("an explicit coordinator needs num_processes and process_id")
        if not (0 <= process_id < num_processes):
            raise InvalidInput(f"process_id {process_id} is outside 0..{num_processes - 1}")
    jax.distributed.initialize(**kwargs)


def process_share(total_blocks: int, index: int, count: int) -> tuple[int, int]:
    """The contiguous block range [lo, hi) counted by process ``index`` of ``count``."""
    return (total_blocks * index) // count, (total_blocks * (index + 1)) // count


def _split64(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(a).astype(np.uint64)
    return (a >> np.uint64(32)).astype(np.uint32), (a & np.uint64(0xFFFFFFFF)).astype(np.uint32)


def _join64(h: np.ndarray, l: np.ndarray) -> np.ndarray:
    return (h.astype(np.uint64) << np.uint64(32)) | l.astype(np.uint64)


def allgather_tables(
    state: TableState, table: PatternTable, processed: int = 0
) -> tuple[PatternTable, int]:
    """Merge every process's table into ``table`` (a fresh table of the same layout); also
    returns the total of ``processed`` (samples counted by this run) over processes.

    Tables travel as uint32 words (x64 is off in JAX): key columns, 64-bit counts and
    representatives split in halves, padded to the largest table.
    """
    rows = int(state.hi.size)
    hi_p, lo_p = _split64(np.array([processed, state.total or 0]))
    meta = np.array([rows, state.level, hi_p[0], lo_p[0], hi_p[1], lo_p[1]], dtype=np.uint32)
    meta = np.asarray(multihost_utils.process_allgather(meta)).reshape(-1, 6).astype(np.int64)
    total = int(sum(_join64(meta[:, 2], meta[:, 3])))
    width = int(meta[:, 0].max())
    cols = [*_split64(state.hi)]
    if state.lo is not None:
        cols += [*_split64(state.lo)]
    cols += [*_split64(state.counts)]
    if state.reps is not None:
        cols += [*_split64(state.reps)]
    mat = np.zeros((max(width, 1), len(cols)), dtype=np.uint32)
    for j, c in enumerate(cols):
        mat[:rows, j] = c
    everything = np.asarray(multihost_utils.process_allgather(mat))
    everything = everything.reshape(meta.shape[0], max(width, 1), len(cols))
    for p in range(meta.shape[0]):
        n, level = int(meta[p, 0]), int(meta[p, 1])
        m = everything[p, :n]
        hi = _join64(m[:, 0], m[:, 1])
        j = 4 if state.lo is not None else 2
        lo = _join64(m[:, 2], m[:, 3]) if state.lo is not None else None
        counts = _join64(m[:, j], m[:, j + 1]).astype(np.int64)
        reps = (
            _join64(m[:, j + 2], m[:, j + 3]).astype(np.int64) if state.reps is not None else None
        )
        added = int(_join64(meta[p, 4:5], meta[p, 5:6])[0])
        table.merge_state(TableState(hi, lo, counts, level, reps, added))
    return table, total
