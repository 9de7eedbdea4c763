"""The run directory: what a run writes, the lock, and which reruns are allowed.

Layout::

    RUN_DIR/config.yaml              the resolved config (every field)
    RUN_DIR/.lock                    while a process writes the directory: its pid and host
    RUN_DIR/checkpoints/ternary/<step>/{model,opt,metadata}   orbax CheckpointManager
    RUN_DIR/checkpoints/float/<step>/...                      the float twin's series
    RUN_DIR/checkpoints/damaged/<kind>-<step>/                damaged steps moved aside
    RUN_DIR/history_<kind>.jsonl, regions_<kind>.jsonl        logs (survive kills)
    RUN_DIR/tensorboard/<kind>/events.out.tfevents.*          TensorBoard scalars
    RUN_DIR/network.npz              final ternary model as a folded ReLUNet
    RUN_DIR/network_float.npz        final float twin as a ReLUNet
    RUN_DIR/codes.npz                final ternary model as int8 codes + scales
    RUN_DIR/regions.json, regions.csv, regions.png   region counts against training step
    RUN_DIR/history.csv              training/test loss against step
    RUN_DIR/summary.json             final losses and region counts, baseline, file list

Rules:

- **Lock.** A process holds ``RUN_DIR/.lock`` (an exclusive ``flock``, with its pid, host and
  start time written inside) while it writes the directory; a second process on the same
  directory fails at once (:class:`RunDirInUse`) and writes nothing. The kernel drops the
  lock of a process that dies, so a lock file left by a killed run is *stale*: the next run
  reports whose it was and takes it over.
- **Foreign directories.** ``RUN_DIR`` must be missing, empty, or a run directory (holding a
  ``config.yaml`` with a complete resolved config); a non-empty directory of other files is
  refused unless ``force=True`` (``--force``), since the run would replace files such as
  ``network.npz`` or ``summary.json`` there. A ``config.yaml`` that is not a run's resolved
  config (empty, partial, not YAML) is never overwritten.
- **Reruns.** The same config resumes (and a finished run changes nothing). The one change
  allowed is a larger ``steps`` (*extending* the run: it resumes from the last checkpoint);
  the learning-rate schedule keeps the old horizon (``schedule_steps`` is pinned to it), so
  the extended run equals a fresh run with the larger ``steps`` and that ``schedule_steps``.
  Any other difference is refused, naming the fields.
- **Atomic files.** Every file written here goes through :mod:`tern_jax.fileio` (temporary
  file, fsync, rename); temporary files left by a killed run are removed under the lock.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import json
import os
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import yaml

from ..checkpoint import export_codes
from ..errors import InvalidInput
from ..fileio import atomic_path, atomic_write_text, is_temp_name
from ..netfile import save_network
from ..records import to_jsonable
from ..tasks import Task
from .config import FIELDS, TrainConfig
from .logs import read_log
from .tracking import SERIES_FIELDS, series_values

try:
    import fcntl
except ImportError:  # Windows: the lock falls back to an exclusively created file
    fcntl = None

CONFIG = "config.yaml"
LOCK = ".lock"
NETWORK_FILES = {"ternary": "network.npz", "float": "network_float.npz"}
# Fields a run directory written by tern_jax 0.1.0 lacks (they take their defaults).
LATER_FIELDS = frozenset({"schedule_steps"})
SERIES_DESCRIPTION = (
    "Region counts of the model's ReLUNet against training step. sampled_box: distinct "
    "activation patterns among n_samples uniform points of the data box (sampled; chao1 is an "
    "estimate). sampled_data: the same over balls of neighbourhood_radius around the training "
    "points. exact_line / exact_plane: exact activation and linear regions on a line / plane "
    "through data points."
)
PlotFn = Callable[[list[dict], str], Any]


class RunDirInUse(InvalidInput):
    """Another live process holds the run directory's lock."""


# -- the lock -------------------------------------------------------------------------------
def _owner_text(owner: dict[str, Any] | None) -> str:
    if not owner:
        return "a process that has not written its name yet"
    return f"pid {owner.get('pid')} on host {owner.get('host')!r} (since {owner.get('started')})"


def _read_owner(path: str) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as fh:
            owner = json.loads(fh.read() or "null")
    except (OSError, ValueError):  # gone meanwhile, or torn by a kill mid-write
        return None
    return owner if isinstance(owner, dict) else None


