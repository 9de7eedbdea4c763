"""Training runs: quick config end to end, kill-and-resume, region series, configs, tasks."""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import yaml
from train_helpers import KILL_CONFIG, final_params, write_config

import tern_jax as tj
from tern_jax import checkpoint as ck
from tern_jax.cli import main as cli_main
from tern_jax.errors import InvalidInput, MissingFile, TooLarge, WrongType
from tern_jax.tasks import TASKS, make_task
from tern_jax.train import DEFAULTS, TrainConfig, check_size, config_from_dict, load_config
from tern_jax.train import run as train_run

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUICK = os.path.join(ROOT, "experiments", "configs", "quick.yaml")


def quick_args(out) -> list[str]:
    """``tern-jax train`` on the quick config, shortened: 600 steps, fewer samples."""
    sets = ["steps=600", "count_every=300", "count_samples=4000"]
    return ["train", QUICK, "--out", str(out), "--quiet", *(a for s in sets for a in ("--set", s))]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """The quick config, shortened (600 steps, fewer samples), run through the CLI."""
    out = tmp_path_factory.mktemp("quick") / "run"
    rc = cli_main(quick_args(out))
    assert rc == 0
    return out


def test_quick_run_learns_and_writes_everything(quick_run):
    out = quick_run
    for name in (
        "config.yaml",
        "network.npz",
        "network_float.npz",
        "codes.npz",
        "regions.json",
        "regions.csv",
        "regions.png",
        "history.csv",
        "summary.json",
    ):
        assert (out / name).is_file(), name
    summary = json.loads((out / "summary.json").read_text())
    base = summary["constant_baseline_test_mse"]
    assert base > 0.2  # Var of sin(pi x) sin(pi y) on the square is 1/4
    # the ternary model beats the constant predictor by a wide margin
    assert summary["models"]["ternary"]["test_mse"] < 0.2 * base
    assert summary["models"]["float"]["test_mse"] < 0.2 * base
    # the ReLUNet file is the model's function: recompute its test MSE independently
    task = make_task("sines2d", 2048, 1024, 0)
    net = tj.load_network(out / "network.npz")
    mse = float(np.mean((np.asarray(net(task.x_test)) - task.y_test) ** 2))
    assert mse == pytest.approx(summary["models"]["ternary"]["test_mse"], rel=1e-6)
    assert net.activations == ("identity", "relu", "identity", "relu", "identity")
    assert tj.load_network(out) == net  # a run directory loads its network.npz


def test_exported_codes_are_ternary_and_match_the_checkpoint(quick_run):
    ex = ck.load_codes(quick_run / "codes.npz")
    with np.load(quick_run / "codes.npz") as data:
        for k in data.files:
            if k.startswith(("W", "bc")):
                assert data[k].dtype == np.int8
                assert set(np.unique(data[k])) <= {-1, 0, 1}, k
        assert not [k for k in data.files if k.startswith("Wf")]
    final = ck.network_from_checkpoint(quick_run / "checkpoints" / "ternary")
    assert ex.to_network() == final == tj.load_network(quick_run / "network.npz")
    assert ck.read_metadata(quick_run / "checkpoints" / "ternary")["step"] == 600


def test_checkpoint_series_keeps_last_k_and_best(quick_run):
    steps = sorted(int(s) for s in os.listdir(quick_run / "checkpoints" / "ternary") if s.isdigit())
    # checkpoint_every 500 of 600 steps -> saves at 500 and 600, both kept (keep_last 2)
    assert steps == [500, 600]
    for s in steps:
        meta = ck.read_metadata(quick_run / "checkpoints" / "ternary", step=s)
        assert meta["step"] == s and meta["kind"] == "ternary"
        assert meta["model"]["quantizer"]["rule"] == "absmean"


