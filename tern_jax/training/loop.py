"""The training loop: one model (:func:`train_model`) and a whole run (:func:`run`).

A killed run restarted with the same command restores model and optimiser state from the
newest intact checkpoint and ends with exactly the parameters of an uninterrupted run (the
step depends only on ``(seed, step)``, see :mod:`.step`); the logs are cut back to the
restored step and the region counts after it recomputed.

Ctrl-C: the first one lets the current step finish, saves a checkpoint there and raises
:class:`TrainingInterrupted` (a ``KeyboardInterrupt``), so the same command resumes from
that step; a second one interrupts at once (the last regular checkpoint stays).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import jax.numpy as jnp

from ..checkpoint import model_metadata
from ..errors import InvalidInput
from ..records import package_version
from ..tasks import Task, make_task
from . import rundir, series
from .config import MODELS, TrainConfig, check_size
from .logs import Progress, Scalars, append_log, progress_mode, truncate_log
from .step import build, make_step, mse
from .tracking import count_network_regions, region_probes, series_values

Echo = Callable[[str], None]


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during training; the state at ``step`` is saved (see the module docstring)."""

    def __init__(self, kind: str, step: int):
        super().__init__(f"{kind} training interrupted at step {step}; state saved")
        self.kind, self.step = kind, step


@contextlib.contextmanager
def _deferred_interrupt() -> Iterator[Callable[[], bool]]:
    """Within the block a first SIGINT only sets a flag (read by the yielded function), so
    the loop can stop between steps with a consistent state to save; a second one raises
    ``KeyboardInterrupt`` at once. Outside the main thread nothing changes."""
    hits: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return

    def handler(signum: int, frame: Any) -> None:
        if hits:
            raise KeyboardInterrupt
        hits.append(signum)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield lambda: bool(hits)
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler if previous is None else previous)


def _count_steps(cfg: TrainConfig) -> set[int]:
    if cfg.count_every == 0:
        return set()
    return {*range(0, cfg.steps, cfg.count_every), cfg.steps}


class _Session:
    """One model's training state: model, optimiser, checkpoint series, logs, counts."""

    def __init__(self, kind: str, cfg: TrainConfig, task: Task, run_dir: str, echo: Echo):
        self.kind, self.cfg, self.task = kind, cfg, task
        self.model, self.optimizer = build(kind, cfg, task.input_dim)
        ckpt_dir = os.path.join(run_dir, "checkpoints", kind)
        self.start = series.restore_newest_intact(
            ckpt_dir, self.model, self.optimizer, label=kind, echo=echo
        )
        if self.start:
            echo(f"[{kind}] resuming from checkpoint step {self.start}")
        self.mngr = series.manager(ckpt_dir, cfg)
        self.hist_path = os.path.join(run_dir, f"history_{kind}.jsonl")
        self.reg_path = os.path.join(run_dir, f"regions_{kind}.jsonl")
        truncate_log(self.hist_path, self.start)
        self.done_counts = {r["step"] for r in truncate_log(self.reg_path, self.start)}
        self.scalars = Scalars(os.path.join(run_dir, "tensorboard", kind), self.start)
        self.count_steps = _count_steps(cfg)
        self.probes = region_probes(task, cfg.seed)
        self.x_tr, self.y_tr = jnp.asarray(task.x_train), jnp.asarray(task.y_train)
        self.x_te, self.y_te = jnp.asarray(task.x_test), jnp.asarray(task.y_test)
        self.step_fn = make_step(
            len(task.x_train), min(cfg.batch_size, len(task.x_train)), cfg.seed
        )
        self.saved = self.start

    def count(self, step: int, train_loss: float | None) -> None:
        """Region counts at ``step`` (once per step, also across restarts)."""
        if step not in self.count_steps or step in self.done_counts:
            return
        net = self.model.to_network()
        t0 = time.perf_counter()
        rec = {
            "model": self.kind,
            "step": step,
            "fingerprint": net.fingerprint,
            "train_loss": train_loss,
            "test_loss": mse(self.model, self.x_te, self.y_te),
            **count_network_regions(net, self.task, self.cfg, self.probes),
        }
        rec["seconds"] = time.perf_counter() - t0
        append_log(self.reg_path, rec)
        self.scalars.add(step, {f"regions/{k}": v for k, v in series_values(rec).items()})
        self.done_counts.add(step)

    def save(self, step: int) -> float:
        """Checkpoint at ``step``; returns the test loss recorded with it."""
        test_loss = mse(self.model, self.x_te, self.y_te)
        meta = model_metadata(
            self.model, step=step, test_loss=test_loss, run=self.cfg.name, kind=self.kind
        )
        series.save(self.mngr, step, self.model, self.optimizer, meta, test_loss)
        self.saved = step
        return test_loss

    def after_step(self, step: int, losses: list, progress: Progress) -> list:
        """Logs, counts and checkpoints due after ``step`` steps; returns the losses not yet
        logged (the mean over a log interval, or since the resumed step, is logged)."""
        cfg, record, last = self.cfg, {}, losses[-1]
        if step % cfg.log_every == 0 or step == cfg.steps:
            record["train_loss"] = float(jnp.mean(jnp.stack(losses)))
            progress.log(step, record["train_loss"])
            losses = []
        if step in self.count_steps:
            self.count(step, float(last))
        if step % cfg.checkpoint_every == 0 or step == cfg.steps:
            record["test_loss"] = self.save(step)
        if record:
            append_log(self.hist_path, {"step": step, **record})
            self.scalars.add(
                step,
                {"loss/train": record.get("train_loss"), "loss/test_mse": record.get("test_loss")},
            )
        return losses

    def close(self) -> None:
        self.mngr.wait_until_finished()
        self.mngr.close()
        self.scalars.close()


