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

**Code export** (:func:`export_codes` / :func:`load_codes`): a ``.npz`` holding only integer
codes and scales (no float shadow weights)::

    format "tern_jax.codes", format_version 1, num_layers, activations, model_config (JSON),
    quantizer (JSON: rule, threshold, per_channel), metadata (JSON)
    W{i}  int8 (n_in, n_out) codes in {-1, 0, 1}     scale{i}  float64 () or (n_out,)
    bc{i} int8 bias codes (biases coded at the layer scale)  or  b{i} float64 float biases
    Wf{i} float64, only for a full-precision output layer (``quantize_output=False``)
    sha256  hex digest of all the arrays above (checked on load)
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

import jax
import numpy as np
import orbax.checkpoint as ocp
from flax import nnx

from .errors import DamagedFile, InvalidInput, MissingFile, TernJaxError
from .fileio import arrays_sha256, atomic_savez, read_npz
from .models import CodeMLP, model_from_config
from .network import ReLUNet
from .records import package_version, to_jsonable
from .training.folding import network_from_layers

CHECKPOINT_FORMAT = "tern_jax.checkpoint"
CODES_FORMAT = "tern_jax.codes"
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
    ``(model, metadata)``. Verifies the parameters' SHA-256 against the metadata."""
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


# -- code export ---------------------------------------------------------------------------
@dataclass(frozen=True)
class CodeExport:
    """Integer codes and scales of a ternary model, as read by :func:`load_codes`."""

    activations: tuple[str, ...]
    layers: list[dict[str, np.ndarray]]
    model_config: dict[str, Any]
    quantizer: dict[str, Any] | None
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_network(self, preserve_output: bool = True) -> ReLUNet:
        """The folded ReLUNet (same as ``model.to_network()`` of the exported model)."""
        return network_from_layers(self.layers, self.activations, preserve_output)

    def to_model(self) -> CodeMLP:
        """A frozen :class:`~tern_jax.models.CodeMLP` computing the exported model."""
        if any("codes" not in d for d in self.layers):
            raise InvalidInput("the export has a full-precision layer; use to_network()")
        return CodeMLP.from_layers(
            self.layers, self.model_config.get("architecture", "alternating")
        )


def export_codes(
    model: Any, path: str | os.PathLike, metadata: dict[str, Any] | None = None
) -> str:
    """Write a ternary model's codes and scales (no float shadow weights) to ``path``
    (atomically: a reader sees the previous file or the complete new one)."""
    layers = model.layer_arrays()
    if any("codes" not in d for d in layers[:-1]):
        raise InvalidInput("export_codes needs a ternary model (every hidden layer quantised)")
    arrays: dict[str, np.ndarray] = {}
    for i, d in enumerate(layers):
        if "codes" in d:
            arrays[f"W{i}"] = np.asarray(d["codes"], np.int8)
            arrays[f"scale{i}"] = np.asarray(d["scale"], np.float64)
        else:
            arrays[f"Wf{i}"] = np.asarray(d["weight"], np.float64)
        if "bias_codes" in d:
            arrays[f"bc{i}"] = np.asarray(d["bias_codes"], np.int8)
        else:
            arrays[f"b{i}"] = np.asarray(d["bias"], np.float64)
    q = model.quantizer.to_json() if model.quantizer is not None else None
    meta = {"package_version": package_version(), **to_jsonable(metadata or {})}
    header = {
        "format": np.array(CODES_FORMAT),
        "format_version": np.array(FORMAT_VERSION),
        "num_layers": np.array(len(layers)),
        "activations": np.array(model.activations),
        "model_config": np.array(json.dumps(model.config(), sort_keys=True)),
        "quantizer": np.array(json.dumps(q, sort_keys=True)),
        "metadata": np.array(json.dumps(meta, sort_keys=True)),
    }
    sha = arrays_sha256({**arrays, **{k: np.asarray(str(v)) for k, v in header.items()}})
    atomic_savez(path, **arrays, **header, sha256=np.array(sha))
    return os.fspath(path)


def load_codes(path: str | os.PathLike) -> CodeExport:
    """Read a code export; damaged, edited or non-ternary files raise
    :class:`~tern_jax.errors.DamagedFile` (a ``ValueError``)."""
    path = os.fspath(path)
    contents = read_npz(path, "tern_jax code export")
    for k in _HEADER_KEYS:
        if k not in contents:
            raise DamagedFile(f"{path!r}: missing entry {k!r}; not a tern_jax code export")
    try:
        return _parse_codes(path, contents)
    except DamagedFile:
        raise
    except (TypeError, ValueError, KeyError) as e:  # odd dtypes or JSON in a damaged file
        raise DamagedFile(f"{path!r} is not a readable tern_jax code export ({e})") from e


_HEADER_KEYS = (
    "format",
    "format_version",
    "num_layers",
    "activations",
    "model_config",
    "quantizer",
    "metadata",
    "sha256",
)


def _parse_codes(path: str, contents: dict[str, np.ndarray]) -> CodeExport:
    if str(contents["format"]) != CODES_FORMAT:
        raise DamagedFile(f"{path!r}: format is {str(contents['format'])!r}, not {CODES_FORMAT!r}")
    if int(contents["format_version"]) > FORMAT_VERSION:
        raise DamagedFile(
            f"{path!r}: format version {int(contents['format_version'])} is newer "
            f"than this tern_jax understands ({FORMAT_VERSION})"
        )
    stored = str(contents.pop("sha256"))
    n = int(contents["num_layers"])
    layers = [_code_layer(path, contents, i, n) for i in range(n)]
    check = {k: (np.asarray(str(v)) if k in _HEADER_KEYS else v) for k, v in contents.items()}
    if arrays_sha256(check) != stored:
        raise DamagedFile(f"{path!r}: contents do not match the stored SHA-256 (damaged or edited)")
    return CodeExport(
        activations=tuple(str(a) for a in contents["activations"]),
        layers=layers,
        model_config=json.loads(str(contents["model_config"])),
        quantizer=json.loads(str(contents["quantizer"])),
        metadata=json.loads(str(contents["metadata"])),
    )


def _code_layer(path: str, contents: dict[str, np.ndarray], i: int, n: int) -> dict:
    """Layer ``i`` of ``n`` of a code export, its codes checked to be int8 in {-1, 0, 1}."""
    d: dict[str, np.ndarray] = {}
    if f"W{i}" in contents:
        c = contents[f"W{i}"]
        if c.dtype != np.int8 or not np.all(np.isin(c, (-1, 0, 1))):
            raise DamagedFile(f"{path!r}: W{i} must be int8 codes in {{-1, 0, 1}}")
        if f"scale{i}" not in contents:
            raise DamagedFile(f"{path!r}: missing scale{i} for the codes W{i}")
        d["codes"], d["scale"] = c, contents[f"scale{i}"]
    elif f"Wf{i}" in contents and i == n - 1:
        d["weight"] = contents[f"Wf{i}"]
    else:
        raise DamagedFile(f"{path!r}: missing codes W{i} (layer {i})")
    if f"bc{i}" in contents:
        bc = contents[f"bc{i}"]
        if bc.dtype != np.int8 or not np.all(np.isin(bc, (-1, 0, 1))):
            raise DamagedFile(f"{path!r}: bc{i} must be int8 codes in {{-1, 0, 1}}")
        d["bias_codes"] = bc
    elif f"b{i}" in contents:
        d["bias"] = contents[f"b{i}"]
    else:
        raise DamagedFile(f"{path!r}: missing bias of layer {i}")
    return d