def _open_locked(path: str) -> int:
    """An fd of ``path`` holding its exclusive lock; raises :class:`RunDirInUse`."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as e:
            os.close(fd)
            raise RunDirInUse(
                f"run directory {os.path.dirname(path)!r} is in use by "
                f"{_owner_text(_read_owner(path))}; wait for that run to end (or stop it), "
                "then rerun"
            ) from e
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)  # the previous holder removed the file as we locked it: try again


def _create_exclusive(path: str) -> int:
    """Without ``flock``: the lock is the file itself, created exclusively."""
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError as e:
        raise RunDirInUse(
            f"run directory {os.path.dirname(path)!r} is locked by "
            f"{_owner_text(_read_owner(path))}; if that process is gone, delete {path!r}"
        ) from e


@contextlib.contextmanager
def locked(run_dir: str, echo: Callable[[str], None]) -> Iterator[None]:
    """Hold ``RUN_DIR/.lock`` for the block (module docstring); report a stale lock."""
    path = os.path.join(run_dir, LOCK)
    fd = _open_locked(path) if fcntl is not None else _create_exclusive(path)
    try:
        stale = _read_owner(path)
        if stale:
            echo(
                f"note: {path} was left by {_owner_text(stale)}, which no longer holds it "
                "(killed?); taking it over"
            )
        owner = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.ctime()}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(owner).encode(), 0)
        os.fsync(fd)
        yield
    finally:
        os.remove(path)  # while still holding it (see _open_locked)
        os.close(fd)


# -- what may be written where --------------------------------------------------------------
def check_out_dir(run_dir: str, force: bool = False) -> None:
    """Refuse a non-empty ``run_dir`` that is not a run directory, unless ``force``."""
    if not os.path.exists(run_dir):
        return
    if not os.path.isdir(run_dir):
        raise InvalidInput(f"{run_dir!r} is a file; a run needs a directory")
    entries = sorted(n for n in os.listdir(run_dir) if n != LOCK and not is_temp_name(n))
    if not entries or CONFIG in entries or force:
        return
    shown = ", ".join(entries[:5]) + (", ..." if len(entries) > 5 else "")
    raise InvalidInput(
        f"{run_dir!r} is not empty and is not a tern_jax run directory (no {CONFIG}; it "
        f"holds {shown}); a run would replace files such as network.npz and summary.json "
        "there. Choose a new or empty directory, or pass --force to write into it anyway"
    )


def clear_temp_files(run_dir: str) -> None:
    """Remove temporary files of interrupted atomic writes (call under the lock)."""
    for name in os.listdir(run_dir):
        if is_temp_name(name):
            os.remove(os.path.join(run_dir, name))


def read_run_config(run_dir: str) -> TrainConfig | None:
    """The resolved config stored in a run directory, or None when it has none yet."""
    path = os.path.join(run_dir, CONFIG)
    if not os.path.exists(path):
        return None
    problem = f"{path} is not the resolved config of a tern_jax run"
    advice = "choose another directory for the run"
    try:
        with open(path, encoding="utf-8") as fh:
            d = yaml.safe_load(fh)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise InvalidInput(f"{problem} (unreadable: {e}); {advice}") from e
    if d is None:
        raise InvalidInput(f"{path} is empty: {problem} (or a damaged one); {advice}")
    missing = sorted(FIELDS - LATER_FIELDS - set(d)) if isinstance(d, dict) else ["all"]
    if missing:
        raise InvalidInput(f"{problem} (fields missing: {missing}); {advice}")
    try:
        return TrainConfig.from_dict(d)
    except InvalidInput as e:
        raise InvalidInput(f"{problem} ({e}); {advice}") from e


def reconcile(
    run_dir: str, stored: TrainConfig, requested: TrainConfig
) -> tuple[TrainConfig, str | None]:
    """The config to run in a directory holding ``stored``: the same run, or ``stored``
    extended to a larger ``steps`` (with a note saying so); anything else is refused."""
    # Compare with the schedule's horizon made explicit: the run trained with `stored`'s.
    horizon = stored.schedule_horizon
    stored_pinned = dataclasses.replace(stored, schedule_steps=horizon)
    if requested.schedule_steps is None:
        requested = dataclasses.replace(requested, schedule_steps=horizon)
    diff = sorted(f for f in FIELDS if getattr(requested, f) != getattr(stored_pinned, f))
    if not diff:
        return stored, None
    if diff == ["steps"] and requested.steps > stored.steps:
        return requested, (
            f"extending the run in {run_dir} from {stored.steps} to {requested.steps} steps; "
            f"the learning-rate schedule keeps its horizon of {requested.schedule_steps} steps"
        )
    if diff == ["steps"]:
        raise InvalidInput(
            f"{run_dir!r} holds a run of {stored.steps} steps; it cannot be shortened to "
            f"{requested.steps}: use a new --out directory"
        )
    raise InvalidInput(
        f"{run_dir!r} holds a run with a different config (fields {diff}); only 'steps' may "
        "change, and only upward (extending the run): use a new --out directory"
    )


def write_config(run_dir: str, cfg: TrainConfig) -> None:
    atomic_write_text(os.path.join(run_dir, CONFIG), yaml.safe_dump(cfg.to_json(), sort_keys=True))


def prepare_config(run_dir: str, cfg: TrainConfig, echo: Callable[[str], None]) -> TrainConfig:
    """Store ``cfg`` in a new run directory, or reconcile it with the stored one."""
    stored = read_run_config(run_dir)
    if stored is None:
        write_config(run_dir, cfg)
        return cfg
    cfg, note = reconcile(run_dir, stored, cfg)
    if note:
        echo(note)
        write_config(run_dir, cfg)
    return cfg


# -- outputs --------------------------------------------------------------------------------
def _mse(net: Any, x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean((np.asarray(net(x)) - y) ** 2))


def export_model(run_dir: str, kind: str, model: Any, cfg: TrainConfig, task: Task) -> dict:
    """Write the final model's network file (and the ternary codes); its summary entry."""
    net = model.to_network()
    name = NETWORK_FILES[kind]
    meta = {"run": cfg.name, "kind": kind, "model": model.config(), "step": cfg.steps}
    save_network(net, os.path.join(run_dir, name), metadata=meta)  # atomic itself
    entry = {
        "test_mse": _mse(net, task.x_test, task.y_test),
        "train_mse": _mse(net, task.x_train, task.y_train),
        "network": name,
        "fingerprint": net.fingerprint,
    }
    if kind == "ternary":
        export_codes(model, os.path.join(run_dir, "codes.npz"), metadata=meta)
        entry["codes"] = "codes.npz"
    return entry


