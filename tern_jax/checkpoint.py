"""Orbax checkpoints of NNX models, and ternary code exports.

**Model checkpoint** (:func:`save_model` / :func:`load_model`): an orbax checkpoint directory
with two items, ``model`` (the NNX state, ``StandardSave``) and ``metadata`` (JSON: format tag,
model config - class, architecture, widths, quantiser convention -, package version, a SHA-256
of the parameters, the folded network's fingerprint, and caller fields such as the step).
Training runs write the same layout once per step under an orbax ``CheckpointManager``
directory (``<dir>/<step>/``, plus an ``opt`` item with the optimiser state).

Restoring rebuilds the model from the metadata, restores the state into it and checks the
parameters' SHA-256: a truncated, corrupted or edited checkpoint raises
:class:`~tern_jax.errors.DamagedFile` (a ``ValueError``); it never yields a silently
different model. Paths may be relative: they are made absolute here, once, because orbax
needs absolute paths.

**Code exports** (integer codes and scales, no float shadow weights) live in
:mod:`tern_jax.codes`; ``export_codes``, ``load_codes`` and ``CodeExport`` are re-exported here.
"""

from __future__ import annotations

import os
from typing import Any

import jax
import orbax.checkpoint as ocp
from flax import nnx

# Code exports have their own module; these names stay reachable here, where they always were.
from .codes import CODES_FORMAT, CodeExport, export_codes, load_codes  # noqa: F401
from .errors import DamagedFile, InvalidInput, MissingFile, TernJaxError
from .fileio import arrays_sha256
from .models import model_from_config
from .network import ReLUNet
from .records import package_version, to_jsonable

CHECKPOINT_FORMAT = "tern_jax.checkpoint"
FORMAT_VERSION = 1
# What orbax and tensorstore raise on a damaged item (measured by truncating, flipping and
# deleting each file of a checkpoint): ValueError (tensorstore's DATA_LOSS / OUT_OF_RANGE /
# NOT_FOUND statuses, bad JSON, bad UTF-8, tree or shape mismatch) and OSError (a missing
# file). Anything else is a bug and keeps its traceback.
ORBAX_READ_ERRORS = (ValueError, OSError)


def _first_line(e: BaseException) -> str:
    return str(e).splitlines()[0][:300] if str(e) else type(e).__name__


# -- hashing ------------------------------------------------------------------------------
def state_sha256(state: Any) -> str:
    """SHA-256 over every array of an NNX state: :func:`~tern_jax.fileio.arrays_sha256` of
    the leaves named by their tree paths."""
    pure = nnx.to_pure_dict(state) if isinstance(state, nnx.State) else state
    leaves = jax.tree_util.tree_flatten_with_path(pure)[0]
    return arrays_sha256({jax.tree_util.keystr(path): leaf for path, leaf in leaves})


def model_metadata(model: Any, **extra: Any) -> dict[str, Any]:
    """The JSON record stored beside a model's state."""
    meta = {
        "format": CHECKPOINT_FORMAT,
        "format_version": FORMAT_VERSION,
        "model": model.config(),
        "package_version": package_version(),
        "param_sha256": state_sha256(nnx.state(model)),
        "network_fingerprint": model.to_network().fingerprint,
    }
    meta.update(to_jsonable(extra))
    return meta


# -- locating checkpoints -------------------------------------------------------------------
def _is_step_dir(path: str) -> bool:
    return os.path.isdir(os.path.join(path, "metadata")) and os.path.isdir(
        os.path.join(path, "model")
    )


def list_steps(path: str | os.PathLike, complete_only: bool = True) -> list[int]:
    """Steps of an orbax CheckpointManager directory, ascending: those whose directory holds
    its ``model`` and ``metadata`` items, or (``complete_only=False``) every directory named
    by a step number, complete or not."""
    path = os.fspath(path)
    out = []
    for name in os.listdir(path):
        full = os.path.join(path, name)
        if name.isdigit() and os.path.isdir(full) and (not complete_only or _is_step_dir(full)):
            out.append(int(name))
    return sorted(out)


def resolve_checkpoint(path: str | os.PathLike, step: int | None = None) -> str:
    """The absolute checkpoint directory ``path`` names: itself, the latest (or given) step
    of a manager directory, or that of ``path/checkpoints``. Raises
    :class:`~tern_jax.errors.InvalidInput` when ``path`` holds no (or no single) series."""
    path = os.path.abspath(os.fspath(path))
    if not os.path.isdir(path):
        raise MissingFile(f"no checkpoint directory at {path!r}")
    if _is_step_dir(path):
        if step is not None:
            raise InvalidInput(f"{path!r} is a single checkpoint; a step cannot be chosen")
        return path
    steps = list_steps(path)
    if steps:
        if step is None:
            return os.path.join(path, str(steps[-1]))
        if step not in steps:
            raise InvalidInput(f"{path!r} has no checkpoint for step {step}; steps: {steps}")
        return os.path.join(path, str(step))
    sub = os.path.join(path, "checkpoints")
    if os.path.isdir(sub):
        return resolve_checkpoint(sub, step)
    managers = sorted(
        n
        for n in os.listdir(path)
        if os.path.isdir(os.path.join(path, n)) and list_steps(os.path.join(path, n))
    )
    if managers:
        raise InvalidInput(
            f"{path!r} holds several checkpoint series {managers}; name one, e.g. "
            f"{os.path.join(path, managers[0])!r}"
        )
    raise InvalidInput(f"{path!r} is not a tern_jax checkpoint (no metadata/ and model/ items)")


# -- save / restore -------------------------------------------------------------------------
def _checkpointer() -> ocp.Checkpointer:
    return ocp.Checkpointer(ocp.CompositeCheckpointHandler())