def test_region_series(quick_run):
    doc = json.loads((quick_run / "regions.json").read_text())
    series = doc["series"]
    assert sorted((r["model"], r["step"]) for r in series) == [
        ("float", 0),
        ("float", 300),
        ("float", 600),
        ("ternary", 0),
        ("ternary", 300),
        ("ternary", 600),
    ]
    for r in series:
        for key in ("exact_line", "exact_plane"):
            assert 1 <= r[key]["linear_regions"] <= r[key]["activation_regions"]
        # the plane of a 2D task is the data box: the sampled distinct patterns are
        # activation regions of positive area, hence at most the exact count
        assert r["sampled_box"]["distinct"] <= r["exact_plane"]["activation_regions"]
        # each count is the engine's own record (cut to the series' fields)
        assert r["sampled_box"]["kind"].startswith("activation regions")
        assert r["sampled_box"]["method"] == "sampled"
        assert r["sampled_box"]["domain"]["type"] == "box"
        assert r["exact_plane"]["how"] == "exact partition"
        assert "description" in r["exact_line"]["domain"]
    # the last ternary record is reproduced from the saved network by the engines directly
    last = max((r for r in series if r["model"] == "ternary"), key=lambda r: r["step"])
    net = tj.load_network(quick_run / "network.npz")
    assert last["fingerprint"] == net.fingerprint
    exact = tj.exact_regions_2d(net, [0, 0], [1, 0], [0, 1], bounds=(-1, 1, -1, 1))
    assert exact.activation_regions == last["exact_plane"]["activation_regions"]
    assert exact.linear_regions == last["exact_plane"]["linear_regions"]
    count = tj.count_regions(net, tj.Box(-1.0, 1.0), 4000, seed=0)
    assert count.distinct == last["sampled_box"]["distinct"]
    with open(quick_run / "regions.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 6
    assert int(rows[-1]["exact_plane.activation_regions"]) == next(
        r["exact_plane"]["activation_regions"]
        for r in series
        if (r["model"], r["step"]) == (rows[-1]["model"], int(rows[-1]["step"]))
    )


def test_count_and_exact_cli_accept_checkpoint_dirs(quick_run, capsys):
    ckpt = str(quick_run / "checkpoints" / "ternary")
    assert cli_main(["count", ckpt, "--samples", "4096", "--domain", "box:-1,1", "--json"]) == 0
    rec = json.loads(capsys.readouterr().out)
    assert rec["fingerprint"] == tj.load_network(quick_run / "network.npz").fingerprint
    args = ["exact", ckpt, "--plane", "0,0;1,0;0,1", "--bounds=-1,1,-1,1", "--json"]
    assert cli_main(args) == 0
    rec = json.loads(capsys.readouterr().out)
    series = json.loads((quick_run / "regions.json").read_text())["series"]
    last = max((r for r in series if r["model"] == "ternary"), key=lambda r: r["step"])
    assert rec["activation_regions"] == last["exact_plane"]["activation_regions"]


def test_rerun_of_a_finished_run_changes_nothing(quick_run, capsys):
    before = tj.load_network(quick_run / "network.npz").fingerprint
    rc = cli_main(quick_args(quick_run))
    assert rc == 0
    assert "resuming from checkpoint step 600" in capsys.readouterr().out
    assert tj.load_network(quick_run / "network.npz").fingerprint == before
    # a different config in the same directory is refused, and so is a shorter run
    rc = cli_main([*quick_args(quick_run), "--set", "seed=1"])
    assert rc == 2
    assert "different config (fields ['seed'])" in capsys.readouterr().err
    rc = cli_main([*quick_args(quick_run), "--set", "steps=500"])
    assert rc == 2
    assert "cannot be shortened" in capsys.readouterr().err
    assert tj.load_network(quick_run / "network.npz").fingerprint == before


def test_summary_and_cli_output_name_every_count(quick_run, capsys):
    """The final test MSE once per model, then the final counts with kind, method, domain."""
    rc = cli_main(quick_args(quick_run))
    assert rc == 0
    out = capsys.readouterr().out
    assert out.count("test MSE") == 2  # ternary and float, once each
    assert "activation regions, sampled: " in out and "among N = 4,000 points" in out
    assert "data box [-1, 1] x [-1, 1]" in out
    assert "activation / linear regions, exact" in out and "on the segment from" in out
    summary = json.loads((quick_run / "summary.json").read_text())
    final = summary["models"]["ternary"]["regions"]
    assert final["step"] == 600
    assert final["exact_plane"]["activation_regions"] >= final["sampled_box"]["distinct"]


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_damaged_latest_checkpoint_resumes_from_the_newest_intact_step(quick_run, tmp_path):
    """Step 600 damaged: the rerun warns naming 600 and 500, moves 600 aside, trains 500 ->
    600 again and ends with the same network (training is deterministic in (seed, step))."""
    run_dir = tmp_path / "copy"
    shutil.copytree(quick_run, run_dir)
    for f in (run_dir / "checkpoints" / "ternary" / "600" / "model").rglob("*"):
        if f.is_file() and f.parent.name == "d":
            f.write_bytes(f.read_bytes()[:10])
    cfg = load_config(run_dir / "config.yaml")
    said = []
    train_run(cfg, run_dir, progress=False, echo=said.append)
    warning = next(m for m in said if "damaged" in m)
    assert "step 600 is damaged" in warning and "resuming from step 500" in warning
    assert "[ternary] resuming from checkpoint step 500" in said
    assert (run_dir / "checkpoints" / "damaged" / "ternary-600" / "model").is_dir()
    assert tj.load_network(run_dir / "network.npz") == tj.load_network(quick_run / "network.npz")
    steps = sorted(int(s) for s in os.listdir(run_dir / "checkpoints" / "ternary") if s.isdigit())
    assert steps == [500, 600]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """KILL_CONFIG's config file, trained without interruption in this process."""
    tmp = tmp_path_factory.mktemp("kill")
    cfg_path = write_config(tmp / "kill.yaml", **KILL_CONFIG)
    train_run(load_config(cfg_path), tmp / "full", progress=False, echo=lambda m: None)
    return cfg_path, tmp / "full"


def _train_cmd(cfg_path, tmp_path):
    cmd = [sys.executable, "-m", "tern_jax.cli", "train", cfg_path, "--quiet", "--out"]
    # A shared persistent compilation cache spares the second process most compile time.
    env = dict(
        os.environ,
        JAX_COMPILATION_CACHE_DIR=str(tmp_path / "jax_cache"),
        JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
    )
    return cmd, env


def _signal_after_checkpoint(cmd, env, run_dir, sig, after=0):
    """Start the run; send ``sig`` as soon as a checkpoint of a step above ``after`` is on
    disk; return the exit code and the output."""
    log_path = run_dir.parent / f"{run_dir.name}.{sig}.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen([*cmd, str(run_dir)], stdout=log, stderr=subprocess.STDOUT, env=env)
        series = run_dir / "checkpoints" / "ternary"
        deadline = time.time() + 180
        while time.time() < deadline and proc.poll() is None:
            if series.is_dir() and any(s.isdigit() and int(s) > after for s in os.listdir(series)):
                break
            time.sleep(0.02)
        proc.send_signal(sig)
        proc.wait(timeout=180)
    return proc.returncode, log_path.read_text()


def _resumed_from(output):
    resumed = [ln for ln in output.splitlines() if "resuming from checkpoint step" in ln]
    assert resumed, output
    return int(resumed[0].rsplit(" ", 1)[1])


def test_kill_ctrl_c_and_resume_give_the_same_parameters(uninterrupted, tmp_path):
    """kill -9 after the first checkpoint; the same command resumes from it and is stopped by
    Ctrl-C (SIGINT: the step in progress ends, a checkpoint is saved there, one line, exit
    code 130); the same command again resumes from that step and ends with the parameters of
    an uninterrupted run."""
    cfg_path, full = uninterrupted
    cmd, env = _train_cmd(cfg_path, tmp_path)
    run_dir = tmp_path / "interrupted"
    # 1. killed as soon as the first checkpoint (step 200) is on disk
    rc, output = _signal_after_checkpoint(cmd, env, run_dir, signal.SIGKILL)
    assert rc == -signal.SIGKILL, f"the run ended (rc {rc}) before it was killed:\n{output}"
    assert (run_dir / ".lock").is_file()  # a kill leaves a stale lock: the rerun takes it over
    # 2. the same command resumes from step 200 and gets Ctrl-C after its next checkpoint
    rc, output = _signal_after_checkpoint(cmd, env, run_dir, signal.SIGINT, after=200)
    assert rc == 130, f"rc {rc}:\n{output}"
    assert _resumed_from(output) == 200 and "taking it over" in output
    assert output.strip().splitlines()[-1] == "interrupted; rerun the same command to resume"
    assert "Traceback" not in output
    assert not (run_dir / ".lock").exists()  # released on the way out
    saved = max(int(n) for n in os.listdir(run_dir / "checkpoints" / "ternary") if n.isdigit())
    assert 200 < saved < KILL_CONFIG["steps"], saved
    # 3. the same command again resumes from the step Ctrl-C saved, and finishes
    res = subprocess.run([*cmd, str(run_dir)], capture_output=True, text=True, timeout=240, env=env)
    assert res.returncode == 0, res.stderr[-2000:]
    assert _resumed_from(res.stdout) == saved
    step_a, pa = final_params(run_dir)
    step_b, pb = final_params(full)
    assert step_a == step_b == KILL_CONFIG["steps"]
    assert len(pa) == len(pb) > 0
    for a, b in zip(pa, pb):
        np.testing.assert_array_equal(a, b)
    assert tj.load_network(run_dir) == tj.load_network(full)

    # keep-last-2 plus the best test loss (exactly so for the uninterrupted run; the
    # interrupted one also had the Ctrl-C step among its candidates for the best)
    def losses_and_kept(d):
        with open(d / "history.csv") as fh:
            losses = {
                int(r["step"]): float(r["test_loss"])
                for r in csv.DictReader(fh)
                if r["model"] == "ternary" and r["test_loss"]
            }
        kept = {int(n) for n in os.listdir(d / "checkpoints" / "ternary") if n.isdigit()}
        return losses, kept

    losses, kept = losses_and_kept(full)
    assert sorted(losses) == [200, 400, 600, 800, 1000]
    assert kept == {800, 1000, min(losses, key=losses.get)}
    losses, kept = losses_and_kept(run_dir)
    assert sorted(losses) == [200, 400, 600, 800, 1000]
    assert {800, 1000} <= kept and len(kept) <= 3
    # the region series is complete and the same in both runs
    ra = json.loads((run_dir / "regions.json").read_text())["series"]
    rb = json.loads((full / "regions.json").read_text())["series"]
    assert [r["step"] for r in ra] == [0, 1000]
    strip = lambda rs: [{k: v for k, v in r.items() if k != "seconds"} for r in rs]  # noqa: E731
    assert strip(ra) == strip(rb)


def test_config_validation(tmp_path):
    cfg = load_config(QUICK)
    assert cfg.task == "sines2d" and cfg.architecture == "alternating"
    with pytest.raises(InvalidInput, match=r"unknown config fields \['depth'\]"):
        config_from_dict({"depth": 3})
    with pytest.raises(InvalidInput, match="task"):
        TrainConfig(task="mnist")
    with pytest.raises(InvalidInput, match="architecture"):
        TrainConfig(architecture="resnet")
    with pytest.raises(InvalidInput, match="widths"):
        TrainConfig(widths=(8, 0))
    with pytest.raises(WrongType, match="from_dict accepts lists"):
        TrainConfig(widths=[8, 8])  # the frozen dataclass takes the canonical tuple
    with pytest.raises(InvalidInput, match="learning_rate"):
        TrainConfig(learning_rate=0)
    with pytest.raises(InvalidInput, match="steps"):
        TrainConfig(steps=-5)
    with pytest.raises(InvalidInput, match="quantizer"):
        TrainConfig(quantizer=None)
    with pytest.raises(InvalidInput, match="quantiser rule"):
        TrainConfig(quantizer="binary")
    with pytest.raises(WrongType, match="twin"):
        TrainConfig(twin="yes")
    # from a file or --set every problem is invalid input, named by field
    with pytest.raises(InvalidInput, match="twin must be true or false"):
        config_from_dict({"twin": "yes"})
    with pytest.raises(InvalidInput, match=r"seed must be an integer >= 0 and < 2\^63"):
        config_from_dict({"seed": 2**64})
    assert config_from_dict({"widths": [8, 8], "quantizer": "twn"}).widths == (8, 8)
    assert config_from_dict({"learning_rate": 1}).learning_rate == 1.0
    bad = write_config(tmp_path / "bad.yaml", task="sines2d", stepz=3)
    assert cli_main(["train", bad, "--out", str(tmp_path / "r")]) == 2
    with pytest.raises(MissingFile):
        load_config(tmp_path / "missing.yaml")
    (tmp_path / "broken.yaml").write_text("task: [unclosed\n")
    with pytest.raises(InvalidInput, match="not valid YAML"):
        load_config(tmp_path / "broken.yaml")
    (tmp_path / "empty.yaml").write_text("# nothing here\n")
    with pytest.raises(InvalidInput, match="is empty"):
        load_config(tmp_path / "empty.yaml")
    (tmp_path / "all_defaults.yaml").write_text("{}\n")
    assert load_config(tmp_path / "all_defaults.yaml") == DEFAULTS


def test_bad_configs_fail_cleanly_before_any_work(tmp_path, capsys):
    """A seed of 2^64 or widths of a million: one line, exit code 2, no run directory."""
    for i, (fields, message) in enumerate(
        [
            ({"seed": 2**64}, "seed must be an integer"),
            ({"widths": [1_000_000, 1_000_000]}, "TiB"),
        ]
    ):
        path = write_config(tmp_path / f"c{i}.yaml", **fields)
        t0 = time.perf_counter()
        assert cli_main(["train", path, "--out", str(tmp_path / f"r{i}")]) == 2
        assert time.perf_counter() - t0 < 1.0
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
        assert not (tmp_path / f"r{i}").exists()
    with pytest.raises(TooLarge, match=r"1e\+12 parameters per model"):
        check_size(config_from_dict({"widths": [1_000_000, 1_000_000]}))
    assert check_size(DEFAULTS, limit=2**30) < 2**20  # the defaults need well under 1 MiB


def test_defaults_come_from_one_place():
    """TrainConfig's fields are the defaults; the YAML files list only what differs, and the
    trained-vs-constructed study builds its configs from the defaults plus overrides."""
    assert load_config(QUICK) == dataclasses.replace(
        DEFAULTS, name="quick", steps=1500, count_every=250
    )
    cdir = os.path.join(ROOT, "experiments", "configs")
    for name in sorted(f for f in os.listdir(cdir) if f.endswith(".yaml")):
        with open(os.path.join(cdir, name)) as fh:
            listed = yaml.safe_load(fh)
        resolved = load_config(os.path.join(cdir, name))
        restated = sorted(set(listed) - set(resolved.non_defaults()))
        assert not restated, f"{name} restates defaults: {restated}"
    sys.path.insert(0, os.path.join(ROOT, "experiments"))
    import trained_vs_constructed as study

    for setting, spec in study.SETTINGS.items():
        restated = [k for k, v in spec["overrides"].items() if DEFAULTS.to_json()[k] == v]
        assert not restated, f"study setting {setting} restates defaults: {restated}"
        arch, widths = spec["runs"][0]
        assert study.train_config(setting, arch, widths) == dataclasses.replace(
            DEFAULTS,
            **spec["overrides"],
            name=study.run_name(arch, widths),
            architecture=arch,
            widths=tuple(widths),
        )


def test_every_shipped_config_is_valid():
    cdir = os.path.join(ROOT, "experiments", "configs")
    names = sorted(f for f in os.listdir(cdir) if f.endswith(".yaml"))
    assert "quick.yaml" in names and "full.yaml" in names
    for name in names:
        load_config(os.path.join(cdir, name))


def test_tasks():
    for name in TASKS:
        t = make_task(name, 64, 32, seed=1)
        assert t.x_train.dtype == np.float32 and t.y_train.shape == (len(t.x_train), 1)
        assert np.all(t.x_train >= t.lo - 1e-6) and np.all(t.x_train <= t.hi + 1e-6)
        t2 = make_task(name, 64, 32, seed=1)
        np.testing.assert_array_equal(t.x_train, t2.x_train)
    saw = make_task("sawtooth1d", 8, 8)
    x = saw.x_train[:, 0].astype(np.float64)
    expected = np.interp(x, [0, 1 / 3, 2 / 3, 1], [-1, 1, -1, 1])  # zigzag, 3 pieces
    np.testing.assert_allclose(saw.y_train[:, 0], expected, atol=1e-5)
    d = make_task("diabetes", seed=0)
    assert d.input_dim == 10 and len(d.x_train) + len(d.x_test) == 442
    np.testing.assert_allclose(d.x_train.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(d.y_train.std(), 1, rtol=1e-4)
    with pytest.raises(ValueError, match="unknown task"):
        make_task("mnist")
    with pytest.raises(ValueError, match="n_train"):
        make_task("sines2d", n_train=0)


@pytest.mark.slow
@pytest.mark.parametrize(
    "config", ["quick.yaml", "all_relu.yaml", "diabetes.yaml", "sawtooth1d.yaml"]
)
def test_shipped_configs_train(tmp_path, config):
    """The shipped configs as they are: ternary model well below the constant predictor."""
    path = os.path.join(ROOT, "experiments", "configs", config)
    summary = train_run(
        load_config(path),
        tmp_path / "run",
        progress=False,
        echo=lambda m: None,
        plot=tj.plots.plot_region_series,
    )
    base = summary["constant_baseline_test_mse"]
    factor = 0.1 if config != "diabetes.yaml" else 0.7
    assert summary["models"]["ternary"]["test_mse"] < factor * base
    assert (tmp_path / "run" / "regions.png").is_file()
