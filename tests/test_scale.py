"""Scale-out: identical records across device counts, processes, and a kill and resume."""

from __future__ import annotations

import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import tern_jax as tj
from tern_jax.sampling.engine import _Stopped

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make_net():
    rng = np.random.default_rng(0)
    dims = [2, 80, 80, 1]  # 160 ReLU bits: the hashed key path
    ws = [rng.normal(size=(a, b)) for a, b in itertools.pairwise(dims)]
    bs = [rng.normal(size=b) for b in dims[1:]]
    return tj.ReLUNet.from_arrays(ws, bs, ["relu", "relu", "identity"])


DOMAIN = tj.Box(-1.0, 1.0)
N = 50_001
SEED = 4
# Subprocesses build the very same network from this module.
NET_CODE = f"""
import sys
sys.path.insert(0, {os.path.join(ROOT, "tests")!r})
import tern_jax as tj
from test_scale import make_net, DOMAIN, N, SEED
"""


def _env(devices: int | None = None) -> dict:
    env = dict(os.environ)
    env.pop("XLA_FLAGS", None)
    if devices:
        env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
    env["JAX_PLATFORMS"] = "cpu"
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _run_script(code: str, env: dict, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


@pytest.fixture(scope="module")
def reference():
    """The single-device, single-process record of this test network."""
    return tj.count_regions(make_net(), DOMAIN, N, seed=SEED, chunk_size=4096).figures()


def test_identical_across_1_2_8_devices(reference):
    code = (
        NET_CODE
        + """
import json, jax
assert len(jax.devices()) == 8, jax.devices()
out = {}
for k, chunk in ((1, 8192), (2, 4096), (8, 12288)):
    rec = tj.count_regions(make_net(), DOMAIN, N, seed=SEED, chunk_size=chunk,
                           devices=jax.devices()[:k])
    assert rec.execution["devices"] == k
    out[k] = rec.figures()
# An integer network takes the exact float32 lattice path, forced float64 the same lattice
# (x64 only around the step): the same record on 1 and 8 devices in both.
con = tj.constructions.ternary_alternating(2, [3])
for prec in ("auto", "float64"):
    tern = [tj.count_regions(con.net, tj.Box(0, 1), 30001, seed=1, precision=prec,
                             devices=jax.devices()[:k]) for k in (1, 8)]
    assert tern[0].arithmetic["exact"] and tern[0].distinct == 9
    # 9 linear regions, 8 distinct maps: cells (0, 2) and (2, 0) of the 3 x 3 grid share
    # f = 3 x1 + 3 x2 - 2 without touching.
    assert tern[0].affine_distinct == 8
    assert tern[0].figures() == tern[1].figures()
    assert tern[0].precision == ("float32" if prec == "auto" else "float64")
# Data points (an argument of the step, put on every device once): the same record on 1 and
# 8 devices, each the number of distinct patterns of the points (N = M).
import numpy as np
from tern_jax.forward import pattern_bits
pts = np.random.default_rng(3).uniform(-1, 1, size=(20000, 2))
net = make_net()
truth = np.unique(pattern_bits(list(zip(net.weights, net.biases)), net.activations, pts),
                  axis=0).shape[0]
recs = [tj.count_regions(net, tj.Points(pts), 20000, seed=0, chunk_size=4096,
                         devices=jax.devices()[:k]) for k in (1, 8)]
assert recs[0].distinct == truth > 1000, (recs[0].distinct, truth)
assert recs[0].figures() == recs[1].figures()
print("RESULT" + json.dumps(out))
"""
    )
    proc = _run_script(code, _env(devices=8))
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT"))
    out = json.loads(line[len("RESULT") :])
    ref = json.loads(json.dumps(reference))  # same JSON normalisation
    assert ref["distinct"] > 1000
    for k in ("1", "2", "8"):
        assert out[k] == ref, k


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_match_one(reference, tmp_path):
    port = _free_port()
    code = (
        NET_CODE
        + """
import json, sys, jax
from tern_jax.sampling.distributed import initialize
pid = int(sys.argv[1])
initialize("127.0.0.1:PORT", 2, pid)
assert jax.process_count() == 2
rec = tj.count_regions(make_net(), DOMAIN, N, seed=SEED, chunk_size=8192)
assert rec.execution["processes"] == 2
assert rec.execution["samples_this_run"] == N
print("RESULT" + json.dumps(rec.figures()))
""".replace("PORT", str(port))
    )
    script = tmp_path / "worker.py"
    script.write_text(textwrap.dedent(code))
    env = _env()
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(i)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for i in range(2)
    ]
    outs = []
    try:
        for p in procs:
            so, se = p.communicate(timeout=240)
            assert p.returncode == 0, se[-3000:]
            outs.append(so)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    ref = json.loads(json.dumps(reference))
    for so in outs:
        line = next(ln for ln in so.splitlines() if ln.startswith("RESULT"))
        assert json.loads(line[len("RESULT") :]) == ref


