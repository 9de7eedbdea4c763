"""Atomic writes: after a failure or a crash mid-write the previous file is intact."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from tern_jax.fileio import (
    atomic_path,
    atomic_savez,
    atomic_write_bytes,
    atomic_write_text,
    is_temp_name,
)
from tern_jax.training.rundir import clear_temp_files


def test_writes_replace_the_file(tmp_path):
    p = tmp_path / "a.txt"
    atomic_write_text(p, "one")
    atomic_write_text(p, "two")
    assert p.read_text() == "two"
    atomic_write_bytes(tmp_path / "sub" / "b.bin", b"\x00\x01")  # parent directories made
    assert (tmp_path / "sub" / "b.bin").read_bytes() == b"\x00\x01"
    atomic_savez(tmp_path / "arrays", x=np.arange(3))  # exactly this name, no ".npz" added
    with np.load(tmp_path / "arrays") as data:
        np.testing.assert_array_equal(data["x"], np.arange(3))
    assert sorted(os.listdir(tmp_path)) == ["a.txt", "arrays", "sub"]


def test_a_writer_that_fails_leaves_the_previous_file(tmp_path):
    p = tmp_path / "summary.json"
    p.write_text('{"old": true}')
    with pytest.raises(RuntimeError, match="disk on fire"):
        with atomic_path(p) as tmp:
            with open(tmp, "w") as fh:
                fh.write('{"new": tr')  # half of the new content
            raise RuntimeError("disk on fire")
    assert p.read_text() == '{"old": true}'
    assert os.listdir(tmp_path) == ["summary.json"]  # the temporary file is gone


def test_a_crash_mid_write_leaves_the_previous_file(tmp_path):
    """A process that dies mid-write (os._exit: no cleanup at all) leaves the previous file
    and a temporary file, which a run directory's owner clears away."""
    p = tmp_path / "network.npz"
    p.write_bytes(b"previous")
    code = textwrap.dedent(
        f"""
        import os
        from tern_jax.fileio import atomic_path
        with atomic_path({str(p)!r}) as tmp:
            with open(tmp, "wb") as fh:
                fh.write(b"half of the new")
                fh.flush()
                os._exit(9)
        """
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 9
    assert p.read_bytes() == b"previous"
    left = [n for n in os.listdir(tmp_path) if n != "network.npz"]
    assert len(left) == 1 and is_temp_name(left[0]) and left[0].endswith(".npz")
    clear_temp_files(str(tmp_path))
    assert os.listdir(tmp_path) == ["network.npz"]


def test_temp_names():
    assert is_temp_name(".summary.json.1234.0a1b2c3d.tmp.json")
    assert is_temp_name(".history.csv.7.deadbeef.tmp.csv")
    assert not is_temp_name("summary.json")
    assert not is_temp_name(".lock")
    assert not is_temp_name("notes.tmp")
