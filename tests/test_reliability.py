"""Faults on purpose: damaged files, unwritable outputs, inputs that are not networks.

Each test injects one fault and checks that either the previous content is intact or the new
content is complete, and that the message names the problem (docs/reliability.md lists the
faults tried and their outcomes).
"""

from __future__ import annotations

import numpy as np
import pytest

import tern_jax as tj
from tern_jax.cli import main
from tern_jax.models import AlternatingMLP


def _flip_every_byte(path, load):
    """Flip each byte in turn: ``load`` either raises DamagedFile or returns what it
    returned for the intact file. Returns the number of refused flips."""
    raw = bytearray(path.read_bytes())
    expected = load(path)
    flipped = path.with_name("flipped" + path.suffix)
    refused = 0
    for i in range(len(raw)):
        bad = bytearray(raw)
        bad[i] ^= 0xFF
        flipped.write_bytes(bytes(bad))
        try:
            got = load(flipped)
        except tj.DamagedFile:
            refused += 1
            continue
        assert got == expected, f"byte {i}: a changed file loaded with different content"
    return refused


def test_network_files_refuse_every_damaging_byte_flip(tmp_path):
    net = tj.constructions.ternary_alternating(1, [3]).net
    path = tmp_path / "n.npz"
    tj.save_network(net, path, metadata={"source": "test"})

    def load(p):
        return tj.load_network(p).fingerprint, tj.netfile.read_network_metadata(p)

    refused = _flip_every_byte(path, load)
    assert refused > path.stat().st_size // 2  # the rest are zip fields numpy ignores


def test_code_exports_refuse_every_damaging_byte_flip(tmp_path):
    net = tj.constructions.ternary_alternating(1, [2]).net
    path = tmp_path / "codes.npz"
    tj.checkpoint.export_codes(AlternatingMLP.from_network(net), path)

    def load(p):
        export = tj.checkpoint.load_codes(p)
        return export.to_network().fingerprint, export.metadata

    refused = _flip_every_byte(path, load)
    assert refused > path.stat().st_size // 2  # the rest are zip fields numpy ignores


