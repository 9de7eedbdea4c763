"""Quantisation-aware training with region tracking, resumable from orbax checkpoints.

A run is described by a :class:`TrainConfig` (a YAML file in ``experiments/configs/``) and
writes a run directory::

    RUN_DIR/config.yaml              the resolved config (a rerun must use the same one)
    RUN_DIR/checkpoints/ternary/<step>/{model,opt,metadata}   orbax CheckpointManager
    RUN_DIR/checkpoints/float/<step>/...                      the float twin's series
    RUN_DIR/network.npz              final ternary model as a folded ReLUNet
    RUN_DIR/network_float.npz        final float twin as a ReLUNet
    RUN_DIR/codes.npz                final ternary model as int8 codes + scales
    RUN_DIR/regions.json, regions.csv, regions.png   region counts against training step
    RUN_DIR/history.csv              training/test loss against step
    RUN_DIR/summary.json             final losses, constant-predictor baseline, file list

Determinism: parameters are initialised from ``seed``; the mini-batch at step ``s`` is a
slice of the permutation drawn from ``fold_in(key(seed), epoch)``, so the data order depends
only on ``(seed, step)``. A killed run restarted with the same command restores model and
optimiser state from the last checkpoint and ends with exactly the parameters of an
uninterrupted run. Region counts are deterministic functions of (parameters, seed), so the
series logged before the kill are kept up to the restored step and the rest is recomputed.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .errors import InvalidInput, MissingFile
from .tasks import TASKS, Task, make_task

MODELS = ("ternary", "float")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """One training run (every field can be set in the YAML config file)."""

    name: str = "run"
    task: str = "sines2d"
    n_train: int = 2048
    n_test: int = 1024
    noise: float = 0.0
    architecture: str = "alternating"  # or "all_relu"
    widths: tuple[int, ...] = (16, 16, 16, 16)
    quantizer: Any = "absmean"  # rule name or {rule, threshold, per_channel}
    quantize_bias: bool = True
    quantize_output: bool = True
    twin: bool = True  # also train the full-precision twin
    steps: int = 2000
    batch_size: int = 128
    learning_rate: float = 3e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 100
    schedule: str = "cosine"  # or "constant" (after the warm-up)
    seed: int = 0
    checkpoint_every: int = 500
    keep_last: int = 2
    log_every: int = 50
    count_every: int = 500  # 0: no region tracking; counts at step 0, every k and the end
    count_samples: int = 20000
    neighbourhood_radius: float = 0.05
    exact_line: bool = True
    exact_plane: bool = True

    def __post_init__(self):
        _validate(self)

    def to_json(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["widths"] = list(self.widths)
        return d

    def model_config(self, kind: str, input_dim: int) -> dict[str, Any]:
        from .quantize import as_quantizer

        base = {
            "input_dim": input_dim,
            "widths": list(self.widths),
            "architecture": self.architecture,
            "output_dim": 1,
        }
        if kind == "float":
            return {"class": "MLP", **base}
        q = as_quantizer(self.quantizer)
        return {
            "class": "AlternatingMLP",
            **base,
            "quantizer": q.to_json(),
            "quantize_bias": self.quantize_bias,
            "quantize_output": self.quantize_output,
        }


def _validate(c: TrainConfig) -> None:
    from .models import ARCHITECTURES
    from .quantize import as_quantizer

    def pos_int(name, minimum=1):
        v = getattr(c, name)
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < minimum:
            raise InvalidInput(f"config {name} must be an integer >= {minimum}, got {v!r}")

    def number(name, minimum=0.0, strict=False):
        v = getattr(c, name)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise InvalidInput(f"config {name} must be a finite number, got {v!r}")
        if v < minimum or (strict and v == minimum):
            raise InvalidInput(
                f"config {name} must be {'>' if strict else '>='} {minimum}, got {v!r}"
            )

    if c.task not in TASKS:
        raise InvalidInput(f"config task {c.task!r} is unknown; expected one of {TASKS}")
    if c.architecture not in ARCHITECTURES:
        raise InvalidInput(
            f"config architecture {c.architecture!r}; expected one of {ARCHITECTURES}"
        )
    if isinstance(c.widths, (str, int)) or not c.widths:
        raise InvalidInput(f"config widths must be a non-empty list of ints, got {c.widths!r}")
    object.__setattr__(c, "widths", tuple(c.widths))
    for w in c.widths:
        if isinstance(w, bool) or not isinstance(w, (int, np.integer)) or w < 1:
            raise InvalidInput(f"config widths must be positive integers, got {list(c.widths)}")
    if as_quantizer(c.quantizer) is None:
        raise InvalidInput("config quantizer must name a rule (the float twin is 'twin: true')")
    for name in (
        "n_train",
        "n_test",
        "steps",
        "batch_size",
        "checkpoint_every",
        "keep_last",
        "log_every",
        "count_samples",
    ):
        pos_int(name)
    pos_int("warmup_steps", 0)
    pos_int("count_every", 0)
    pos_int("seed", 0)
    number("learning_rate", 0.0, strict=True)
    number("weight_decay")
    number("noise")
    number("neighbourhood_radius")
    if c.schedule not in ("cosine", "constant"):
        raise InvalidInput(f"config schedule must be 'cosine' or 'constant', got {c.schedule!r}")
    if c.batch_size > c.n_train and c.task != "diabetes":
        raise InvalidInput(f"config batch_size {c.batch_size} exceeds n_train {c.n_train}")
    for name in ("quantize_bias", "quantize_output", "twin", "exact_line", "exact_plane"):
        if not isinstance(getattr(c, name), bool):
            raise InvalidInput(f"config {name} must be true or false, got {getattr(c, name)!r}")


def config_from_dict(d: dict[str, Any]) -> TrainConfig:
    """A :class:`TrainConfig` from a dict, rejecting unknown keys by name."""
    if not isinstance(d, dict):
        raise InvalidInput(f"a config must be a mapping of fields, got {type(d).__name__}")
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(d) - fields)
    if unknown:
        raise InvalidInput(f"unknown config fields {unknown}; known: {sorted(fields)}")
    return TrainConfig(**d)


def load_config(path: str | os.PathLike) -> TrainConfig:
    """Read a YAML (or JSON) config file."""
    import yaml

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise MissingFile(f"no config file at {path!r}")
    try:
        with open(path) as fh:
            d = yaml.safe_load(fh)
    except yaml.YAMLError as e:
        raise InvalidInput(f"{path!r} is not valid YAML ({e})") from None
    try:
        return config_from_dict(d or {})
    except (ValueError, TypeError) as e:
        raise InvalidInput(f"{path}: {e}") from None


# -- optimisation ---------------------------------------------------------------------------
def make_optimizer(cfg: TrainConfig):
    """AdamW with a linear warm-up and then a cosine decay (or constant rate)."""
    import optax

    warm = min(cfg.warmup_steps, cfg.steps - 1) if cfg.steps > 1 else 0
    if cfg.schedule == "cosine":
        sched = optax.warmup_cosine_decay_schedule(
            0.0 if warm else cfg.learning_rate,
            cfg.learning_rate,
            max(warm, 0),
            cfg.steps,
            end_value=0.01 * cfg.learning_rate,
        )
    else:
        sched = (
            optax.join_schedules(
                [
                    optax.linear_schedule(0.0, cfg.learning_rate, max(warm, 1)),
                    optax.constant_schedule(cfg.learning_rate),
                ],
                [warm],
            )
            if warm
            else optax.constant_schedule(cfg.learning_rate)
        )
    return optax.adamw(sched, weight_decay=cfg.weight_decay)


def _make_step(n_train: int, batch_size: int, seed: int):
    """The jitted training step; the batch at step s depends only on (seed, s)."""
    import jax
    import jax.numpy as jnp
    from flax import nnx

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


_MSE: list = []


def _mse(model, x, y) -> float:
    """Mean squared error of a model on (x, y), with one compiled function per process."""
    if not _MSE:
        import jax.numpy as jnp
        from flax import nnx

        @nnx.jit
        def f(m, x, y):
            return jnp.mean((m(x) - y) ** 2)

        _MSE.append(f)
    return float(_MSE[0](model, x, y))


# -- region tracking ------------------------------------------------------------------------
def _line_through_box(a: np.ndarray, b: np.ndarray, lo: np.ndarray, hi: np.ndarray):
    """Endpoints where the line through a and b crosses the box [lo, hi]."""
    d = b - a
    t0, t1 = -np.inf, np.inf
    for i in range(len(a)):
        if d[i] != 0:
            ta, tb = sorted(((lo[i] - a[i]) / d[i], (hi[i] - a[i]) / d[i]))
            t0, t1 = max(t0, ta), min(t1, tb)
    return a + t0 * d, a + t1 * d


def region_probes(task: Task, seed: int) -> dict[str, Any]:
    """The fixed line and plane (through data points) on which exact counts are taken."""
    rng = np.random.default_rng([seed, 0x11E])
    x = np.asarray(task.x_train, np.float64)
    d = task.input_dim
    if d == 1:
        return {"line": (task.lo.copy(), task.hi.copy()), "plane": None}
    i, j, k = rng.choice(len(x), 3, replace=False)
    line = _line_through_box(x[i], x[j], task.lo, task.hi)
    if d == 2:
        plane = (
            np.zeros(2),
            np.array([1.0, 0.0]),
            np.array([0.0, 1.0]),
            (task.lo[0], task.hi[0], task.lo[1], task.hi[1]),
        )
    else:
        plane = (x[i], x[j] - x[i], x[k] - x[i], (-0.25, 1.25, -0.25, 1.25))
    return {"line": line, "plane": plane}


def count_network_regions(net, task: Task, cfg: TrainConfig, probes: dict) -> dict[str, Any]:
    """Region counts of ``net`` for the series (see :data:`SERIES_FIELDS`)."""
    import tern_jax as tj

    out: dict[str, Any] = {}
    box = tj.count_regions(net, tj.Box(task.lo, task.hi), cfg.count_samples, seed=cfg.seed)
    out["sampled_box"] = _sampled(box)
    pts = tj.count_regions(
        net,
        tj.Points(task.x_train, radius=cfg.neighbourhood_radius),
        cfg.count_samples,
        seed=cfg.seed,
    )
    out["sampled_data"] = _sampled(pts)
    if cfg.exact_line:
        a, b = probes["line"]
        r = tj.exact_regions_1d(
            net, a if len(a) > 1 else float(a[0]), b if len(b) > 1 else float(b[0])
        )
        out["exact_line"] = _exact(r)
    if cfg.exact_plane and probes["plane"] is not None:
        o, u, v, bounds = probes["plane"]
        r = tj.exact_regions_2d(
            net, o, u, v, bounds=tuple(float(t) for t in bounds), keep_cells=False
        )
        out["exact_plane"] = _exact(r)
    return out


def _sampled(rc) -> dict[str, Any]:
    return {
        "kind": "activation regions",
        "how": "sampled (distinct patterns) / estimated (chao1)",
        "domain": rc.domain if hasattr(rc, "domain") else None,
        "n_samples": int(rc.n_samples),
        "distinct": int(rc.distinct),
        "chao1": None if rc.saturated else float(rc.chao1),
        "coverage": float(rc.coverage),
        "saturated": bool(rc.saturated),
    }


def _exact(r) -> dict[str, Any]:
    return {
        "kind": "activation and linear regions",
        "how": f"exact ({r.mode})",
        "domain": r.domain,
        "activation_regions": int(r.activation_regions),
        "linear_regions": int(r.linear_regions),
    }


SERIES_FIELDS = (
    ("sampled_box", "distinct"),
    ("sampled_box", "chao1"),
    ("sampled_data", "distinct"),
    ("exact_line", "activation_regions"),
    ("exact_line", "linear_regions"),
    ("exact_plane", "activation_regions"),
    ("exact_plane", "linear_regions"),
)


# -- logs that survive a kill ---------------------------------------------------------------
def _read_log(path: str, max_step: int) -> list[dict]:
    """Records of a JSON-lines log with step <= max_step (a torn last line is dropped)."""
    out: dict[int, dict] = {}
    if os.path.isfile(path):
        with open(path) as fh:
            for line in fh:
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if rec.get("step", math.inf) <= max_step:
                    out[rec["step"]] = rec
    return [out[s] for s in sorted(out)]


def _write_log(path: str, records: list[dict]) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:
        for r in records:
            fh.write(json.dumps(r, sort_keys=True) + "\n")
    os.replace(tmp, path)


def _append_log(path: str, record: dict) -> None:
    from .records import to_jsonable

    with open(path, "a") as fh:
        fh.write(json.dumps(to_jsonable(record), sort_keys=True) + "\n")
        fh.flush()


# -- one model ------------------------------------------------------------------------------
def _manager(directory: str, cfg: TrainConfig):
    import orbax.checkpoint as ocp
    from orbax.checkpoint import checkpoint_managers as cm

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
    return ocp.CheckpointManager(
        os.path.abspath(directory), item_names=("model", "opt", "metadata"), options=options
    )


def _count_steps(cfg: TrainConfig) -> list[int]:
    if cfg.count_every == 0:
        return []
    return sorted({*range(0, cfg.steps, cfg.count_every), cfg.steps})


def train_model(
    kind: str,
    cfg: TrainConfig,
    task: Task,
    run_dir: str,
    *,
    progress: bool = True,
    echo: Callable[[str], None] = print,
) -> Any:
    """Train (or resume) one model of the run; returns the final model."""
    import jax.numpy as jnp
    import orbax.checkpoint as ocp
    from flax import nnx
    from tqdm.auto import tqdm

    from .checkpoint import model_metadata, state_sha256
    from .models import model_from_config

    if kind not in MODELS:
        raise InvalidInput(f"model kind must be one of {MODELS}, got {kind!r}")
    model = model_from_config(cfg.model_config(kind, task.input_dim), nnx.Rngs(params=cfg.seed))
    optimizer = nnx.Optimizer(model, make_optimizer(cfg), wrt=nnx.Param)
    mngr = _manager(os.path.join(run_dir, "checkpoints", kind), cfg)
    hist_path = os.path.join(run_dir, f"history_{kind}.jsonl")
    reg_path = os.path.join(run_dir, f"regions_{kind}.jsonl")

    start = 0
    latest = mngr.latest_step()
    if latest is not None:
        _, model_state = nnx.split(model)
        _, opt_state = nnx.split(optimizer)
        try:
            restored = mngr.restore(
                latest,
                args=ocp.args.Composite(
                    model=ocp.args.StandardRestore(model_state),
                    opt=ocp.args.StandardRestore(opt_state),
                    metadata=ocp.args.JsonRestore(),
                ),
            )
        except Exception as e:
            raise InvalidInput(
                f"cannot resume from {kind} checkpoint step {latest} in "
                f"{run_dir!r}: damaged ({str(e).splitlines()[0][:200]})"
            ) from None
        nnx.update(optimizer, restored["opt"])
        nnx.update(model, restored["model"])
        if state_sha256(nnx.state(model)) != restored["metadata"]["param_sha256"]:
            raise InvalidInput(
                f"{kind} checkpoint step {latest} in {run_dir!r} does not match "
                "its recorded SHA-256; the checkpoint is damaged"
            )
        start = latest
        echo(f"[{kind}] resuming from checkpoint step {start}")
    _write_log(hist_path, _read_log(hist_path, start))
    _write_log(reg_path, _read_log(reg_path, start))
    done_counts = {r["step"] for r in _read_log(reg_path, start)}

    x_tr, y_tr = jnp.asarray(task.x_train), jnp.asarray(task.y_train)
    x_te, y_te = jnp.asarray(task.x_test), jnp.asarray(task.y_test)
    step_fn = _make_step(len(task.x_train), min(cfg.batch_size, len(task.x_train)), cfg.seed)
    count_steps = set(_count_steps(cfg))
    probes = region_probes(task, cfg.seed)

    def maybe_count(step: int, train_loss: float | None):
        if step in count_steps and step not in done_counts:
            net = model.to_network()
            t0 = time.perf_counter()
            rec = {
                "model": kind,
                "step": step,
                "fingerprint": net.fingerprint,
                "train_loss": train_loss,
                "test_loss": _mse(model, x_te, y_te),
                **count_network_regions(net, task, cfg, probes),
            }
            rec["seconds"] = time.perf_counter() - t0
            _append_log(reg_path, rec)
            done_counts.add(step)

    maybe_count(start, None)
    bar = tqdm(
        total=cfg.steps, initial=start, desc=f"{kind:7s}", disable=not progress, dynamic_ncols=True
    )
    losses = []
    for step in range(start, cfg.steps):
        loss = step_fn(model, optimizer, x_tr, y_tr, jnp.asarray(step, jnp.int32))
        losses.append(loss)
        s = step + 1
        record: dict[str, Any] = {}
        if s % cfg.log_every == 0 or s == cfg.steps:
            # mean over the steps since the last log (or since the resumed checkpoint)
            record["train_loss"] = float(jnp.mean(jnp.stack(losses)))
            losses = []
            bar.set_postfix(loss=f"{record['train_loss']:.4g}")
        bar.update(1)
        if s in count_steps:
            maybe_count(s, float(loss))
        is_ckpt = s % cfg.checkpoint_every == 0 or s == cfg.steps
        if is_ckpt:
            record["test_loss"] = test_loss = _mse(model, x_te, y_te)
        if record:
            _append_log(hist_path, {"step": s, **record})
        if is_ckpt:
            meta = model_metadata(model, step=s, test_loss=test_loss, run=cfg.name, kind=kind)
            mngr.save(
                s,
                args=ocp.args.Composite(
                    model=ocp.args.StandardSave(nnx.state(model)),
                    opt=ocp.args.StandardSave(nnx.state(optimizer)),
                    metadata=ocp.args.JsonSave(meta),
                ),
                metrics={"test_loss": test_loss},
            )
    bar.close()
    mngr.wait_until_finished()
    mngr.close()
    return model


# -- a whole run ----------------------------------------------------------------------------
def run(
    cfg: TrainConfig,
    run_dir: str | os.PathLike,
    *,
    progress: bool = True,
    echo: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Train the ternary model (and its float twin), export, and write the region series.

    Returns the summary dict also written to ``RUN_DIR/summary.json``.
    """
    import yaml

    from .checkpoint import export_codes
    from .netfile import save_network
    from .records import package_version, to_jsonable

    run_dir = os.fspath(run_dir)
    os.makedirs(run_dir, exist_ok=True)
    cfg_path = os.path.join(run_dir, "config.yaml")
    if os.path.isfile(cfg_path):
        with open(cfg_path) as fh:
            old = yaml.safe_load(fh)
        if old != cfg.to_json():
            diff = sorted(k for k in cfg.to_json() if old.get(k) != cfg.to_json()[k])
            raise InvalidInput(
                f"{run_dir!r} holds a run with a different config (fields "
                f"{diff}); use a new --out directory"
            )
    else:
        with open(cfg_path, "w") as fh:
            yaml.safe_dump(cfg.to_json(), fh, sort_keys=True)

    task = make_task(cfg.task, cfg.n_train, cfg.n_test, cfg.seed, cfg.noise)
    kinds = ["ternary", "float"] if cfg.twin else ["ternary"]
    t_start = time.perf_counter()
    summary: dict[str, Any] = {
        "run": cfg.name,
        "task": task.name,
        "task_description": task.description,
        "input_dim": task.input_dim,
        "package_version": package_version(),
        "constant_baseline_test_mse": task.constant_baseline(),
        "models": {},
    }
    for kind in kinds:
        t0 = time.perf_counter()
        model = train_model(kind, cfg, task, run_dir, progress=progress, echo=echo)
        net = model.to_network()
        name = "network.npz" if kind == "ternary" else "network_float.npz"
        meta = {"run": cfg.name, "kind": kind, "model": model.config(), "step": cfg.steps}
        save_network(net, os.path.join(run_dir, name), metadata=meta)
        entry = {
            "test_mse": _mse_np(net, task),
            "train_mse": _mse_np(net, task, train=True),
            "network": name,
            "fingerprint": net.fingerprint,
            "seconds_this_session": time.perf_counter() - t0,
        }
        if kind == "ternary":
            export_codes(model, os.path.join(run_dir, "codes.npz"), metadata=meta)
            entry["codes"] = "codes.npz"
        summary["models"][kind] = entry
        echo(
            f"[{kind}] test MSE {entry['test_mse']:.4g} (constant predictor "
            f"{summary['constant_baseline_test_mse']:.4g}); wrote {name}"
        )
    write_series(run_dir, kinds)
    summary["seconds_this_session"] = time.perf_counter() - t_start
    with open(os.path.join(run_dir, "summary.json"), "w") as fh:
        json.dump(to_jsonable(summary), fh, indent=1, sort_keys=True)
    return summary


