"""The optimiser, its learning-rate schedule and the jitted training step.

Determinism: parameters are initialised from ``seed``; the mini-batch at step ``s`` is a slice
of the permutation drawn from ``fold_in(key(seed), epoch)``, so the data order depends only on
``(seed, step)``, and the learning rate at step ``s`` only on ``s`` and the schedule's
horizon (``TrainConfig.schedule_horizon``), not on ``steps``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from ..models import model_from_config
from .config import TrainConfig

StepFn = Callable[[Any, Any, jax.Array, jax.Array, jax.Array], jax.Array]


def learning_rate_schedule(cfg: TrainConfig) -> optax.Schedule:
    """Linear warm-up from 0, then a cosine decay to 1% of the rate at the horizon (kept
    after it), or a constant rate. The horizon is ``cfg.schedule_horizon``."""
    horizon = cfg.schedule_horizon
    warm = min(cfg.warmup_steps, horizon - 1) if horizon > 1 else 0
    lr = cfg.learning_rate
    if cfg.schedule == "cosine":
        return optax.warmup_cosine_decay_schedule(
            0.0 if warm else lr, lr, warm, horizon, end_value=0.01 * lr
        )
    if not warm:
        return optax.constant_schedule(lr)
    return optax.join_schedules(
        [optax.linear_schedule(0.0, lr, warm), optax.constant_schedule(lr)], [warm]
    )


def make_optimizer(cfg: TrainConfig) -> optax.GradientTransformation:
    """AdamW with :func:`learning_rate_schedule`."""
    return optax.adamw(learning_rate_schedule(cfg), weight_decay=cfg.weight_decay)


def build(kind: str, cfg: TrainConfig, input_dim: int) -> tuple[Any, nnx.Optimizer]:
    """A freshly initialised model of the run (``"ternary"`` or ``"float"``) and its
    optimiser over the trainable parameters."""
    model = model_from_config(cfg.model_config(kind, input_dim), nnx.Rngs(params=cfg.seed))
    return model, nnx.Optimizer(model, make_optimizer(cfg), wrt=nnx.Param)


def make_step(n_train: int, batch_size: int, seed: int) -> StepFn:
    """The jitted step ``(model, optimizer, x, y, step) -> loss``; it updates model and
    optimiser in place. The batch at step s depends only on (seed, s)."""
    per_epoch = n_train // batch_size
    data_key = jax.random.fold_in(jax.random.key(seed), 0x5EED)

    @nnx.jit
    def step_fn(model, optimizer, x, y, step):
        epoch, pos = step // per_epoch, step % per_epoch
        perm = jax.random.permutation(jax.random.fold_in(data_key, epoch), n_train)
        idx = jax.lax.dynamic_slice(perm, (pos * batch_size,), (batch_size,))
        xb, yb = x[idx], y[idx]

        def loss_fn(m):
            return jnp.mean((m(xb) - yb) ** 2)

        loss, grads = nnx.value_and_grad(loss_fn)(model)
        optimizer.update(model, grads)
        return loss

    return step_fn


@nnx.jit
def _mse(model: Any, x: jax.Array, y: jax.Array) -> jax.Array:
    return jnp.mean((model(x) - y) ** 2)


def mse(model: Any, x: jax.Array, y: jax.Array) -> float:
    """Mean squared error of a model on ``(x, y)`` (compiled once per model structure)."""
    return float(_mse(model, x, y))
