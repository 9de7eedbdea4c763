"""The run directory: lock, foreign directories, extending a run, progress output off a
terminal, TensorBoard scalars, configs of older run directories."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import struct
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import yaml
from tensorboardX.proto import event_pb2
from train_helpers import TINY, final_params

import tern_jax as tj
from tern_jax.cli import main as cli_main
from tern_jax.train import DEFAULTS, RunDirInUse, config_from_dict
from tern_jax.train import run as train_run
from tern_jax.training import rundir


def _config_file(tmp_path, **fields):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump({**TINY, **fields}))
    return str(path)


def _listing(d):
    return sorted(os.listdir(d))


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """The tiny run through the CLI with progress on, stdout and stderr captured (not a
    terminal, as in a log file or CI)."""
    tmp = tmp_path_factory.mktemp("tiny")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli_main(["train", _config_file(tmp), "--out", str(tmp / "run")])
    assert rc == 0, err.getvalue()
    return tmp / "run", out.getvalue(), err.getvalue()


def test_progress_off_a_terminal_is_one_line_per_log_interval(tiny_run):
    _, out, err = tiny_run
    lines = [ln for ln in err.splitlines() if ln.startswith("[ternary] step ")]
    assert [ln.split()[2] for ln in lines] == ["10/40", "20/40", "30/40", "40/40"]
    assert all("train loss" in ln for ln in lines)
    assert "\r" not in err and "it/s" not in err  # no tqdm bar redraws
    assert out.count("test MSE") == 1


def test_quiet_prints_results_only(tmp_path, capsys):
    assert (
        cli_main(
            ["train", _config_file(tmp_path, count_every=0), "--out", str(tmp_path / "q"), "-q"]
        )
        == 0
    )
    captured = capsys.readouterr()
    assert "step 10/40" not in captured.err and "test MSE" in captured.out


def _tensorboard_scalars(logdir):
    """{tag: {step: value}} from the TFRecord event files of a directory."""
    out: dict[str, dict[int, float]] = {}
    for name in sorted(os.listdir(logdir)):
        data = (logdir / name).read_bytes()
        pos = 0
        while pos < len(data):
            (n,) = struct.unpack("<Q", data[pos : pos + 8])
            event = event_pb2.Event()
            event.ParseFromString(data[pos + 12 : pos + 12 + n])  # after length and its CRC
            pos += 12 + n + 4  # the record and its CRC
            for v in event.summary.value:
                out.setdefault(v.tag, {})[event.step] = v.simple_value
    return out


def test_tensorboard_scalars(tiny_run):
    run_dir, _, _ = tiny_run
    scalars = _tensorboard_scalars(run_dir / "tensorboard" / "ternary")
    assert sorted(scalars["loss/train"]) == [10, 20, 30, 40]
    assert sorted(scalars["loss/test_mse"]) == [20, 40]
    series = json.loads((run_dir / "regions.json").read_text())["series"]
    distinct = {r["step"]: r["sampled_box"]["distinct"] for r in series}
    assert scalars["regions/sampled_box.distinct"] == distinct
    assert sorted(scalars["regions/exact_line.linear_regions"]) == [0, 20, 40]
    history = {
        json.loads(ln)["step"]: json.loads(ln)
        for ln in (run_dir / "history_ternary.jsonl").read_text().splitlines()
    }
    assert scalars["loss/test_mse"][40] == pytest.approx(history[40]["test_loss"], rel=1e-6)


def test_extending_a_run_equals_a_fresh_run_with_the_old_schedule_horizon(tmp_path, capsys):
    cfg = _config_file(tmp_path, count_every=0)
    run_a = tmp_path / "a"
    assert cli_main(["train", cfg, "--out", str(run_a), "-q"]) == 0
    assert cli_main(["train", cfg, "--out", str(run_a), "-q", "--set", "steps=80"]) == 0
    out = capsys.readouterr().out
    assert "extending the run" in out and "from 40 to 80 steps" in out
    assert "[ternary] resuming from checkpoint step 40" in out
    stored = yaml.safe_load((run_a / "config.yaml").read_text())
    assert stored["steps"] == 80 and stored["schedule_steps"] == 40
    # the same command again is a rerun of the extended run: nothing changes
    assert cli_main(["train", cfg, "--out", str(run_a), "-q", "--set", "steps=80"]) == 0
    assert "resuming from checkpoint step 80" in capsys.readouterr().out
    # equal, bit for bit, to a fresh 80-step run whose schedule has the 40-step horizon
    fresh = config_from_dict({**TINY, "count_every": 0, "steps": 80, "schedule_steps": 40})
    train_run(fresh, tmp_path / "b", progress=False, echo=lambda m: None)
    (step_a, pa), (step_b, pb) = final_params(run_a), final_params(tmp_path / "b")
    assert step_a == step_b == 80
    for a, b in zip(pa, pb, strict=True):
        np.testing.assert_array_equal(a, b)
    assert tj.load_network(run_a) == tj.load_network(tmp_path / "b")


_HOLD_LOCK = textwrap.dedent(
    """
    import os, sys, time
    from tern_jax.training.rundir import locked
    os.makedirs(sys.argv[1], exist_ok=True)
    with locked(sys.argv[1], print):
        print("locked", flush=True)
        time.sleep(120)
    """
)


def test_a_locked_run_directory_is_refused_and_a_stale_lock_reported(tmp_path, capsys):
    run_dir = tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(run_dir)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        before = _listing(run_dir), (run_dir / ".lock").read_bytes()
        owner = json.loads(before[1])
        assert owner["pid"] == holder.pid and owner["host"]
        assert cli_main(["train", _config_file(tmp_path), "--out", str(run_dir), "-q"]) == 2
        err = capsys.readouterr().err
        assert f"is in use by pid {holder.pid} on host" in err and len(err.splitlines()) == 1
        assert (_listing(run_dir), (run_dir / ".lock").read_bytes()) == before  # nothing left
        with pytest.raises(RunDirInUse):
            with rundir.locked(str(run_dir), print):
                pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    # the holder died holding the lock: the next owner says whose lock it takes over
    said = []
    with rundir.locked(str(run_dir), said.append):
        assert json.loads((run_dir / ".lock").read_text())["pid"] == os.getpid()
    assert len(said) == 1 and f"left by pid {holder.pid}" in said[0] and "taking it over" in said[0]
    assert not (run_dir / ".lock").exists()  # released


def test_a_foreign_directory_is_not_written_without_force(tmp_path, capsys):
    cfg = _config_file(tmp_path, count_every=0)
    mine = tmp_path / "mine"
    mine.mkdir()
    files = {"network.npz": b"my own network", "summary.json": b"{}", "notes.txt": b"hello"}
    for name, data in files.items():
        (mine / name).write_bytes(data)
    assert cli_main(["train", cfg, "--out", str(mine), "-q"]) == 2
    err = capsys.readouterr().err
    assert "not a tern_jax run directory" in err and "--force" in err
    assert {n: (mine / n).read_bytes() for n in _listing(mine)} == files
    assert cli_main(["train", cfg, "--out", str(mine), "-q", "--force"]) == 0
    assert (mine / "notes.txt").read_bytes() == b"hello"
    assert tj.load_network(mine / "network.npz").input_dim == 2  # the run's own now


@pytest.mark.parametrize(
    "content,message",
    [("", "is empty"), ("name: mine\nsteps: 3\n", "fields missing"), ("[1, 2", "unreadable")],
)
def test_a_config_yaml_that_is_no_run_config_is_never_overwritten(
    tmp_path, capsys, content, message
):
    d = tmp_path / "d"
    d.mkdir()
    (d / "config.yaml").write_text(content)
    assert cli_main(["train", _config_file(tmp_path), "--out", str(d), "-q", "--force"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert (d / "config.yaml").read_text() == content
    assert _listing(d) == ["config.yaml"]


def test_run_directories_of_0_1_are_the_same_run(tmp_path):
    """A 0.1.0 config.yaml lacks schedule_steps (and names the quantiser by rule)."""
    cfg = config_from_dict(TINY)
    old = {**cfg.to_json(), "quantizer": "absmean"}
    del old["schedule_steps"]
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(old))
    stored = rundir.read_run_config(str(tmp_path))
    assert stored == cfg
    assert rundir.reconcile(str(tmp_path), stored, cfg) == (cfg, None)
    assert (
        rundir.reconcile(
            str(tmp_path), stored, DEFAULTS.__class__.from_dict({**TINY, "steps": 50})
        )[0].schedule_steps
        == 40
    )
