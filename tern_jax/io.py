"""Loading networks by path: the one place that knows every file and directory kind.

:func:`load_network` accepts

- a network file (``.npz``, :mod:`tern_jax.netfile`),
- a code export (``codes.npz``, :func:`tern_jax.checkpoint.load_codes`), folded as
  :meth:`CodeExport.to_network` does,
- a run directory (its ``network.npz``),
- an orbax checkpoint: one step, a series (the latest step) or a run directory's
  ``checkpoints/`` (:func:`tern_jax.checkpoint.network_from_checkpoint`).

Paths may be relative: they are made absolute once, here, before any library sees them.
"""

from __future__ import annotations

import os
import zipfile

from .errors import DamagedFile, MissingFile
from .netfile import FILE_FORMAT, file_format, read_network_file
from .network import ReLUNet

__all__ = ["load_network"]


def load_network(path: str | os.PathLike, step: int | None = None) -> ReLUNet:
    """The :class:`ReLUNet` stored at ``path`` (any kind listed in the module docstring).

    ``step`` chooses a checkpoint step (checkpoint directories only).
    """
    from . import checkpoint  # the training stack (Flax, orbax): only for checkpoints

    given = os.fspath(path)
    path = os.path.abspath(given)
    if not os.path.exists(path):
        raise MissingFile(f"no network file or directory at {given!r}")
    if os.path.isdir(path):
        candidate = os.path.join(path, "network.npz")
        if step is None and os.path.isfile(candidate):
            return read_network_file(candidate)
        return checkpoint.network_from_checkpoint(path, step)
    if step is not None:
        raise DamagedFile(f"{given!r} is a file; a checkpoint step applies to directories")
    if not zipfile.is_zipfile(path):
        raise DamagedFile(
            f"{given!r} is not a tern_jax network file (not an .npz archive; a plain .npy "
            "array holds no layers or activations: build a ReLUNet and save it with "
            "save_network)"
        )
    fmt = file_format(path)
    if fmt == checkpoint.CODES_FORMAT:
        return checkpoint.load_codes(path).to_network()
    if fmt is not None and fmt != FILE_FORMAT:
        raise DamagedFile(
            f"{given!r} is a {fmt!r} file, not a network (expected {FILE_FORMAT!r} or "
            f"{checkpoint.CODES_FORMAT!r})"
        )
    return read_network_file(path)
