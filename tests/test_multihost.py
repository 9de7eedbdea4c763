"""Several processes through the CLI: one JSON object on stdout, unequal shares on resume,
a lost peer (interrupted, killed) ends the survivor with exit code 75 and a saved state."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from test_scale import SEED, _env, _free_port, make_net

import tern_jax as tj
from tern_jax.errors import InvalidInput, PeerLost
from tern_jax.sampling import device as dev
from tern_jax.sampling import distributed
from tern_jax.sampling.record import RUN_FIELDS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
N = 4096 * 400  # 200 blocks a process, saved every 2 steps: long enough to be caught
DOMAIN = "box:-1,1"


@pytest.fixture(scope="module")
def net_path(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("mh") / "net.npz")
    tj.save_network(make_net(), path)
    return path


@pytest.fixture(scope="module")
def reference(net_path):
    rec = tj.count_regions(tj.load_network(net_path), tj.Box(-1.0, 1.0), N, seed=SEED)
    return json.loads(json.dumps(rec.figures()))


def _start(net_path, port, extra=(), seeds=(SEED, SEED)):
    procs = []
    for i in range(2):
        cmd = [
            sys.executable, "-m", "tern_jax.cli", "count", net_path, "--samples", str(N),
            "--domain", DOMAIN, "--seed", str(seeds[i]), "--chunk-size", "4096", "--json",
            "--distributed", "--coordinator", f"127.0.0.1:{port}", "--num-processes", "2",
            "--process-id", str(i), *extra,
        ]  # fmt: skip
        procs.append(
            subprocess.Popen(
                cmd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT
            )
        )
    return procs


def _finish(procs, timeout=240):
    outs = []
    try:
        for p in procs:
            so, se = p.communicate(timeout=timeout)
            outs.append((p.returncode, so, se))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    return outs


def _wait_for(path, procs, timeout=120):
    t0 = time.time()
    while not os.path.exists(path):
        assert time.time() - t0 < timeout, "no state was written"
        assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
        time.sleep(0.02)


def test_json_stays_one_object_and_matches_one_process(net_path, reference):
    (rc0, out0, err0), (rc1, out1, err1) = _finish(_start(net_path, _free_port()))
    assert (rc0, rc1) == (0, 0), err0[-2000:] + err1[-2000:]
    record = json.loads(out0)  # the whole of stdout: one JSON object, no runtime chatter
    assert out1 == ""  # every process holds the record; process 0 prints it
    assert record["execution"]["processes"] == 2
    assert _figures(record) == reference


def _figures(record: dict) -> dict:
    return {k: v for k, v in record.items() if k not in RUN_FIELDS}


def test_processes_of_different_runs_refuse_to_merge(net_path):
    outs = _finish(_start(net_path, _free_port(), seeds=(SEED, SEED + 1)))
    for rc, out, err in outs:
        assert rc == 2, err[-2000:]
        assert "counting a different run" in err
        assert out == ""


def test_lost_peers_end_the_survivor_with_75_and_the_rerun_completes(net_path, reference, tmp_path):
    state = tmp_path / "state"
    extra = ["--resume", str(state), "--checkpoint-every", "2", "--peer-timeout", "3"]
    # 1. Process 1 interrupted (Ctrl-C): it says so at once, process 0 ends with 75.
    procs = _start(net_path, _free_port(), extra)
    _wait_for(state / "process-1-of-2.npz", procs)
    procs[1].send_signal(signal.SIGINT)
    (rc0, out0, err0), (rc1, _, err1) = _finish(procs)
    assert rc1 == 130, err1[-2000:]
    assert rc0 == 75, err0[-2000:]
    assert "process 1 of 2 stopped (interrupted" in err0
    assert "rerun the same command on every process to resume" in err0
    assert out0 == ""
    # 2. Rerun; process 1 killed outright: no word from it, process 0 ends with 75 once it
    # has waited --peer-timeout seconds, its share saved.
    before = os.path.getmtime(state / "process-1-of-2.npz")
    procs = _start(net_path, _free_port(), extra)
    while os.path.getmtime(state / "process-1-of-2.npz") == before:
        assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
        time.sleep(0.02)
    procs[1].kill()
    (rc0, out0, err0), (rc1, _, _) = _finish(procs)
    assert rc1 == -signal.SIGKILL
    assert rc0 == 75, err0[-2000:]
    assert "process 1 of 2 sent no heartbeat for 3 s" in err0
    assert "process-0-of-2.npz" in err0
    # 3. Rerun: process 0 has nothing left and waits while process 1 finishes its share.
    (rc0, out0, err0), (rc1, _, err1) = _finish(_start(net_path, _free_port(), extra))
    assert (rc0, rc1) == (0, 0), err0[-2000:] + err1[-2000:]
    record = json.loads(out0)
    assert record["execution"]["resumed_from_block"] == N // dev.BLOCK // 2  # its share's end
    assert record["execution"]["samples_this_run"] < N // 2
    assert _figures(record) == reference


def test_initialize_checks_the_peer_timeout():
    for bad in (0, -1.0, float("inf"), "60", True):
        with pytest.raises(InvalidInput, match="peer_timeout_s"):
            distributed.initialize("127.0.0.1:1", 2, 0, peer_timeout_s=bad)


def test_runtime_chatter_on_stdout_goes_to_stderr(capfd):
    with distributed.stdout_to_stderr():
        os.write(1, b"[Gloo] Rank 0 is connected\n")
    print("ours")
    out, err = capfd.readouterr()
    assert out == "ours\n"
    assert "[Gloo] Rank 0" in err


def test_peer_lost_has_its_own_exit_code():
    assert PeerLost.exit_code == 75 and InvalidInput.exit_code == 2
    assert issubclass(PeerLost, tj.errors.TernJaxError)
