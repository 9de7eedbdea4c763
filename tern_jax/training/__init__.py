"""The training layer: quantisation-aware training of ternary models, and its run directory.

Modules, one job each (the public entry points are re-exported by :mod:`tern_jax.train`):

- ``config``: :class:`TrainConfig`, the single source of training defaults; reading,
  overriding and validating configs; the size check done before any work;
- ``layers``, ``folding``: the NNX dense layers (ternary, float, frozen codes) and folding of
  codes and scales into the exact ReLUNet (the models are in :mod:`tern_jax.models`);
- ``step``: optimiser, learning-rate schedule and the jitted training step;
- ``series``: a model's orbax checkpoint series (save, restore the newest intact step);
- ``tracking``: region counts of the model's network during training;
- ``logs``: JSON-lines logs that survive kills, progress output, TensorBoard scalars;
- ``rundir``: the run directory (lock, config file, exports, region series, summary);
- ``loop``: training one model and a whole run.

This package imports nothing on its own, so :mod:`tern_jax.models` can use ``layers`` and
``folding`` without pulling in the training loop.
"""
