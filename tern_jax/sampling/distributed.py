"""Several hosts: start ``jax.distributed``, keep the processes of a count in step, combine
their tables.

Each process counts a contiguous share of the canonical blocks on its own devices (see
:func:`process_share`); the partial tables are then all-gathered with JAX's own collectives
(``multihost_utils.process_allgather``, gloo on CPU, NCCL/ICI on accelerators) and merged
in process order, so every process ends with the same, deterministic record.

Shares can be very unequal (a resumed run where one process had finished), and a process can
be lost (killed, crashed, its host gone). So the processes of a run meet through the
coordination service's key-value store (:class:`Peers`) before the collective: each one
publishes a heartbeat with its position while it works and a "done" mark when its share is;
one that has finished waits, however long the others need, as long as they beat. A peer that
reports a failure, or stops beating for ``peer_timeout_s``, ends the wait with
:class:`~tern_jax.errors.PeerLost` (exit code 75 in the CLI), this process's state saved.
:func:`initialize` turns on JAX's recoverable mode, without which the runtime itself aborts
every survivor (a C++ stack dump, exit 134) as soon as one process dies; the runtime still
does so when the lost process is the coordinator (process 0), since the others lose the
service itself, so their states up to the last periodic save are what remains.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import itertools
import json
import os
import sys
import threading
import time

import jax
import numpy as np
from jax._src import distributed as _jax_distributed  # the runtime client (no public handle)
from jax.experimental import multihost_utils

from ..checks import check_positive
from ..errors import InvalidInput, PeerLost
from .table import PatternTable, TableState

PEER_TIMEOUT_S = 60.0  # default: a peer silent this long is lost
BEAT_S = 1.0  # heartbeat period
POLL_S = 0.2  # how often a finished process looks at the others
_settings = {"peer_timeout_s": PEER_TIMEOUT_S}  # set by initialize, for the whole session
_lost: set[int] = set()  # processes found lost: not waited for at exit
# Every process calls count_regions in the same order (one program, many processes), so the
# n-th multi-process run of each process is the same run: its keys are numbered by this.
_runs = itertools.count()


def initialize(
    coordinator_address: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
    *,
    peer_timeout_s: float = PEER_TIMEOUT_S,
) -> None:
    """``jax.distributed.initialize``: auto-detected on TPU pods / Slurm when called without
    arguments, explicit otherwise (coordinator "host:port", process count and index).

    ``peer_timeout_s``: how long a process that has finished its share waits for a silent
    peer (no heartbeat) before ending with :class:`~tern_jax.errors.PeerLost`. Also turns on
    JAX's recoverable mode (a lost peer must not abort the others) and, in process 0, waits
    at exit until the others have left (see the module docstring).
    """
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
    _settings["peer_timeout_s"] = check_positive(peer_timeout_s, "peer_timeout_s")
    jax.config.update("jax_enable_recoverability", True)
    with stdout_to_stderr():
        jax.distributed.initialize(**kwargs)
    atexit.register(_leave)


def _client():
    return getattr(_jax_distributed.global_state, "client", None)


def _leave() -> None:
    """At exit. In recoverable mode the coordinator no longer waits for the others at
    shutdown, and a process whose coordinator is gone is aborted by the runtime: so every
    other process disconnects first, and process 0 waits until they have (or a bound)."""
    client = _client()
    if client is None:
        return
    if jax.process_index() == 0 and jax.process_count() > 1:
        # get_live_nodes returns once every live process has called it too or has left; the
        # others never call it, so it returns when they have all disconnected or died.
        others = [p for p in range(jax.process_count()) if p not in _lost]
        waiter = threading.Thread(target=_quietly, args=(client.get_live_nodes, others),
                                  daemon=True)  # fmt: skip
        waiter.start()
        waiter.join(timeout=2 * _settings["peer_timeout_s"] + 30)
    with contextlib.suppress(Exception):  # leaving anyway: nothing left to report to
        jax.distributed.shutdown()


def _quietly(fn, *args) -> None:
    with contextlib.suppress(Exception):
        fn(*args)


@contextlib.contextmanager
def stdout_to_stderr():
    """Send what native code writes on file descriptor 1 (gloo prints "[Gloo] Rank 0 is
    connected ..." on its first collective) to stderr, so stdout holds only the command's
    own output (one JSON object with ``--json``)."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _run_digest(identity: dict) -> str:
    """What every process of one run shares (its own block range aside)."""
    shared = {k: v for k, v in identity.items() if k != "blocks"}
    return hashlib.sha256(json.dumps(shared, sort_keys=True).encode()).hexdigest()[:32]


class Peers:
    """The processes of one multi-process count, in step through the key-value store.

    Use as a context manager around the run: it beats while the run works (:meth:`at`
    records the position), :meth:`wait` marks this share done and returns when every peer's
    is, and leaving with an exception tells the peers at once (their wait ends with
    :class:`~tern_jax.errors.PeerLost` naming it).
    """

    def __init__(self, identity: dict, index: int, count: int, blocks: tuple[int, int]):
        self.index, self.count = index, count
        self._client = _client()
        if self._client is None:
            raise InvalidInput(
                f"a count over {count} processes needs jax.distributed initialised "
                "(tern_jax.sampling.distributed.initialize, or tern-jax count --distributed)"
            )
        self._prefix = f"tern_jax/count/{next(_runs)}"
        self._digest = _run_digest(identity)
        self._blocks = blocks
        self._position = blocks[0]
        self._stop = threading.Event()
        self._beater = threading.Thread(target=self._beat, daemon=True)

    def _key(self, what: str, process: int) -> str:
        return f"{self._prefix}/{what}/{process}"

    def __enter__(self) -> Peers:
        self._beater.start()
        return self

    def __exit__(self, kind, error, tb) -> None:
        self._stop.set()
        if error is not None and not isinstance(error, PeerLost):
            what = "interrupted" if isinstance(error, KeyboardInterrupt) else f"{kind.__name__}"
            _quietly(self._client.key_value_set, self._key("failed", self.index),
                     f"{what}: {error}" if str(error) else what)  # fmt: skip
        self._beater.join(timeout=2 * BEAT_S)

    def at(self, block: int) -> None:
        """This process has merged everything before ``block``."""
        self._position = block

    def _beat(self) -> None:
        for n in itertools.count():
            value = json.dumps({"beat": n, "at": self._position, "share": self._blocks})
            try:
                self._client.key_value_set(self._key("beat", self.index), value,
                                           allow_overwrite=True)  # fmt: skip
            except Exception:  # the service is gone: the runtime reports that itself
                return
            if self._stop.wait(BEAT_S):
                return

    def _get(self, key: str) -> str | None:
        try:
            return self._client.key_value_try_get(key)
        except Exception as e:  # the runtime's error type is not public
            if "NOT_FOUND" in str(e):
                return None
            raise

    def wait(self, show: bool = False, saved: str | None = None) -> None:
        """Mark this share done; return when every peer's is. ``saved``: where this
        process's state is (named in the error when a peer is lost)."""
        self._client.key_value_set(self._key("done", self.index), self._digest)
        timeout = _settings["peer_timeout_s"]
        now = time.monotonic()
        last = {p: (None, now) for p in range(self.count) if p != self.index}
        said = False
        while last:
            for p in sorted(last):
                done = self._get(self._key("done", p))
                if done is not None:
                    if done != self._digest:
                        raise InvalidInput(
                            f"process {p} is counting a different run (other network, domain, "
                            "N, seed or options): start every process with the same arguments"
                        )
                    del last[p]
                    continue
                failed = self._get(self._key("failed", p))
                if failed is not None:
                    _lost.add(p)
                    raise PeerLost(self._lost_message(p, f"stopped ({failed})", saved))
                beat = self._get(self._key("beat", p))
                if beat != last[p][0]:
                    last[p] = (beat, time.monotonic())
                elif time.monotonic() - last[p][1] > timeout:
                    _lost.add(p)
                    silent = f"sent no heartbeat for {timeout:g} s"
                    raise PeerLost(self._lost_message(p, silent, saved, beat))
                elif show and not said:
                    print(f"process {self.index}: share done, waiting for process {p}"
                          f"{_position(beat)}", file=sys.stderr)  # fmt: skip
                    said = True
            if last:
                time.sleep(POLL_S)

    def _lost_message(self, p: int, what: str, saved: str | None, beat: str | None = None) -> str:
        where = (
            f"this process's finished share is saved in {saved!r}; rerun the same command on "
            "every process to resume"
            if saved
            else "nothing was saved (give --resume / state_dir to keep finished shares)"
        )
        at = _position(beat)
        return f"process {p} of {self.count} {what} before finishing its share{at}; {where}"


def _position(beat: str | None) -> str:
    if not beat:
        return ""
    b = json.loads(beat)
    lo, hi = b["share"]
    return f" (at block {b['at'] - lo} of {hi - lo} in its share)"


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
    with stdout_to_stderr():
        meta = np.asarray(multihost_utils.process_allgather(meta))
    meta = meta.reshape(-1, 6).astype(np.int64)
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
    with stdout_to_stderr():
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
