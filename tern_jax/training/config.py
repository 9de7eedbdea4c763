"""TrainConfig: one training run, and the single source of training defaults.

The defaults are the field defaults of :class:`TrainConfig` and nowhere else: the YAML files
in ``experiments/configs/`` list only the fields that differ from them, and the studies
build their configs from the defaults plus explicit overrides. ``RUN_DIR/config.yaml`` holds
the *resolved* config (every field), so a run directory documents itself.

Configs are normalised before the frozen dataclass is built (:meth:`TrainConfig.from_dict`:
lists become tuples, quantiser names become :class:`~tern_jax.quantize.Quantizer`, integral
numbers of float fields become floats); ``__post_init__`` only checks. Building a
``TrainConfig`` directly takes the canonical types (a tuple of widths, a ``Quantizer``).

:func:`check_size` refuses, before any work, a config whose parameters and optimiser state
cannot fit in this machine's memory, with the estimate in the message.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import yaml

from ..errors import InvalidInput, MissingFile, TooLarge, WrongType
from ..models import ARCHITECTURES
from ..quantize import Quantizer, as_quantizer
from ..tasks import TASKS, task_input_dim

MODELS = ("ternary", "float")
SCHEDULES = ("cosine", "constant")
SEED_BITS = 63  # JAX keys take a signed 64-bit seed
ABSMEAN = Quantizer("absmean")  # BitNet b1.58, the default quantiser


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """One training run; every field can be set in a YAML config file or with ``--set``.

    ``schedule_steps``: the horizon of the learning-rate schedule (warm-up, then cosine
    decay to 1% of ``learning_rate``, which is kept after the horizon); ``None`` means
    ``steps``. Extending a run (a larger ``steps`` on its run directory) pins it to the old
    horizon, so the extended run equals a fresh one with that ``schedule_steps``.
    """

    name: str = "run"
    task: str = "sines2d"
    n_train: int = 2048
    n_test: int = 1024
    noise: float = 0.0
    architecture: str = "alternating"  # or "all_relu"
    widths: tuple[int, ...] = (16, 16, 16, 16)
    quantizer: Quantizer = ABSMEAN  # YAML: a rule name or {rule, threshold, per_channel}
    quantize_bias: bool = True
    quantize_output: bool = True
    twin: bool = True  # also train the full-precision twin
    steps: int = 2000
    batch_size: int = 128
    learning_rate: float = 3e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 100
    schedule: str = "cosine"  # or "constant" (after the warm-up)
    schedule_steps: int | None = None  # horizon of the schedule; None: steps
    seed: int = 0
    checkpoint_every: int = 500
    keep_last: int = 2
    log_every: int = 50
    count_every: int = 500  # 0: no region tracking; counts at step 0, every k and the end
    count_samples: int = 20000
    neighbourhood_radius: float = 0.05
    exact_line: bool = True
    exact_plane: bool = True

    def __post_init__(self) -> None:
        _check(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TrainConfig:
        """A config from a mapping of fields (YAML or JSON values); missing fields take the
        defaults, unknown fields are rejected by name. Every problem is an
        :class:`~tern_jax.errors.InvalidInput` naming the field."""
        if not isinstance(d, Mapping):
            raise InvalidInput(f"a config must be a mapping of fields, got {type(d).__name__}")
        unknown = sorted(set(d) - FIELDS)
        if unknown:
            raise InvalidInput(f"unknown config fields {unknown}; known: {sorted(FIELDS)}")
        try:
            return cls(**{k: _normalise(k, v) for k, v in d.items()})
        except WrongType as e:  # in a config file a wrong type is wrong content
            raise InvalidInput(str(e)) from e

    @property
    def schedule_horizon(self) -> int:
        """Steps of the learning-rate schedule (``schedule_steps`` or ``steps``)."""
        return self.steps if self.schedule_steps is None else self.schedule_steps

    def to_json(self) -> dict[str, Any]:
        """Every field as plain JSON/YAML values (the run directory's ``config.yaml``)."""
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d["widths"] = list(self.widths)
        d["quantizer"] = self.quantizer.to_json()
        return d

    def non_defaults(self) -> dict[str, Any]:
        """The fields that differ from the defaults (what a YAML file needs to list)."""
        base = DEFAULTS.to_json()
        return {k: v for k, v in self.to_json().items() if v != base[k]}

    def model_config(self, kind: str, input_dim: int) -> dict[str, Any]:
        """The model config (:func:`tern_jax.models.model_from_config`) of one of the run's
        models: ``"ternary"`` or its ``"float"`` twin."""
        if kind not in MODELS:
            raise InvalidInput(f"model kind must be one of {MODELS}, got {kind!r}")
        base = {
            "input_dim": input_dim,
            "widths": list(self.widths),
            "architecture": self.architecture,
            "output_dim": 1,
        }
        if kind == "float":
            return {"class": "MLP", **base}
        return {
            "class": "AlternatingMLP",
            **base,
            "quantizer": self.quantizer.to_json(),
            "quantize_bias": self.quantize_bias,
            "quantize_output": self.quantize_output,
        }


FIELDS = frozenset(f.name for f in dataclasses.fields(TrainConfig))
_POSITIVE = (
    "n_train",
    "n_test",
    "steps",
    "batch_size",
    "checkpoint_every",
    "keep_last",
    "log_every",
    "count_samples",
)
_FLOATS = ("noise", "learning_rate", "weight_decay", "neighbourhood_radius")
_BOOLS = ("quantize_bias", "quantize_output", "twin", "exact_line", "exact_plane")


def _normalise(name: str, v: Any) -> Any:
    """The canonical type of one field's YAML/JSON value (values are checked later)."""
    if name == "widths":
        if not isinstance(v, (list, tuple)):
            raise InvalidInput(f"config widths must be a list of positive integers, got {v!r}")
        return tuple(v)
    if name == "quantizer":
        if v is None:
            raise InvalidInput("config quantizer must name a rule (the float twin is 'twin: true')")
        return as_quantizer(v)
    if name in _FLOATS and isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        return float(v)
    return v


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _check_int(c: TrainConfig, name: str, minimum: int, log2_limit: int | None = None) -> None:
    v = getattr(c, name)
    bound = f" and < 2^{log2_limit}" if log2_limit is not None else ""
    if not _is_int(v):
        raise WrongType(f"config {name} must be an integer >= {minimum}{bound}, got {v!r}")
    if v < minimum or (log2_limit is not None and v >= 2**log2_limit):
        raise InvalidInput(f"config {name} must be an integer >= {minimum}{bound}, got {v!r}")


def _check_number(c: TrainConfig, name: str, strict: bool = False) -> None:
    v = getattr(c, name)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise WrongType(f"config {name} must be a number, got {v!r}")
    if not math.isfinite(v) or v < 0 or (strict and v == 0):
        raise InvalidInput(
            f"config {name} must be finite and {'>' if strict else '>='} 0, got {v!r}"
        )


def _check_choice(c: TrainConfig, name: str, choices: tuple[str, ...]) -> None:
    if getattr(c, name) not in choices:
        raise InvalidInput(
            f"config {name} {getattr(c, name)!r} is unknown; expected one of {choices}"
        )


def _check(c: TrainConfig) -> None:
    """Check every field of ``c`` (types, then ranges); never modifies it."""
    if not isinstance(c.name, str) or not c.name:
        raise InvalidInput(f"config name must be a non-empty string, got {c.name!r}")
    _check_choice(c, "task", TASKS)
    _check_choice(c, "architecture", ARCHITECTURES)
    _check_choice(c, "schedule", SCHEDULES)
    if not isinstance(c.widths, tuple) or not c.widths:
        raise WrongType(
            f"config widths must be a non-empty tuple of ints, got {c.widths!r} "
            "(TrainConfig.from_dict accepts lists)"
        )
    if not all(_is_int(w) and w >= 1 for w in c.widths):
        raise InvalidInput(f"config widths must be positive integers, got {list(c.widths)}")
    if not isinstance(c.quantizer, Quantizer):
        if c.quantizer is None:
            raise InvalidInput("config quantizer must name a rule (the float twin is 'twin: true')")
        as_quantizer(c.quantizer)  # an unknown rule is named as such
        raise WrongType("config quantizer must be a Quantizer (TrainConfig.from_dict takes names)")
    for name in _POSITIVE:
        _check_int(c, name, 1)
    _check_int(c, "warmup_steps", 0)
    _check_int(c, "count_every", 0)
    _check_int(c, "seed", 0, SEED_BITS)
    if c.schedule_steps is not None:
        _check_int(c, "schedule_steps", 1)
    _check_number(c, "learning_rate", strict=True)
    for name in ("weight_decay", "noise", "neighbourhood_radius"):
        _check_number(c, name)
    for name in _BOOLS:
        if not isinstance(getattr(c, name), bool):
            raise WrongType(f"config {name} must be true or false, got {getattr(c, name)!r}")
    if c.batch_size > c.n_train and c.task != "diabetes":
        raise InvalidInput(f"config batch_size {c.batch_size} exceeds n_train {c.n_train}")


DEFAULTS = TrainConfig()


def config_from_dict(d: Mapping[str, Any]) -> TrainConfig:
    """A :class:`TrainConfig` from a dict (see :meth:`TrainConfig.from_dict`)."""
    return TrainConfig.from_dict(d)


def load_config(path: str | os.PathLike, overrides: Mapping[str, Any] | None = None) -> TrainConfig:
    """Read a YAML (or JSON) config file: the defaults, the file's fields, then
    ``overrides`` (e.g. from ``--set``). An empty file is refused (write ``{}`` to take
    every default)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise MissingFile(f"no config file at {path!r}")
    try:
        with open(path, encoding="utf-8") as fh:
            d = yaml.safe_load(fh)
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise InvalidInput(f"{path!r} is not valid YAML ({e})") from e
    if d is None:
        raise InvalidInput(f"config file {path!r} is empty; write '{{}}' to take every default")
    if not isinstance(d, dict):
        raise InvalidInput(f"{path}: a config must be a mapping of fields, got {type(d).__name__}")
    try:
        return TrainConfig.from_dict({**d, **(overrides or {})})
    except InvalidInput as e:
        raise InvalidInput(f"{path}: {e}") from e


def parse_overrides(items: Iterable[str]) -> dict[str, Any]:
    """``FIELD=VALUE`` strings (``--set``) as a dict; each value is read as YAML."""
    out = {}
    for item in items:
        if "=" not in item:
            raise InvalidInput(f"--set expects FIELD=VALUE, got {item!r}")
        key, value = item.split("=", 1)
        try:
            out[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError as e:
            raise InvalidInput(f"--set {key}: cannot parse {value!r} ({e})") from e
    return out


# -- the size check -------------------------------------------------------------------------
# float32 words per parameter while training: the parameter, its gradient, AdamW's two
# moments, and the quantised copy the forward pass builds (ternary model only).
_WORDS_PER_PARAM = {"ternary": 5, "float": 4}


def parameter_count(cfg: TrainConfig) -> int:
    """Parameters of one model of the run (weights and biases, output layer included)."""
    dims = (task_input_dim(cfg.task), *cfg.widths, 1)
    return sum((a + 1) * b for a, b in itertools.pairwise(dims))


def estimated_bytes(cfg: TrainConfig) -> int:
    """Host/device memory the run needs at least: parameters, gradients and optimiser state
    of each model, one batch of activations, and the data (float64 while generated)."""
    kinds = MODELS if cfg.twin else MODELS[:1]
    params = parameter_count(cfg)
    state = sum(_WORDS_PER_PARAM[k] for k in kinds) * 4 * params
    activations = 3 * 4 * cfg.batch_size * (sum(cfg.widths) + 1) * len(kinds)
    data = 8 * (cfg.n_train + cfg.n_test) * (task_input_dim(cfg.task) + 1)
    return state + activations + data


def machine_memory() -> int | None:
    """Physical memory of this machine in bytes, where the platform says."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows) or no such name
        return None


def _bytes_text(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    raise AssertionError("unreachable")


def check_size(cfg: TrainConfig, limit: int | None = None) -> int:
    """Refuse (:class:`~tern_jax.errors.TooLarge`) a config that needs more memory than
    ``limit`` (default: this machine's physical memory); returns the estimate in bytes."""
    need = estimated_bytes(cfg)
    limit = machine_memory() if limit is None else limit
    if limit is not None and need > limit:
        raise TooLarge(
            f"config {cfg.name!r} (widths {list(cfg.widths)}, n_train {cfg.n_train}) has "
            f"{parameter_count(cfg):.3g} parameters per model: training needs about "
            f"{_bytes_text(need)} (float32 parameters, gradients and AdamW moments"
            f"{' of the ternary model and its float twin' if cfg.twin else ''}, plus data), "
            f"more than the {_bytes_text(limit)} of memory here; use smaller widths"
        )
    return need
