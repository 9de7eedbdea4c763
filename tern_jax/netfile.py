"""Network files: a :class:`~tern_jax.network.ReLUNet` as a plain ``.npz`` any tool can read.

Layout (``save_network`` / ``read_network_file``)::

    format          str   "tern_jax.relunet"
    format_version  int   2
    num_layers      int   L (hidden layers + output layer)
    activations     str[L]  "identity" | "relu"
    ternary         bool  True: W{i}, b{i} are int8 codes in {-1, 0, 1}
    W0 .. W{L-1}    (n_in, n_out)  float64 (or int8 codes when ternary)
    b0 .. b{L-1}    (n_out,)       float64 (or int8 codes when ternary)
    fingerprint     str   ReLUNet.fingerprint of the stored parameters (checked on load)
    metadata        str   JSON object, free-form provenance
    sha256          str   digest of every other entry (names, dtypes, shapes, bytes; see
                          :func:`arrays_sha256`), checked on load

Integrity: the fingerprint is mandatory and must match the parameters; the ``sha256`` entry
covers every array and the metadata, so an edit or a flipped byte anywhere is refused.
Version-1 files (no ``sha256``) still load; their fingerprint is still required. Any
unreadable or inconsistent content raises :class:`~tern_jax.errors.DamagedFile`.

Loading anything by path (a file, a run directory, a checkpoint):
:func:`tern_jax.io.load_network`.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from .errors import DamagedFile, InvalidInput
from .fileio import arrays_sha256, atomic_savez, read_npz
from .network import ReLUNet

FILE_FORMAT = "tern_jax.relunet"
FILE_FORMAT_VERSION = 2
DIGEST_ENTRY = "sha256"


def save_network(net: ReLUNet, path: str | os.PathLike, metadata: dict | None = None) -> str:
    """Write ``net`` to a ``.npz`` file (layout in this module's docstring); returns the path.

    Ternary networks are stored as int8 codes; others as float64. The write is atomic: an
    existing file at ``path`` is replaced whole or not at all.
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
    arrays[DIGEST_ENTRY] = np.array(arrays_sha256(arrays))
    atomic_savez(path, **arrays)  # a reader sees the old file or the new one, never half
    return path


def read_network_metadata(path: str | os.PathLike) -> dict:
    """The free-form metadata dict stored with a network file (integrity checked)."""
    path = os.fspath(path)
    return _metadata(_checked_entries(path), path)


def _entries(path: str) -> dict[str, np.ndarray]:
    return read_npz(path, "tern_jax network file")


def file_format(path: str | os.PathLike) -> str | None:
    """The ``format`` entry of a tern_jax ``.npz`` file (None when it has none)."""
    e = _entries(os.fspath(path))
    return str(e["format"]) if "format" in e else None


def _checked_entries(path: str) -> dict[str, np.ndarray]:
    """The entries after the format, version, digest and mandatory-fingerprint checks."""
    e = _entries(path)
    for key in ("format", "format_version", "num_layers", "activations", "fingerprint"):
        if key not in e:
            raise DamagedFile(f"{path!r}: missing entry {key!r}; not a valid tern_jax network file")
    try:
        fmt, version = str(e["format"]), int(e["format_version"])
    except (TypeError, ValueError) as err:
        raise DamagedFile(f"{path!r}: unreadable format entries ({err})") from err
    if fmt != FILE_FORMAT:
        raise DamagedFile(f"{path!r}: format is {fmt!r}, expected {FILE_FORMAT!r}")
    if version > FILE_FORMAT_VERSION:
        raise DamagedFile(
            f"{path!r}: format version {version} is newer than this tern_jax understands "
            f"({FILE_FORMAT_VERSION})"
        )
    if version >= 2:
        stored = e.pop(DIGEST_ENTRY, None)
        if stored is None or str(stored) != arrays_sha256(e):
            raise DamagedFile(
                f"{path!r}: contents do not match the stored SHA-256; the file is damaged or "
                "was edited"
            )
    return e


def _metadata(e: dict[str, np.ndarray], path: str) -> dict:
    if "metadata" not in e:
        return {}
    try:
        meta = json.loads(str(e["metadata"]))
    except (ValueError, TypeError) as err:
        raise DamagedFile(f"{path!r}: metadata is not valid JSON ({err})") from err
    if not isinstance(meta, dict):
        raise DamagedFile(f"{path!r}: metadata is not a JSON object")
    return meta


def _layers(e: dict[str, np.ndarray], path: str) -> tuple[list, list, list]:
    n = int(e["num_layers"])
    acts = [str(a) for a in np.atleast_1d(e["activations"])]
    if len(acts) != n:
        raise DamagedFile(f"{path!r}: {len(acts)} activation tags for {n} layers")
    ternary = bool(e["ternary"]) if "ternary" in e else False
    ws, bs = [], []
    for i in range(n):
        for key in (f"W{i}", f"b{i}"):
            if key not in e:
                raise DamagedFile(f"{path!r}: missing array {key!r} (layer {i})")
        w, b = e[f"W{i}"], e[f"b{i}"]
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
    return ws, bs, acts


def read_network_file(path: str | os.PathLike) -> ReLUNet:
    """Read a network file written by :func:`save_network`.

    Corrupt or edited files, shapes that do not chain, codes outside {-1, 0, 1} in a file
    declared ternary, a missing fingerprint and parameters that do not match it raise
    :class:`~tern_jax.errors.DamagedFile`; a missing path :class:`~tern_jax.errors.MissingFile`.
    """
    path = os.fspath(path)
    e = _checked_entries(path)
    try:
        ws, bs, acts = _layers(e, path)
        _metadata(e, path)
        net = ReLUNet.from_arrays(ws, bs, acts)
    except DamagedFile:
        raise
    except (InvalidInput, TypeError, ValueError, OverflowError) as err:
        raise DamagedFile(f"{path!r}: {err}") from err
    stored_fp = str(e["fingerprint"])
    if stored_fp != net.fingerprint:
        raise DamagedFile(
            f"{path!r}: parameters do not match the stored fingerprint "
            f"({net.fingerprint} != {stored_fp}); the file is damaged or was edited"
        )
    return net
