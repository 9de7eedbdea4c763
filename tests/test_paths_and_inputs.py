"""A first hour's rough edges: relative paths work like absolute ones, and numpy inputs of
any dtype give the patterns a float64 reference gives."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import tern_jax as tj
from tern_jax.cli import main


@pytest.fixture
def net_file(tmp_path, monkeypatch):
    """A saved 2-input construction; the working directory is its folder."""
    net = tj.constructions.ternary_alternating(2, [2, 2]).net
    (tmp_path / "nets").mkdir()
    tj.save_network(net, tmp_path / "nets" / "net.npz")
    monkeypatch.chdir(tmp_path)
    return net, "nets/net.npz", str(tmp_path / "nets" / "net.npz")


def _cli_json(argv, capsys) -> dict:
    assert main(argv) == 0
    record = json.loads(capsys.readouterr().out)
    # timings and the path as given are the only fields allowed to differ
    for key in ("seconds", "throughput", "execution", "source", "path", "net"):
        record.pop(key, None)
    return record


def test_load_network_relative_equals_absolute(net_file):
    net, rel, absolute = net_file
    assert not os.path.isabs(rel)
    assert tj.load_network(rel) == tj.load_network(absolute) == net
    # a run directory given relatively (holding network.npz)
    os.makedirs("run")
    tj.save_network(net, os.path.join("run", "network.npz"))
    assert tj.load_network("run") == net


def test_count_relative_equals_absolute(net_file, capsys):
    _, rel, absolute = net_file
    argv = ["--samples", "4096", "--domain", "box:0,1", "--json", "--quiet"]
    a = _cli_json(["count", rel, *argv], capsys)
    b = _cli_json(["count", absolute, *argv], capsys)
    assert a == b and a["distinct"] == 16


def test_exact_relative_equals_absolute(net_file, capsys):
    _, rel, absolute = net_file
    argv = ["--plane", "0,0;1,0;0,1", "--bounds", "0,1,0,1", "--json"]
    a = _cli_json(["exact", rel, *argv], capsys)
    b = _cli_json(["exact", absolute, *argv], capsys)
    assert a == b
    assert (a["activation_regions"], a["linear_regions"]) == (16, 16)


def _reference_patterns(net: tj.ReLUNet, x) -> np.ndarray:
    """Activation patterns in float64 numpy, written out here (active iff > 0)."""
    h = np.asarray(x, dtype=np.float64)
    bits = []
    for w, b, act in zip(net.weights[:-1], net.biases[:-1], net.activations[:-1]):
        z = h @ np.asarray(w, np.float64) + np.asarray(b, np.float64)
        if act == "relu":
            bits.append(z > 0)
            z = np.maximum(z, 0)
        h = z
    return np.concatenate(bits, axis=1)


def _half_weight_net() -> tj.ReLUNet:
    """Weights 0.5 and a bias that cancels in float64 but not after rounding to float32 or
    casting the weights to an integer dtype."""
    return tj.ReLUNet.from_arrays(
        [np.array([[0.5, 1.0, -0.5]]), np.array([[1.0, -1.0, 1.0]]).T, np.ones((1, 1))],
        [np.array([-0.5, 1e-9, 0.25]), np.array([0.0]), np.zeros(1)],
        ["relu", "relu", "identity"],
    )


@pytest.mark.parametrize("dtype", [np.float64, np.int64, np.int32, np.int8])
def test_patterns_of_numpy_inputs_match_float64_reference(dtype):
    net = _half_weight_net()
    x = np.array([[-3], [-1], [0], [1], [2], [3]]).astype(dtype)
    got = np.asarray(net.patterns(x))
    expected = _reference_patterns(net, x)
    np.testing.assert_array_equal(got, expected)
    # the weight 0.5 matters: x = 1 activates 0.5 x - 0.5 > 0 only for x > 1
    assert not expected[3, 0] and expected[4, 0]
    y = np.asarray(net(x))
    assert y.dtype == np.float64


def test_patterns_float64_not_rounded_to_float32():
    # 1 + 2^-30 - 1 > 0 in float64, == 0 in float32: the pattern must be float64's.
    net = tj.ReLUNet.from_arrays(
        [np.ones((1, 1)), np.ones((1, 1))], [np.array([-1.0]), np.zeros(1)], ["relu", "identity"]
    )
    x = np.array([[1.0 + 2.0**-30], [1.0]])
    np.testing.assert_array_equal(np.asarray(net.patterns(x)), [[True], [False]])
    np.testing.assert_array_equal(np.asarray(net.patterns(x)), _reference_patterns(net, x))
