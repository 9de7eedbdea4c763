"""A model's checkpoint series: ``RUN_DIR/checkpoints/<kind>/<step>/{model,opt,metadata}``.

An orbax ``CheckpointManager`` keeps the last ``keep_last`` steps plus the one with the best
test loss; saves are synchronous, so a finished save is on disk before training goes on, and
a half-written step of a killed run is removed when the manager opens.

Resuming takes the **newest intact step**: each step, newest first, is restored and its
parameters checked against the SHA-256 in its metadata. A damaged step is moved aside to
``RUN_DIR/checkpoints/damaged/<kind>-<step>`` (kept for inspection, out of the series) and
the run resumes from the next older intact step, with a warning naming both steps. Training
is deterministic in ``(seed, step)``, so resuming from an older step ends with exactly the
parameters an uninterrupted run has: refusing would only make the user do by hand what is
safe to do here. With no intact step left, training starts again from step 0.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import orbax.checkpoint as ocp
from flax import nnx
from orbax.checkpoint import checkpoint_managers as cm

from .. import checkpoint as ck
from ..errors import DamagedFile
from .config import TrainConfig

ITEMS = ("model", "opt", "metadata")


def manager(directory: str, cfg: TrainConfig) -> ocp.CheckpointManager:
    """The orbax manager of one series (keep the last ``keep_last`` and the best step)."""
    policy = cm.AnyPreservationPolicy(
        [
            cm.LatestN(n=cfg.keep_last),
            # A step without metrics (none should exist) goes once it is not among the latest.
            cm.BestN(
                get_metric_fn=lambda m: m["test_loss"],
                reverse=True,
                n=1,
                keep_checkpoints_without_metrics=False,
            ),
        ]
    )
    options = ocp.CheckpointManagerOptions(
        preservation_policy=policy,
        # best_fn makes orbax write each step's metrics to disk, so the best step is still
        # known after a restart; which steps are kept is decided by `policy` alone.
        best_fn=lambda m: m["test_loss"],
        best_mode="min",
        enable_async_checkpointing=False,  # a finished save is on disk before training goes on
        cleanup_tmp_directories=True,  # remove the half-written step of a killed run
        create=True,
    )
    return ocp.CheckpointManager(os.path.abspath(directory), item_names=ITEMS, options=options)


def save(
    mngr: ocp.CheckpointManager, step: int, model: Any, optimizer: Any, meta: dict, loss: float
) -> None:
    """Save model, optimiser state and metadata as ``step`` (test loss as its metric)."""
    mngr.save(
        step,
        args=ocp.args.Composite(
            model=ocp.args.StandardSave(nnx.state(model)),
            opt=ocp.args.StandardSave(nnx.state(optimizer)),
            metadata=ocp.args.JsonSave(meta),
        ),
        metrics={"test_loss": loss},
    )


def _restore(step_dir: str, model: Any, optimizer: Any) -> None:
    """Restore one step into ``model`` and ``optimizer``; they are changed only when the
    step is intact (readable, and its parameters match the recorded SHA-256)."""
    _, model_state = nnx.split(model)
    _, opt_state = nnx.split(optimizer)
    restored = ck.restore_items(
        step_dir, {"model": model_state, "opt": opt_state}, json_items=("metadata",)
    )
    meta = restored["metadata"]
    ck.check_metadata(meta, step_dir)
    if ck.state_sha256(restored["model"]) != meta["param_sha256"]:
        raise DamagedFile(f"checkpoint {step_dir!r}: parameters do not match the recorded SHA-256")
    nnx.update(optimizer, restored["opt"])
    nnx.update(model, restored["model"])


def _move_aside(directory: str, step: int) -> str:
    damaged = os.path.join(os.path.dirname(os.path.abspath(directory)), "damaged")
    os.makedirs(damaged, exist_ok=True)
    base = os.path.join(damaged, f"{os.path.basename(os.path.abspath(directory))}-{step}")
    dest, n = base, 1
    while os.path.exists(dest):
        dest, n = f"{base}.{n}", n + 1
    os.replace(os.path.join(directory, str(step)), dest)
    return dest


def restore_newest_intact(
    directory: str, model: Any, optimizer: Any, *, label: str, echo: Callable[[str], None]
) -> int:
    """Restore the newest intact step of a series into ``model`` and ``optimizer`` and
    return it (0 when the series is empty or nothing is intact); damaged newer steps are
    moved aside with a warning (module docstring)."""
    if not os.path.isdir(directory):
        return 0
    damaged: list[tuple[int, DamagedFile]] = []
    restored = 0
    for step in reversed(ck.list_steps(directory, complete_only=False)):
        try:
            _restore(os.path.join(directory, str(step)), model, optimizer)
        except DamagedFile as e:
            damaged.append((step, e))
            continue
        restored = step
        break
    for step, err in damaged:
        where = _move_aside(directory, step)
        then = (
            f"resuming from step {restored}, the newest intact step"
            if restored
            else ("no intact step is left: training from step 0")
        )
        echo(
            f"[{label}] warning: checkpoint step {step} is damaged ({err}); {then}; the "
            f"damaged step is kept in {where}"
        )
    return restored