def test_unwritable_outputs_are_one_line_errors(tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    argv = ["construct", "ternary-alternating", "--ps", "2", "--out", str(blocker / "n.npz")]
    assert main(argv) == 2
    assert "cannot write" in capsys.readouterr().err
    with pytest.raises(tj.InvalidInput, match="cannot write"):
        tj.save_network(tj.constructions.ternary_alternating(1, [2]).net, blocker / "n.npz")
    with pytest.raises(tj.InvalidInput, match="is a directory"):
        tj.save_network(tj.constructions.ternary_alternating(1, [2]).net, tmp_path)
    assert blocker.read_text() == "not a directory"


def test_a_plain_array_is_not_a_network(tmp_path, capsys):
    np.save(tmp_path / "w.npy", np.ones((3, 3)))
    with pytest.raises(tj.DamagedFile, match=r"not an \.npz archive"):
        tj.load_network(tmp_path / "w.npy")
    assert main(["count", str(tmp_path / "w.npy"), "--samples", "10"]) == 2
    assert "not a tern_jax network file" in capsys.readouterr().err


def test_a_failed_overwrite_keeps_the_previous_network(tmp_path, monkeypatch):
    net = tj.constructions.ternary_alternating(1, [2]).net
    path = tj.save_network(net, tmp_path / "n.npz")

    def broken_savez(fh, **arrays):
        fh.write(b"half a file")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(tj.InvalidInput, match="No space left"):
        tj.save_network(tj.constructions.ternary_alternating(1, [3]).net, path)
    monkeypatch.undo()
    assert tj.load_network(path) == net
    assert sorted(p.name for p in tmp_path.iterdir()) == ["n.npz"]  # no temporary left


def test_a_damaged_latest_checkpoint_names_the_newest_intact_step(tmp_path, capsys):
    from tern_jax.checkpoint import save_model

    series = tmp_path / "series"
    nets = {}
    for step, ps in ((100, [2]), (200, [3])):
        net = tj.constructions.ternary_alternating(1, ps).net
        save_model(AlternatingMLP.from_network(net), series / str(step))
        nets[step] = net
    for f in (series / "200" / "model").rglob("*"):
        if f.is_file() and f.stat().st_size > 16:
            f.write_bytes(f.read_bytes()[:8])
    with pytest.raises(tj.DamagedFile, match="newest intact step is 100"):
        tj.load_network(series)
    assert main(["count", str(series), "--samples", "10", "-q"]) == 2
    assert "step=100" in capsys.readouterr().err
    assert tj.load_network(series / "100") == nets[100]
    assert tj.load_network(series, step=100) == nets[100]


def test_an_unwritable_plot_keeps_the_exact_result(tmp_path, capsys):
    path = tmp_path / "net.npz"
    tj.save_network(tj.constructions.ternary_alternating(1, [3]).net, path)
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    argv = ["exact", str(path), "--segment", "0;1", "--plot", str(blocker / "p.png")]
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert "activation regions" in out and ": 3" in out  # the counts came out first
    assert "cannot write" in err and "p.png" in err
    assert main([*argv, "--json"]) == 2
    out, _ = capsys.readouterr()
    assert '"activation_regions": 3' in out


# -- kills and concurrent writers (subprocesses) -------------------------------------------
def _construct(out, ps, force=True):
    import subprocess
    import sys

    argv = [sys.executable, "-m", "tern_jax.cli", "construct", "ternary-alternating",
            "--ps", ps, "--out", str(out)] + (["--force"] if force else [])  # fmt: skip
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_two_writers_on_one_path_leave_one_complete_file(tmp_path):
    out = tmp_path / "net.npz"
    expected = {tj.constructions.ternary_alternating(1, [p]).net.fingerprint for p in (40, 41)}
    for _ in range(3):
        procs = [_construct(out, "40"), _construct(out, "41")]
        for p in procs:
            assert p.wait(timeout=300) == 0, p.stderr.read().decode()
        assert tj.load_network(out).fingerprint in expected
    assert [p.name for p in tmp_path.iterdir()] == ["net.npz"]  # no temporary left


def test_kill_9_at_random_points_leaves_the_old_file_or_the_new_one(tmp_path):
    """construct killed at random moments: the previous file stays intact or the new one is
    complete, and the next write clears the killed writer's temporary file."""
    import random
    import signal
    import time

    out = tmp_path / "net.npz"
    old = tj.constructions.ternary_alternating(1, [3]).net
    tj.save_network(old, out)
    new = tj.constructions.ternary_alternating(1, [300]).net  # ~1 MB: a write takes a while
    rng = random.Random(0)
    for _ in range(6):
        proc = _construct(out, "300")
        time.sleep(rng.uniform(0.2, 3.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        got = tj.load_network(out)  # never damaged
        assert got in (old, new)
        tj.save_network(old, out)  # the next write also clears dead writers' temporaries
        assert [p.name for p in tmp_path.iterdir()] == ["net.npz"]


def test_kill_9_of_report_leaves_complete_reports(tmp_path):
    """report killed at random moments (a study of 40,000 table rows: writing takes a while):
    report.md and report.html are each absent, the previous one or a complete one; the
    next report clears the killed writer's temporaries."""
    import random
    import signal
    import subprocess
    import sys
    import time

    from test_report import _study

    from tern_jax.report import Table, write_report, write_study

    study = _study(tmp_path)
    study.tables.append(Table("big", "many rows", ["i", "i^2"], [[i, i * i] for i in range(40000)]))
    write_study(study, tmp_path)
    write_report(tmp_path)
    full = {n: (tmp_path / n).read_text() for n in ("report.md", "report.html")}
    assert full["report.md"].count("\n") > 40000
    cmd = [sys.executable, "-m", "tern_jax.cli", "report", str(tmp_path)]
    rng = random.Random(1)
    for _ in range(5):
        for n in full:
            (tmp_path / n).unlink()  # so that a kill before any write is seen too
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(1.0, 4.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        for n, text in full.items():
            if (tmp_path / n).exists():
                assert (tmp_path / n).read_text() == text  # complete, never half-written
        write_report(tmp_path)
        names = sorted(p.name for p in tmp_path.iterdir())
        assert names == ["report.html", "report.md", "s1"], names  # no temporary left


def test_damaged_resume_states_are_refused(tmp_path, capsys):
    """A truncated or byte-flipped --resume state is a one-line DamagedFile error, never a
    silently wrong count; the same command with the state removed counts from scratch."""
    net = tmp_path / "net.npz"
    tj.save_network(tj.constructions.ternary_alternating(2, [2]).net, net)
    state = tmp_path / "state"
    argv = ["count", str(net), "-n", "20000", "--resume", str(state), "-q", "--json"]
    assert main(argv) == 0
    good = capsys.readouterr().out
    (path,) = state.iterdir()
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    assert main(argv) == 2
    assert "damaged" in capsys.readouterr().err
    bad = bytearray(raw)
    bad[len(raw) // 3] ^= 0xFF  # inside the table's arrays
    path.write_bytes(bytes(bad))
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "damaged" in err or "SHA-256" in err
    path.unlink()
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert '"distinct": 4' in out and '"distinct": 4' in good


def test_oversized_constructions_fail_at_once_with_the_size(capsys):
    argv = ["construct", "ternary-alternating", "--n0", "2", "--ps", "1000000"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "TiB" in err and "parameters" in err
