"""Regression tasks for training: synthetic 1D/2D targets and one real tabular data set.

Every task is a deterministic function of ``(name, n_train, n_test, seed, noise)``. Inputs
are float32 arrays ``(N, d)``, targets ``(N, 1)``; ``lo``/``hi`` bound the data domain (the
box region counts are sampled over).

- ``sawtooth1d``: x ~ U[0, 1], y = 1 - 2 |(3x mod 2) - 1| (a continuous zigzag, 3 pieces)
- ``smooth1d``:   x ~ U[0, 1], y = sin(2 pi x)
- ``sines2d``:    x ~ U[-1, 1]^2, y = sin(pi x1) sin(pi x2) (a product of sines)
- ``sawtooth2d``: x ~ U[0, 1]^2, the mean of 2-piece zigzags of x1 and x2 (4 pieces)
- ``diabetes``:   scikit-learn's bundled diabetes data (442 patients, 10 features; no
  download), features and target standardised with training-set statistics, a seeded
  80/20 split (``n_train``/``n_test`` are ignored). Needs the ``data`` extra.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .errors import InvalidInput, WrongType

TASKS = ("sawtooth1d", "smooth1d", "sines2d", "sawtooth2d", "diabetes")
DIABETES_FEATURES = 10


@dataclass(frozen=True)
class Task:
    """Train/test arrays and the data domain ``[lo, hi]`` of a regression task."""

    name: str
    description: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    lo: np.ndarray
    hi: np.ndarray

    @property
    def input_dim(self) -> int:
        return int(self.x_train.shape[1])

    def constant_baseline(self) -> float:
        """Test MSE of the best constant predictor fitted on the training targets."""
        return float(np.mean((self.y_test - self.y_train.mean()) ** 2))


def _zigzag(u: np.ndarray) -> np.ndarray:
    """Continuous zigzag: -1 at even u, +1 at odd u, linear in between."""
    return 1.0 - 2.0 * np.abs(np.mod(u, 2.0) - 1.0)


_SYNTHETIC: dict[str, tuple[str, float, float, int, Callable[[np.ndarray], np.ndarray]]] = {
    "sawtooth1d": (
        "y = 1 - 2 |(3x mod 2) - 1| on [0, 1] (a zigzag with 3 linear pieces)",
        0.0,
        1.0,
        1,
        lambda x: _zigzag(3.0 * x[:, 0]),
    ),
    "smooth1d": ("y = sin(2 pi x) on [0, 1]", 0.0, 1.0, 1, lambda x: np.sin(2 * np.pi * x[:, 0])),
    "sines2d": (
        "y = sin(pi x1) sin(pi x2) on [-1, 1]^2",
        -1.0,
        1.0,
        2,
        lambda x: np.sin(np.pi * x[:, 0]) * np.sin(np.pi * x[:, 1]),
    ),
    "sawtooth2d": (
        "y = (z(2 x1) + z(2 x2)) / 2, z(u) = 1 - 2 |(u mod 2) - 1|, on [0, 1]^2 (4 pieces)",
        0.0,
        1.0,
        2,
        lambda x: 0.5 * (_zigzag(2.0 * x[:, 0]) + _zigzag(2.0 * x[:, 1])),
    ),
}


def _check_count(v: int, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise WrongType(f"{what} must be a positive integer, got {v!r}")
    if v < 1:
        raise InvalidInput(f"{what} must be a positive integer, got {v!r}")
    return int(v)


def _check_name(name: str) -> None:
    if name not in TASKS:
        raise InvalidInput(f"unknown task {name!r}; expected one of {TASKS}")


def task_input_dim(name: str) -> int:
    """The input dimension of a task, known without building it (for size checks)."""
    _check_name(name)
    return DIABETES_FEATURES if name == "diabetes" else _SYNTHETIC[name][3]


def make_task(
    name: str, n_train: int = 2048, n_test: int = 1024, seed: int = 0, noise: float = 0.0
) -> Task:
    """Build a task (see the module docstring); ``noise`` is the std of Gaussian noise
    added to the training targets only."""
    _check_name(name)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise WrongType(f"seed must be an integer, got {seed!r}")
    if seed < 0:
        raise InvalidInput(f"seed must be >= 0, got {seed}")
    if isinstance(noise, bool) or not isinstance(noise, (int, float, np.floating)):
        raise WrongType(f"noise must be a number, got {noise!r}")
    noise = float(noise)
    if not (np.isfinite(noise) and noise >= 0):
        raise InvalidInput(f"noise must be finite and >= 0, got {noise!r}")
    rng = np.random.default_rng([int(seed), TASKS.index(name)])
    if name == "diabetes":
        x, y = _diabetes()
        perm = rng.permutation(len(x))
        n_tr = round(0.8 * len(x))
        tr, te = perm[:n_tr], perm[n_tr:]
        mu, sd = x[tr].mean(0), x[tr].std(0)
        ymu, ysd = y[tr].mean(), y[tr].std()
        x = (x - mu) / sd
        y = (y - ymu) / ysd
        x_tr, x_te, y_tr, y_te = x[tr], x[te], y[tr], y[te]
        lo, hi = x_tr.min(0), x_tr.max(0)
        desc = "scikit-learn diabetes (442 x 10), standardised, 80/20 split"
    else:
        n_train, n_test = _check_count(n_train, "n_train"), _check_count(n_test, "n_test")
        desc, a, b, d, f = _SYNTHETIC[name]
        x_tr = rng.uniform(a, b, (n_train, d))
        x_te = rng.uniform(a, b, (n_test, d))
        y_tr, y_te = f(x_tr), f(x_te)
        lo, hi = np.full(d, a), np.full(d, b)
    if noise > 0:
        y_tr = y_tr + noise * rng.standard_normal(y_tr.shape)
    f32 = np.float32
    return Task(
        name=name,
        description=desc,
        x_train=x_tr.astype(f32),
        y_train=np.asarray(y_tr, f32).reshape(-1, 1),
        x_test=x_te.astype(f32),
        y_test=np.asarray(y_te, f32).reshape(-1, 1),
        lo=np.asarray(lo, np.float64),
        hi=np.asarray(hi, np.float64),
    )


def _diabetes() -> tuple[np.ndarray, np.ndarray]:
    try:  # an optional dependency (the `data` extra), so imported here
        from sklearn.datasets import load_diabetes
    except ImportError as e:
        raise InvalidInput(
            "task 'diabetes' needs scikit-learn: pip install 'tern_jax[data]'"
        ) from e
    data = load_diabetes(scaled=False)
    return np.asarray(data.data, np.float64), np.asarray(data.target, np.float64)
