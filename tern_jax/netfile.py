"""Network files: a :class:`~tern_jax.network.ReLUNet` as a plain ``.npz`` any tool can read.

Layout (``save_network`` / ``read_network_file``)::

    format          str   "tern_jax.relunet"
    format_version  int   1
    num_layers      int   L (hidden layers + output layer)
    activations     str[L]  "identity" | "relu"
    ternary         bool  True: W{i}, b{i} are int8 codes in {-1, 0, 1}
    W0 .. W{L-1}    (n_in, n_out)  float64 (or int8 codes when ternary)
    b0 .. b{L-1}    (n_out,)       float64 (or int8 codes when ternary)
    fingerprint     str   ReLUNet.fingerprint of the stored parameters (checked on load)
    metadata        str   JSON object, free-form provenance (optional)

Loading anything by path (a file, a run directory, a checkpoint):
:func:`tern_jax.io.load_network`.
"""

from __future__ import annotations

import json
import os
import zipfile
from typing import Any

import numpy as np

from .errors import DamagedFile, InvalidInput, MissingFile
from .network import ReLUNet

FILE_FORMAT = "tern_jax.relunet"
FILE_FORMAT_VERSION = 1


def save_network(net: ReLUNet, path: str | os.PathLike, metadata: dict | None = None) -> str:
    """Write ``net`` to a ``.npz`` file (layout in this module's docstring); returns the path.

    Ternary networks are stored as int8 codes; others as float64.
    """
    path = os.fspath(path)
    ternary = net.is_ternary()
    arrays: dict[str, Any] = {
        "format": np.array(FILE_FORMAT),
        "format_version": np.array(FILE_FORMAT_VERSION),
        "num_layers": np.array(net.num_layers),
        "activations": np.array(net.activations),
        "ternary": np.array(ternary),
        "fingerprint": np.array(net.fingerprint),
        "metadata": np.array(json.dumps(metadata or {}, sort_keys=True)),
    }
    for i, (w, b) in enumerate(zip(net.weights, net.biases)):
        dt = np.int8 if ternary else np.float64
        arrays[f"W{i}"] = np.asarray(w).astype(dt)
        arrays[f"b{i}"] = np.asarray(b).astype(dt)
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    # Write through a file object so numpy does not append a second ".npz".
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)
    return path


def read_network_metadata(path: str | os.PathLike) -> dict:
    """The free-form metadata dict stored with a network file."""
    with _open_npz(os.fspath(path)) as data:
        return json.loads(str(data["metadata"])) if "metadata" in data.files else {}


def _open_npz(path: str):
    if not os.path.exists(path):
        raise MissingFile(f"no network file at {path!r}")
    try:
        return np.load(path, allow_pickle=False)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as e:
        raise DamagedFile(f"{path!r} is not a readable tern_jax network file ({e})") from e


def _read_arrays(data: Any, path: str) -> tuple[list, list, list, bool, str | None]:
    files = set(data.files)
    for key in ("format", "format_version", "num_layers", "activations"):
        if key not in files:
            raise DamagedFile(f"{path!r}: missing entry {key!r}; not a tern_jax network file")
    if str(data["format"]) != FILE_FORMAT:
        raise DamagedFile(f"{path!r}: format is {str(data['format'])!r}, expected {FILE_FORMAT!r}")
    version = int(data["format_version"])
    if version > FILE_FORMAT_VERSION:
        raise DamagedFile(
            f"{path!r}: format version {version} is newer than this tern_jax understands "
            f"({FILE_FORMAT_VERSION})"
        )
    n = int(data["num_layers"])
    acts = [str(a) for a in data["activations"]]
    if len(acts) != n:
        raise DamagedFile(f"{path!r}: {len(acts)} activation tags for {n} layers")
    ternary = bool(data["ternary"]) if "ternary" in files else False
    ws, bs = [], []
    for i in range(n):
        for key in (f"W{i}", f"b{i}"):
            if key not in files:
                raise DamagedFile(f"{path!r}: missing array {key!r} (layer {i})")
        w, b = data[f"W{i}"], data[f"b{i}"]
        if ternary:
            for name, a in ((f"W{i}", w), (f"b{i}", b)):
                bad = ~np.isin(a, (-1, 0, 1))
                if np.any(bad):
                    raise DamagedFile(
                        f"{path!r}: layer {i} is declared ternary but {name} holds "
                        f"{a[bad].ravel()[0]!r}, outside {{-1, 0, 1}}"
                    )
        ws.append(w)
        bs.append(b)
    stored_fp = str(data["fingerprint"]) if "fingerprint" in files else None
    return ws, bs, acts, ternary, stored_fp


def read_network_file(path: str | os.PathLike) -> ReLUNet:
    """Read a network file written by :func:`save_network`.

    Corrupt files, shapes that do not chain, codes outside {-1, 0, 1} in a file declared
    ternary, and parameters that do not match the stored fingerprint raise
    :class:`~tern_jax.errors.DamagedFile`; a missing path :class:`~tern_jax.errors.MissingFile`.
    """
    path = os.fspath(path)
    with _open_npz(path) as data:
        try:
            ws, bs, acts, _, stored_fp = _read_arrays(data, path)
        except (zipfile.BadZipFile, OSError, EOFError, KeyError) as e:
            raise DamagedFile(f"{path!r} is a damaged network file ({e})") from e
    try:
        net = ReLUNet.from_arrays(ws, bs, acts)
    except InvalidInput as e:
        raise DamagedFile(f"{path!r}: {e}") from e
    if stored_fp is not None and stored_fp != net.fingerprint:
        raise DamagedFile(
            f"{path!r}: parameters do not match the stored fingerprint "
            f"({net.fingerprint} != {stored_fp}); the file is damaged or was edited"
        )
    return net
