"""Atomic file writes: a reader sees the old file or the new one, never half of either.

Every writer goes to a temporary file in the target's own directory (same file system, so
the final ``os.replace`` is atomic), flushes and fsyncs it, renames it over the target, and
fsyncs the directory so the rename itself survives a crash. When the writer fails, the
temporary file is removed and the previous file stays as it was. A process killed mid-write
leaves only a temporary file, named ``.<name>.<pid>.<token>.tmp<suffix>``; the next write of
the same file removes those whose process is gone (:func:`clear_dead_temps`), and
:func:`is_temp_name` recognises them for owners of a whole directory. A path that
cannot be written (permission denied, a directory, disk full) raises
:class:`~tern_jax.errors.InvalidInput` naming it, never a bare ``OSError``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
from collections.abc import Iterator
from typing import Any

import numpy as np

from .errors import DamagedFile, InvalidInput, MissingFile, TernJaxError

_TEMP = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[0-9a-f]{8}\.tmp(\.[^./]*)?$")


def is_temp_name(name: str) -> bool:
    """True for the name of a temporary file left by an interrupted atomic write."""
    return bool(_TEMP.match(name))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):  # someone else's process: assume it is alive
        return True
    return True


def clear_dead_temps(directory: str, name: str) -> list[str]:
    """Remove the temporary files that killed writers of ``directory/name`` left behind
    (their process is gone); a live writer's temporary file is kept. Returns the names."""
    removed = []
    try:
        entries = os.listdir(directory)
    except OSError:
        return removed
    for entry in entries:
        m = _TEMP.match(entry)
        if m and m.group("name") == name and not _alive(int(m.group("pid"))):
            with contextlib.suppress(OSError):
                os.remove(os.path.join(directory, entry))
                removed.append(entry)
    return removed


def _fsync_dir(directory: str) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # a platform or file system where directories cannot be opened
        return
    try:
        os.fsync(fd)
    except OSError:  # e.g. some network file systems refuse fsync on a directory
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[str]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` atomically.

    The temporary name keeps ``path``'s suffix, so writers that choose a format by extension
    (``savefig``, ``np.savez``) behave as they would for ``path``. Whatever the writer
    leaves at the temporary path is fsynced and renamed; if the block raises, the temporary
    file is removed and ``path`` is untouched.
    """
    given = os.fspath(path)
    path = os.path.abspath(given)
    directory, name = os.path.split(path)
    if os.path.isdir(path):
        raise InvalidInput(f"cannot write {given!r}: it is a directory")
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as e:
        raise InvalidInput(f"cannot write {given!r}: {e.strerror or e}") from e
    clear_dead_temps(directory, name)  # left by writers killed mid-write (kill -9, power)
    suffix = os.path.splitext(name)[1]
    tmp = os.path.join(directory, f".{name}.{os.getpid()}.{secrets.token_hex(4)}.tmp{suffix}")
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        if isinstance(e, OSError) and not isinstance(e, TernJaxError):
            # permission denied, disk full, read-only file system: the user's path, not a bug
            raise InvalidInput(f"cannot write {given!r}: {e.strerror or e}") from e
        raise
    _fsync_dir(directory)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> str:
    """Write ``data`` to ``path`` atomically; returns the absolute path."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fh.write(data)
    return os.path.abspath(os.fspath(path))


def atomic_write_text(path: str | os.PathLike, text: str) -> str:
    """Write ``text`` (UTF-8) to ``path`` atomically; returns the absolute path."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_savez(path: str | os.PathLike, **arrays: Any) -> str:
    """``np.savez`` to exactly ``path`` (no ".npz" appended), atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
    return os.path.abspath(os.fspath(path))


def arrays_sha256(arrays: dict[str, Any]) -> str:
    """SHA-256 over named arrays: every name, dtype, shape and byte, in name order."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(np.asarray(arrays[name]))
        h.update(name.encode())
        h.update(str(a.dtype).encode())
        h.update(np.asarray(a.shape, "<i8").tobytes())
        h.update(a.tobytes())
    return h.hexdigest()


def read_npz(path: str | os.PathLike, what: str) -> dict[str, np.ndarray]:
    """Every entry of the ``.npz`` file at ``path`` (``what`` names the kind of file in
    messages): a missing path is a :class:`~tern_jax.errors.MissingFile`, and anything
    unreadable, truncated or not an archive a :class:`~tern_jax.errors.DamagedFile`."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise MissingFile(f"no {what} at {path!r}")
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except Exception as e:  # untrusted bytes: zipfile/numpy raise many kinds of error
        raise DamagedFile(f"{path!r} is not a readable {what} ({e})") from e
