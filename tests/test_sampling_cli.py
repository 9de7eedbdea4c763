"""`tern-jax count`: output contract, domain strings, errors, bounded memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import tern_jax as tj
from tern_jax.cli import main
from tern_jax.domains import parse_domain

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def net_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("nets") / "net.npz"
    tj.save_network(tj.constructions.ternary_alternating(2, [3]).net, path)
    return str(path)


def test_json_record(net_file, capsys):
    rc = main(["count", net_file, "--samples", "2e4", "--seed", "3", "--json"])
    assert rc == 0
    out = capsys.readouterr()
    d = json.loads(out.out)
    for key in (
        "n_samples", "distinct", "freq_of_freq", "coverage", "chao1", "chao1_ci", "saturated",
        "collision_probability", "seconds", "throughput", "fingerprint", "domain", "seed",
        "package_version", "key_kind", "warnings", "kind", "method", "precision",
    ):  # fmt: skip
        assert key in d, key
    assert d["n_samples"] == 20000 and d["seed"] == 3
    assert d["distinct"] == 9  # math.md section 4: 3.2, n0 = 2, p = [3] on the unit square
    assert d["domain"] == {"type": "box", "lo": [0.0, 0.0], "hi": [1.0, 1.0], "law": "uniform"}
    assert d["kind"].startswith("activation regions") and d["method"] == "sampled"
    assert "it/s" not in out.err and "samples/s" not in out.err  # no progress bar off a tty
    assert d["execution"]["dedupe"] == "slots"  # the CPU default
    args = ["count", net_file, "--samples", "2e4", "--seed", "3", "--json", "--dedupe", "sort"]
    assert main(args) == 0
    other = json.loads(capsys.readouterr().out)
    assert other["execution"]["dedupe"] == "sort"
    assert (other["distinct"], other["freq_of_freq"]) == (d["distinct"], d["freq_of_freq"])


def test_summary_text(net_file, capsys):
    assert main(["count", net_file, "-n", "5000", "--domain", "gaussian:0.5,0.2"]) == 0
    text = capsys.readouterr().out
    assert "activation regions found (sampled" in text
    assert "gaussian" in text and "chao1" in text


def test_domain_strings(tmp_path):
    b = parse_domain("box:-1,2")
    assert (b.lo, b.hi) == (-1.0, 2.0)
    b = parse_domain("box:0,-1;1,1").resolve(2)
    assert b.description["lo"] == [0.0, -1.0] and b.description["hi"] == [1.0, 1.0]
    g = parse_domain("gaussian").resolve(3)
    assert g.description["mean"] == [0.0] * 3
    p = parse_domain("plane:0,0;1,0;0,1;-1,1,-2,2").resolve(2)
    assert p.description["bounds"] == [-1.0, 1.0, -2.0, 2.0]
    s = parse_domain("segment:0,0;1,1").resolve(2)
    assert s.description["end"] == [1.0, 1.0]
    np.save(tmp_path / "x.npy", np.zeros((5, 2)))
    pts = parse_domain(f"points:{tmp_path / 'x.npy'},0.25").resolve(2)
    assert pts.description["radius"] == 0.25 and pts.description["num_points"] == 5
    for bad in ("cube:0,1", "box:0,1,2", "plane:0,0;1,0", "segment:0,0", "box:a,b"):
        with pytest.raises(ValueError):
            parse_domain(bad)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--samples", "0"], "must be > 0"),
        (["--samples", "1.5"], "not a whole number"),
        (["--samples", "10", "--domain", "box:0,0,0;1,1,1"], "input dimension is 2"),
        (["--samples", "10", "--domain", "points:/nonexistent.npy"], "no file"),
        (["--samples", "10", "--chunk-size", "100"], "multiple of 4096"),
    ],
)
def test_errors_are_one_line(net_file, capsys, args, message):
    try:
        rc = main(["count", net_file, *args])
    except SystemExit as e:  # argparse rejects bad --samples itself
        rc = e.code
    assert rc == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_ten_million_samples_in_bounded_memory(tmp_path):
    # Peak memory of 10^7 samples must match that of 10^6 (plus noise): the table holds
    # 256 patterns, never the samples.
    net = tmp_path / "net.npz"
    tj.save_network(tj.constructions.ternary_alternating(2, [4, 4]).net, net)
    code = (
        "import resource, sys, json; from tern_jax.cli import main; "
        "rc = main(['count', sys.argv[1], '--samples', sys.argv[2], '--json']); "
        "print('RSS', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    env = dict(os.environ, PYTHONPATH=ROOT, JAX_PLATFORMS="cpu")
    env.pop("XLA_FLAGS", None)
    rss, recs = {}, {}
    for n in ("1e6", "1e7"):
        proc = subprocess.run(
            [sys.executable, "-c", code, str(net), n],
            capture_output=True, text=True, env=env, timeout=300,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-2000:]
        lines = proc.stdout.strip().splitlines()
        recs[n] = json.loads(lines[0])
        rss[n] = int(lines[1].split()[1])  # KiB
    assert recs["1e7"]["n_samples"] == 10_000_000
    assert recs["1e7"]["distinct"] == 256  # math.md: 3.2, n0 = 2, p = [4, 4] -> 4^4
    assert recs["1e7"]["sketch"] is None
    assert rss["1e7"] < rss["1e6"] + 64 * 1024