def save_model(model: Any, path: str | os.PathLike, metadata: dict[str, Any] | None = None) -> str:
    """Save ``model`` (state + JSON metadata) as an orbax checkpoint at ``path`` (which
    must not exist yet); returns the absolute path."""
    path = os.path.abspath(os.fspath(path))
    if os.path.exists(path):
        raise InvalidInput(f"{path!r} already exists; a checkpoint is never overwritten")
    meta = model_metadata(model, **(metadata or {}))
    with _checkpointer() as ckptr:
        ckptr.save(
            path,
            args=ocp.args.Composite(
                model=ocp.args.StandardSave(nnx.state(model)),
                metadata=ocp.args.JsonSave(meta),
            ),
        )
    return path


def read_metadata(path: str | os.PathLike, step: int | None = None) -> dict[str, Any]:
    """The JSON metadata of a checkpoint (validated format tag)."""
    ckpt = resolve_checkpoint(path, step)
    meta = restore_items(ckpt, {}, json_items=("metadata",))["metadata"]
    check_metadata(meta, ckpt)
    meta["checkpoint_path"] = ckpt
    return meta


def check_metadata(meta: Any, ckpt: str) -> None:
    """Raise :class:`DamagedFile` unless ``meta`` is a checkpoint record this version reads."""
    if not isinstance(meta, dict) or meta.get("format") != CHECKPOINT_FORMAT:
        raise DamagedFile(f"checkpoint {ckpt!r}: metadata is not a {CHECKPOINT_FORMAT} record")
    version = meta.get("format_version", 0)
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise DamagedFile(
            f"checkpoint {ckpt!r}: format version {version!r} is not one this tern_jax "
            f"understands (up to {FORMAT_VERSION})"
        )
    for key in ("model", "param_sha256"):
        if key not in meta:
            raise DamagedFile(f"checkpoint {ckpt!r}: metadata lacks {key!r}")


def abstract_model(config: dict[str, Any]) -> Any:
    """A model with the structure of ``config`` and no allocated parameters."""
    return nnx.eval_shape(lambda: model_from_config(config, nnx.Rngs(0)))


def restore_items(
    ckpt: str, states: dict[str, Any], json_items: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Restore items of a checkpoint directory: ``StandardSave`` states into the given
    abstract states, and JSON items. Any failure raises :class:`DamagedFile`."""
    for name in (*states, *json_items):
        if not os.path.isdir(os.path.join(ckpt, name)):
            raise DamagedFile(f"checkpoint {ckpt!r} lacks its {name!r} item (truncated?)")
    args = {name: ocp.args.StandardRestore(s) for name, s in states.items()}
    args.update({name: ocp.args.JsonRestore() for name in json_items})
    try:
        with _checkpointer() as ckptr:
            restored = ckptr.restore(ckpt, args=ocp.args.Composite(**args))
    except ORBAX_READ_ERRORS as e:
        raise DamagedFile(f"checkpoint {ckpt!r} is damaged or incomplete ({_first_line(e)})") from e
    return {name: restored[name] for name in args}


def restore_item(ckpt: str, name: str, abstract_state: Any) -> Any:
    """Restore one ``StandardSave`` item of a checkpoint (see :func:`restore_items`)."""
    return restore_items(ckpt, {name: abstract_state})[name]


def load_model(path: str | os.PathLike, step: int | None = None) -> tuple[Any, dict[str, Any]]:
    """Restore a model saved by :func:`save_model` or a training run; returns
    ``(model, metadata)``. Verifies the parameters' SHA-256 against the metadata.

    When ``path`` names a series (or a run directory) and its latest step is damaged, the
    error names the newest intact step and how to load it; nothing older is loaded silently
    (counting an older model than asked for would be a wrong answer, not a fallback)."""
    try:
        return _load_model(path, step)
    except DamagedFile as e:
        latest = resolve_checkpoint(path, step)
        if step is not None or latest == os.path.abspath(os.fspath(path)):
            raise
        series = os.path.dirname(latest)
        for older in reversed(list_steps(series)[:-1]):
            try:
                _load_model(series, older)
            except DamagedFile:
                continue
            raise DamagedFile(
                f"{e}; the newest intact step is {older}: load it with step={older} or "
                f"give its directory {os.path.join(series, str(older))!r}"
            ) from e
        raise DamagedFile(f"{e}; no older step of {series!r} is intact either") from e


def _load_model(path: str | os.PathLike, step: int | None) -> tuple[Any, dict[str, Any]]:
    meta = read_metadata(path, step)
    ckpt = meta["checkpoint_path"]
    try:
        abstract = abstract_model(meta["model"])
    except (TernJaxError, TypeError, ValueError, KeyError) as e:
        raise DamagedFile(f"checkpoint {ckpt!r}: bad model config in metadata ({e})") from e
    graphdef, abstract_state = nnx.split(abstract)
    state = restore_item(ckpt, "model", abstract_state)
    model = nnx.merge(graphdef, state)
    check_sha256(model, meta, ckpt)
    return model, meta


def check_sha256(model: Any, meta: dict[str, Any], ckpt: str) -> None:
    """Raise :class:`DamagedFile` when the model's parameters are not those recorded."""
    if state_sha256(nnx.state(model)) != meta["param_sha256"]:
        raise DamagedFile(
            f"checkpoint {ckpt!r}: restored parameters do not match the recorded SHA-256; "
            "the checkpoint is damaged or was edited"
        )


def network_from_checkpoint(path: str | os.PathLike, step: int | None = None) -> ReLUNet:
    """The :class:`~tern_jax.network.ReLUNet` of a checkpointed model (folded, see
    :meth:`tern_jax.models.LayerStack.to_network`)."""
    model, _ = load_model(path, step)
    return model.to_network()


# Code exports have their own module; these names stay reachable here, where they always were.
