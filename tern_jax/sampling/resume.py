"""Resumable counts: the position in the block stream and the partial table, on disk.

A state file ``STATE_DIR/process-<p>-of-<P>.npz`` holds the run's identity (network
fingerprint, domain, seed, N, key layout, table budget, this process's block range), the
next block to process, the consolidated table and a SHA-256 over all of it. It is written
atomically (:mod:`tern_jax.fileio`: temporary file, fsync, rename; temporaries of killed
writers are cleared by the next write), so a run killed at any moment leaves the previous
state intact; a truncated, edited or corrupted state is refused as damaged, never merged.
Restarting the same command continues from the saved block; because every block is a pure
function of (seed, block index), the final record equals that of an uninterrupted run.
"""

from __future__ import annotations

import json
import os

import numpy as np

from ..errors import DamagedFile, InvalidInput
from ..fileio import arrays_sha256, atomic_savez, read_npz
from .table import TableState

STATE_FORMAT = "tern_jax.sampling_state/2"  # /2: representatives per key


def state_path(state_dir: str, process_index: int, process_count: int) -> str:
    return os.path.join(state_dir, f"process-{process_index}-of-{process_count}.npz")


def save_state(path: str, identity: dict, next_block: int, table: TableState) -> None:
    """Atomically write the state of a run, with a SHA-256 over every entry."""
    arrays = {
        "format": np.array(STATE_FORMAT),
        "identity": np.array(json.dumps(identity, sort_keys=True)),
        "next_block": np.array(next_block, dtype=np.int64),
        "level": np.array(table.level, dtype=np.int64),
        "total": np.array(-1 if table.total is None else table.total, dtype=np.int64),
        "hi": table.hi,
        "counts": table.counts,
    }
    if table.lo is not None:
        arrays["lo"] = table.lo
    if table.reps is not None:
        arrays["reps"] = table.reps
    arrays["sha256"] = np.array(arrays_sha256(arrays))
    atomic_savez(path, **arrays)


def load_state(path: str, identity: dict) -> tuple[int, TableState] | None:
    """The saved (next_block, table) of this run, or None when there is no state yet.

    Raises ValueError when the file belongs to a different run (other network, domain, seed,
    N, ...) or is damaged, rather than silently mixing two runs.
    """
    if not os.path.exists(path):
        return None
    data = read_npz(path, "tern_jax sampling state")
    try:
        if str(data["format"]) != STATE_FORMAT:
            raise DamagedFile(
                f"{path!r} is not a tern_jax sampling state of this version "
                f"({STATE_FORMAT}); delete it or use another --resume directory"
            )
        stored = str(data.pop("sha256"))
        if stored != arrays_sha256(data):
            raise DamagedFile(f"{path!r}: the sampling state does not match its SHA-256")
        saved = json.loads(str(data["identity"]))
        next_block = int(data["next_block"])
        table = TableState(
            hi=data["hi"].astype(np.uint64),
            lo=data["lo"].astype(np.uint64) if "lo" in data else None,
            counts=data["counts"].astype(np.int64),
            level=int(data["level"]),
            reps=data["reps"].astype(np.int64) if "reps" in data else None,
            total=int(data["total"]) if int(data["total"]) >= 0 else None,
        )
    except DamagedFile:
        raise
    except (KeyError, ValueError, TypeError) as e:
        raise DamagedFile(f"{path!r}: damaged sampling state ({e})") from e
    if saved != identity:
        diff = sorted(k for k in set(saved) | set(identity) if saved.get(k) != identity.get(k))
        raise InvalidInput(
            f"{path!r} holds the state of a different run (differs in: {', '.join(diff)}); "
            "use another --resume directory or delete it"
        )
    return next_block, table