def _mse_np(net, task: Task, train: bool = False) -> float:
    x, y = (task.x_train, task.y_train) if train else (task.x_test, task.y_test)
    return float(np.mean((np.asarray(net(x)) - y) ** 2))


def write_series(run_dir: str, kinds: Sequence[str]) -> list[dict]:
    """Merge the per-model logs into regions.json / regions.csv / history.csv (+ a plot)."""
    from .records import to_jsonable

    series, history = [], []
    for kind in kinds:
        series += _read_log(os.path.join(run_dir, f"regions_{kind}.jsonl"), math.inf)
        history += [
            {"model": kind, **r}
            for r in _read_log(os.path.join(run_dir, f"history_{kind}.jsonl"), math.inf)
        ]
    doc = {
        "description": (
            "Region counts of the model's ReLUNet against training step. sampled_box: "
            "distinct activation patterns among n_samples uniform points of the data box "
            "(sampled; chao1 is an estimate). sampled_data: the same over balls of "
            "neighbourhood_radius around the training points. exact_line / exact_plane: exact "
            "activation and linear regions on a line / plane through data points."
        ),
        "series": series,
    }
    with open(os.path.join(run_dir, "regions.json"), "w") as fh:
        json.dump(to_jsonable(doc), fh, indent=1, sort_keys=True)
    cols = ["model", "step", "train_loss", "test_loss"] + [f"{a}.{b}" for a, b in SERIES_FIELDS]
    with open(os.path.join(run_dir, "regions.csv"), "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(cols)
        for r in series:
            row = [r.get("model"), r.get("step"), r.get("train_loss"), r.get("test_loss")]
            row += [(r.get(a) or {}).get(b) for a, b in SERIES_FIELDS]
            w.writerow(["" if v is None else v for v in row])
    with open(os.path.join(run_dir, "history.csv"), "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["model", "step", "train_loss", "test_loss"])
        for r in history:
            w.writerow([r["model"], r["step"], r.get("train_loss", ""), r.get("test_loss", "")])
    if series:
        try:
            from .plots import plot_region_series
        except ImportError:
            plot_region_series = None
        if plot_region_series is not None:
            plot_region_series(series, os.path.join(run_dir, "regions.png"))
    return series
