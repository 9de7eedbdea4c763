"""Ternary code exports: a model as integer codes and scales, no float shadow weights.

A code export (:func:`export_codes` / :func:`load_codes`) is a ``.npz`` holding only integer
codes and scales (no float shadow weights)::

    format "tern_jax.codes", format_version 1, num_layers, activations, model_config (JSON),
    quantizer (JSON: rule, threshold, per_channel), metadata (JSON)
    W{i}  int8 (n_in, n_out) codes in {-1, 0, 1}     scale{i}  float64 () or (n_out,)
    bc{i} int8 bias codes (biases coded at the layer scale)  or  b{i} float64 float biases
    Wf{i} float64, only for a full-precision output layer (``quantize_output=False``)
    sha256  hex digest of all the arrays above (checked on load)

Loading checks the digest, the codes and the layout: a damaged or edited file raises
:class:`~tern_jax.errors.DamagedFile`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import DamagedFile, InvalidInput
from .fileio import arrays_sha256, atomic_savez, read_npz
from .models import CodeMLP
from .network import ReLUNet
from .records import package_version, to_jsonable
from .training.folding import network_from_layers

CODES_FORMAT = "tern_jax.codes"
FORMAT_VERSION = 1


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
