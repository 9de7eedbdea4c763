"""Small configs and helpers shared by the training tests."""

from __future__ import annotations

import os

import jax
import numpy as np
import yaml
from flax import nnx

from tern_jax import checkpoint as ck

# A run of a few seconds: 40 steps of a small ternary net, counts every 20 steps.
TINY = dict(
    name="tiny",
    n_train=256,
    n_test=128,
    widths=[4, 4],
    steps=40,
    batch_size=32,
    checkpoint_every=20,
    log_every=10,
    count_every=20,
    count_samples=512,
    twin=False,
    exact_plane=False,
)
# Long enough (1000 steps) to be killed or interrupted between checkpoints.
KILL_CONFIG = {
    **TINY,
    "name": "kill",
    "n_train": 512,
    "n_test": 256,
    "widths": [8, 8, 8, 8],
    "steps": 1000,
    "batch_size": 64,
    "checkpoint_every": 200,
    "log_every": 50,
    "count_every": 1000,
    "count_samples": 2000,
    "seed": 3,
}


def write_config(path, **fields) -> str:
    """A YAML config file with these fields; returns its path."""
    with open(path, "w") as fh:
        yaml.safe_dump(fields, fh)
    return str(path)


def final_params(run_dir) -> tuple[int, list[np.ndarray]]:
    """Step and parameter arrays of the latest ternary checkpoint of a run directory."""
    model, meta = ck.load_model(os.path.join(run_dir, "checkpoints", "ternary"))
    return meta["step"], [np.asarray(a) for a in jax.tree_util.tree_leaves(nnx.state(model))]