def _loop(s: _Session, mode: str, interrupted: Callable[[], bool]) -> None:
    progress = Progress(s.kind, s.cfg.steps, s.start, mode)
    try:
        s.count(s.start, None)
        losses: list = []
        for step in range(s.start, s.cfg.steps):
            if interrupted():
                if s.saved != step:
                    s.save(step)
                raise TrainingInterrupted(s.kind, step)
            losses.append(
                s.step_fn(s.model, s.optimizer, s.x_tr, s.y_tr, jnp.asarray(step, jnp.int32))
            )
            progress.update(1)
            losses = s.after_step(step + 1, losses, progress)
        if interrupted():  # pressed during the last step's counts: the model is done
            raise TrainingInterrupted(s.kind, s.cfg.steps)
    finally:
        progress.close()


def train_model(
    kind: str,
    cfg: TrainConfig,
    task: Task,
    run_dir: str,
    *,
    progress: bool | str = True,
    echo: Echo = print,
) -> Any:
    """Train (or resume) one model of the run (``"ternary"`` or ``"float"``); returns it.

    ``progress``: True (a bar on a terminal, one line per log interval otherwise), False,
    or a :class:`~.logs.Progress` mode. Does not lock the run directory (:func:`run` does).
    """
    if kind not in MODELS:
        raise InvalidInput(f"model kind must be one of {MODELS}, got {kind!r}")
    mode = progress_mode(progress)
    with _deferred_interrupt() as interrupted:
        session = _Session(kind, cfg, task, os.fspath(run_dir), echo)
        try:
            _loop(session, mode, interrupted)
        finally:
            session.close()
    return session.model


def _final_regions(series_records: list[dict], kind: str) -> dict[str, Any] | None:
    mine = [r for r in series_records if r["model"] == kind]
    if not mine:
        return None
    last = max(mine, key=lambda r: r["step"])
    keep = ("step", "sampled_box", "sampled_data", "exact_line", "exact_plane")
    return {k: last[k] for k in keep if k in last}


def run(
    cfg: TrainConfig,
    run_dir: str | os.PathLike,
    *,
    progress: bool | str = True,
    echo: Echo = print,
    force: bool = False,
    plot: rundir.PlotFn | None = None,
) -> dict[str, Any]:
    """Train the ternary model (and its float twin), export them, write the region series
    and ``summary.json``; returns the summary. See :mod:`.rundir` for the directory's
    layout, lock and rerun rules (``force``: write into a non-empty foreign directory).
    ``plot(series, path)`` draws ``regions.png`` (e.g. :func:`tern_jax.plots.plot_region_series`;
    the training layer draws nothing itself)."""
    run_dir = os.fspath(run_dir)
    check_size(cfg)
    task = make_task(cfg.task, cfg.n_train, cfg.n_test, cfg.seed, cfg.noise)
    rundir.check_out_dir(run_dir, force)
    os.makedirs(run_dir, exist_ok=True)
    with rundir.locked(run_dir, echo):
        rundir.clear_temp_files(run_dir)
        cfg = rundir.prepare_config(run_dir, cfg, echo)
        kinds = list(MODELS) if cfg.twin else ["ternary"]
        t_start = time.perf_counter()
        summary: dict[str, Any] = {
            "run": cfg.name,
            "task": task.name,
            "task_description": task.description,
            "input_dim": task.input_dim,
            "steps": cfg.steps,
            "package_version": package_version(),
            "constant_baseline_test_mse": task.constant_baseline(),
            "models": {},
        }
        for kind in kinds:
            t0 = time.perf_counter()
            model = train_model(kind, cfg, task, run_dir, progress=progress, echo=echo)
            entry = rundir.export_model(run_dir, kind, model, cfg, task)
            entry["seconds_this_session"] = time.perf_counter() - t0
            summary["models"][kind] = entry
            echo(f"[{kind}] wrote {entry['network']}")
        records = rundir.write_series(run_dir, kinds)
        for kind in kinds:
            summary["models"][kind]["regions"] = _final_regions(records, kind)
        summary["seconds_this_session"] = time.perf_counter() - t_start
        rundir.write_summary(run_dir, summary)
        if plot is not None and records:
            rundir.plot_series(run_dir, records, plot, echo)
    return summary