def _csv_text(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(["" if v is None else v for v in row] for row in rows)
    return buf.getvalue()


def write_series(
    run_dir: str, kinds: Sequence[str], plot: PlotFn | None = None, echo: Callable = print
) -> list[dict]:
    """Merge the per-model logs into regions.json, regions.csv and history.csv; with
    ``plot`` (e.g. :func:`tern_jax.plots.plot_region_series`) also regions.png."""
    series, history = [], []
    for kind in kinds:
        series += read_log(os.path.join(run_dir, f"regions_{kind}.jsonl"))
        history += [
            {"model": kind, **r} for r in read_log(os.path.join(run_dir, f"history_{kind}.jsonl"))
        ]
    doc = {"description": SERIES_DESCRIPTION, "series": series}
    atomic_write_text(
        os.path.join(run_dir, "regions.json"),
        json.dumps(to_jsonable(doc), indent=1, sort_keys=True),
    )
    keys = ["model", "step", "train_loss", "test_loss"]
    rows = [[r.get(k) for k in keys] + list(series_values(r).values()) for r in series]
    cols = keys + [f"{a}.{b}" for a, b in SERIES_FIELDS]
    atomic_write_text(os.path.join(run_dir, "regions.csv"), _csv_text(cols, rows))
    rows = [[r.get(k) for k in keys] for r in history]
    atomic_write_text(os.path.join(run_dir, "history.csv"), _csv_text(keys, rows))
    if plot is not None and series:
        plot_series(run_dir, series, plot, echo)
    return series


def plot_series(
    run_dir: str, series: list[dict], plot: PlotFn, echo: Callable[[str], None]
) -> str | None:
    """``RUN_DIR/regions.png`` drawn by ``plot(series, path)``, atomically. A path that
    cannot be written is reported, not raised: the run's results are already saved."""
    path = os.path.join(run_dir, "regions.png")
    try:
        with atomic_path(path) as tmp:
            plot(series, tmp)
    except OSError as e:
        echo(f"warning: could not write {path} ({e}); the region series is in regions.csv")
        return None
    return path


def write_summary(run_dir: str, summary: dict[str, Any]) -> None:
    atomic_write_text(
        os.path.join(run_dir, "summary.json"),
        json.dumps(to_jsonable(summary), indent=1, sort_keys=True),
    )