def test_resume_after_interruption_in_process(reference, tmp_path):
    state = str(tmp_path / "state")
    # Steps take 4 blocks (one compute tile) each: 13 blocks in 4 steps.
    kw = dict(seed=SEED, chunk_size=4096, state_dir=state, checkpoint_every=2)
    with pytest.raises(_Stopped):
        tj.count_regions(make_net(), DOMAIN, N, _stop_after_steps=3, **kw)
    assert os.listdir(state) == ["process-0-of-1.npz"]
    # A different chunk size on restart is fine: the state is kept in canonical blocks.
    rec = tj.count_regions(make_net(), DOMAIN, N, **{**kw, "chunk_size": 8 * 4096})
    assert rec.execution["resumed_from_block"] == 8  # last state: after 2 of 3 steps
    assert rec.execution["samples_this_run"] == N - 8 * 4096
    assert rec.figures() == reference
    # Finished state: the same command returns the same record without sampling again.
    again = tj.count_regions(make_net(), DOMAIN, N, **kw)
    assert again.execution["samples_this_run"] == 0
    assert again.figures() == reference
    # A different run must not pick up this state.
    with pytest.raises(ValueError, match="different run"):
        tj.count_regions(make_net(), DOMAIN, N, **{**kw, "seed": SEED + 1})


def test_kill_and_resume_cli(tmp_path):
    rng = np.random.default_rng(1)
    dims = [2, 64, 64, 64, 1]
    net = tj.ReLUNet.from_arrays(
        [rng.normal(size=(a, b)) for a, b in itertools.pairwise(dims)],
        [rng.normal(size=b) for b in dims[1:]],
        ["relu", "relu", "relu", "identity"],
    )
    path = str(tmp_path / "net.npz")
    tj.save_network(net, path)
    n = 4096 * 600
    state = tmp_path / "state"
    cmd = [
        sys.executable, "-m", "tern_jax.cli", "count", path, "--samples", str(n),
        "--domain", "box:-2,2", "--seed", "7", "--chunk-size", "4096", "--resume", str(state),
        "--checkpoint-every", "4", "--json",
    ]  # fmt: skip
    env = _env()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    state_file = state / "process-0-of-1.npz"
    deadline = time.time() + 120
    while not state_file.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    with np.load(state_file) as data:
        saved = int(data["next_block"])
    assert 0 < saved < 600  # it really stopped midway
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    resumed = json.loads(done.stdout)
    assert resumed["execution"]["resumed_from_block"] >= saved
    fresh = tj.count_regions(net, tj.Box(-2.0, 2.0), n, seed=7)
    expect = json.loads(json.dumps(fresh.figures()))
    for k in ("seconds", "throughput", "execution"):
        resumed.pop(k)
    assert resumed == expect


def test_sketch_against_exact_count():
    net = make_net()
    exact = tj.count_regions(net, DOMAIN, N, seed=SEED)
    assert exact.sketch is None
    budget = exact.distinct // 6
    sk = tj.count_regions(net, DOMAIN, N, seed=SEED, max_table_rows=budget, chunk_size=4096)
    assert sk.sketch is not None and sk.sketch["level"] >= 3
    assert sk.sketch["kept_patterns"] <= budget
    assert any("hash-sampled" in w for w in sk.warnings)
    rel = sk.sketch["relative_std_error"]
    assert abs(sk.distinct - exact.distinct) <= 4 * rel * exact.distinct
    lo, hi = sk.sketch["distinct_95ci"]
    assert lo <= exact.distinct <= hi
    # Deterministic whatever the chunking: the level is the smallest that fits.
    sk2 = tj.count_regions(net, DOMAIN, N, seed=SEED, max_table_rows=budget, chunk_size=16384)
    assert sk2.figures() == sk.figures()
