"""What a run reports while it trains: JSON-lines logs, progress output, TensorBoard scalars.

- **JSON-lines logs** (``history_<kind>.jsonl``, ``regions_<kind>.jsonl``): one record per
  line, appended and flushed as they happen, so a killed run keeps everything up to the kill;
  a torn last line is skipped on reading. On resume the logs are cut back (rewritten
  atomically) to the restored step, and the steps after it are logged again.
- **Progress** (:class:`Progress`): a tqdm bar on a terminal, one line per log interval
  otherwise (a log file or CI output gets lines, not bar redraws), nothing when off.
- **TensorBoard** (:class:`Scalars`): event files under ``RUN_DIR/tensorboard/<kind>/``,
  written with tensorboardX (no TensorFlow). A resumed run purges the events after the
  restored step, so TensorBoard shows one curve, not a fold-back.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from collections.abc import Mapping
from typing import IO, Any

from tensorboardX import SummaryWriter
from tqdm.auto import tqdm

from ..errors import InvalidInput
from ..fileio import atomic_write_text
from ..records import to_jsonable

PROGRESS_MODES = ("auto", "bar", "lines", "off")


# -- JSON-lines logs ------------------------------------------------------------------------
def read_log(path: str, max_step: float = math.inf) -> list[dict]:
    """Records of a JSON-lines log with ``step <= max_step``, one per step (the last one
    written wins), in step order; a torn or foreign line is skipped."""
    out: dict[int, dict] = {}
    if os.path.isfile(path):
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    continue  # the torn last line of a killed run
                if isinstance(rec, dict) and isinstance(rec.get("step"), int):
                    if rec["step"] <= max_step:
                        out[rec["step"]] = rec
    return [out[s] for s in sorted(out)]


def write_log(path: str, records: list[dict]) -> None:
    """Replace a log by ``records`` (atomically)."""
    atomic_write_text(path, "".join(_line(r) for r in records))


def truncate_log(path: str, max_step: int) -> list[dict]:
    """Cut a log back to ``step <= max_step`` (a resumed run logs the rest again)."""
    records = read_log(path, max_step)
    write_log(path, records)
    return records


def append_log(path: str, record: Mapping[str, Any]) -> None:
    """Append one record and flush it to the OS, so that a kill loses nothing before it."""
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(_line(record))
        fh.flush()


def _line(record: Mapping[str, Any]) -> str:
    return json.dumps(to_jsonable(dict(record)), sort_keys=True) + "\n"


# -- progress -------------------------------------------------------------------------------
class Progress:
    """Progress of one model's training.

    ``mode``: ``"auto"`` (a bar when ``stream`` is a terminal, lines otherwise), ``"bar"``,
    ``"lines"`` (one line per :meth:`log` call) or ``"off"``. ``stream`` defaults to stderr.
    """

    def __init__(
        self, label: str, total: int, initial: int, mode: str = "auto", stream: IO | None = None
    ):
        if mode not in PROGRESS_MODES:
            raise InvalidInput(f"progress mode must be one of {PROGRESS_MODES}, got {mode!r}")
        self.stream = stream or sys.stderr
        if mode == "auto":
            mode = "bar" if _isatty(self.stream) else "lines"
        self.mode, self.label, self.total = mode, label, total
        self._t0, self._s0 = time.perf_counter(), initial
        self._bar = (
            tqdm(
                total=total,
                initial=initial,
                desc=f"{label:7s}",
                file=self.stream,
                dynamic_ncols=True,
            )
            if mode == "bar"
            else None
        )

    def update(self, n: int = 1) -> None:
        """``n`` more steps done."""
        if self._bar is not None:
            self._bar.update(n)

    def log(self, step: int, train_loss: float) -> None:
        """A log interval ended at ``step`` with this mean training loss."""
        if self._bar is not None:
            self._bar.set_postfix(loss=f"{train_loss:.4g}")
        elif self.mode == "lines":
            rate = (step - self._s0) / max(time.perf_counter() - self._t0, 1e-9)
            pct = 100.0 * step / self.total
            print(
                f"[{self.label}] step {step}/{self.total} ({pct:.0f}%)  train loss "
                f"{train_loss:.4g}  {rate:.1f} steps/s",
                file=self.stream,
                flush=True,
            )

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _isatty(stream: IO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def progress_mode(progress: bool | str) -> str:
    """The :class:`Progress` mode for a ``progress`` argument (True: "auto", False: "off")."""
    if progress is True:
        return "auto"
    if progress is False:
        return "off"
    if progress not in PROGRESS_MODES:
        raise InvalidInput(f"progress must be a bool or one of {PROGRESS_MODES}, got {progress!r}")
    return progress


# -- TensorBoard ----------------------------------------------------------------------------
class Scalars:
    """TensorBoard scalars of one model: ``add(step, {"loss/train": 0.1, ...})``.

    ``purge_step``: on resume, the restored step; events at or after it that a killed run
    wrote are hidden by TensorBoard (they are logged again).
    """

    def __init__(self, logdir: str, purge_step: int | None = None):
        self.logdir = logdir
        # flush_secs: events reach the file within seconds, so a watched run updates live
        self._writer = SummaryWriter(logdir, purge_step=purge_step or None, flush_secs=10)

    def add(self, step: int, values: Mapping[str, float | None]) -> None:
        for tag, v in values.items():
            if v is not None and math.isfinite(v):
                self._writer.add_scalar(tag, float(v), global_step=step)

    def flush(self) -> None:
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()
