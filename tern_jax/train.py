"""Quantisation-aware training with region tracking, resumable from orbax checkpoints.

The public entry points of :mod:`tern_jax.training` (one module per job: ``config``,
``step``, ``loop``, ``tracking``, ``series``, ``rundir``, ``logs``)::

    from tern_jax.train import TrainConfig, config_from_dict, load_config, run

    cfg = load_config("experiments/configs/quick.yaml", {"steps": 500})
    summary = run(cfg, "runs/quick")          # trains, exports, writes the region series

A run is described by a :class:`TrainConfig` (defaults in its fields; a YAML file lists what
differs) and writes a run directory (layout, lock and rerun rules in
:mod:`tern_jax.training.rundir`). A killed run restarted with the same command ends with
exactly the parameters of an uninterrupted run; a larger ``steps`` extends a finished run.
"""

from __future__ import annotations

from .training.config import (
    DEFAULTS,
    MODELS,
    TrainConfig,
    check_size,
    config_from_dict,
    load_config,
    parse_overrides,
)
from .training.loop import TrainingInterrupted, run, train_model
from .training.rundir import RunDirInUse, write_series
from .training.step import make_optimizer
from .training.tracking import SERIES_FIELDS, count_network_regions, describe, region_probes

__all__ = [
    "DEFAULTS",
    "MODELS",
    "SERIES_FIELDS",
    "RunDirInUse",
    "TrainConfig",
    "TrainingInterrupted",
    "check_size",
    "config_from_dict",
    "count_network_regions",
    "describe",
    "load_config",
    "make_optimizer",
    "parse_overrides",
    "region_probes",
    "run",
    "train_model",
    "write_series",
]
