from fractions import Fraction

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tern_jax as tj


def example_35() -> tj.ReLUNet:
    """math.md 3.5, written out by hand: the ternary alternating network computing Z_3."""
    rows = [[1, 1, 1, 0, 0, 0], [1, 1, 0, 1, 0, 0], [1, 1, 0, 1, 0, 0]]
    rows += [[1, 0, 0, 1, 1, 0], [1, 0, 0, 1, 1, 0]]
    return tj.ReLUNet.from_arrays(
        [np.ones((1, 6)), np.array(rows).T, np.array([[1, -1, -1, 1, 1]]).T],
        [np.array([0, 0, 0, -1, -1, -1]), np.zeros(5), np.zeros(1)],
        ["identity", "relu", "identity"],
    )


def zigzag3(x: Fraction) -> Fraction:
    """Z_3 from its closed form (math.md section 3): sigma(3x) - 2 sigma(3x-1) + 2 sigma(3x-2)."""
    s = lambda t: max(t, Fraction(0))  # noqa: E731
    return s(3 * x) - 2 * s(3 * x - 1) + 2 * s(3 * x - 2)


def test_example_35_values_exact():
    net = example_35()
    assert net.is_ternary()
    assert net.input_dim == 1 and net.widths == (6, 5) and net.num_relu_units == 5
    xs = [Fraction(0), Fraction(1, 6), Fraction(1, 3), Fraction(1, 2), Fraction(2, 3), Fraction(1)]
    expected = [zigzag3(x) for x in xs]
    assert expected == [0, Fraction(1, 2), 1, Fraction(1, 2), 0, 1]
    # float64 evaluation: the network's arithmetic on these points is exact up to the
    # rounding of the inputs themselves, so compare in float64 with numpy.
    x64 = np.array([float(x) for x in xs])[:, None]
    h = x64 @ net.weights[0] + net.biases[0]
    h = np.maximum(h @ net.weights[1] + net.biases[1], 0)
    y = (h @ net.weights[2] + net.biases[2])[:, 0]
    np.testing.assert_allclose(y, [float(e) for e in expected], rtol=0, atol=1e-15)
    # and the JAX forward pass agrees
    y32 = np.asarray(net(jnp.asarray(x64, jnp.float32)))[:, 0]
    np.testing.assert_allclose(y32, [float(e) for e in expected], atol=1e-6)


def test_patterns_active_iff_positive():
    net = example_35()
    # at x = 1/3, sigma(3x - 1) has pre-activation 0: inactive by convention
    x = jnp.asarray([[0.0], [0.5], [1.0]], jnp.float32)
    pats = np.asarray(net.patterns(x))
    np.testing.assert_array_equal(pats[0], [0, 0, 0, 0, 0])
    np.testing.assert_array_equal(pats[1], [1, 1, 1, 0, 0])
    np.testing.assert_array_equal(pats[2], [1, 1, 1, 1, 1])


def test_jit_and_pytree():
    net = example_35()
    leaves, _ = jax.tree.flatten(net)
    assert len(leaves) == 6
    f = jax.jit(lambda n, x: n(x))
    x = jnp.linspace(0, 1, 7)[:, None]
    np.testing.assert_allclose(np.asarray(f(net, x)), np.asarray(net(x)), atol=1e-6)
    g = jax.jit(lambda n, x: n.patterns(x))
    np.testing.assert_array_equal(np.asarray(g(net, x)), np.asarray(net.patterns(x)))


def test_fingerprint_stable_and_sensitive():
    a, b = example_35(), example_35()
    assert a.fingerprint == b.fingerprint and len(a.fingerprint) == 16
    w = [np.array(x) for x in a.weights]
    w[1][0, 0] = 0
    c = tj.ReLUNet.from_arrays(w, a.biases, a.activations)
    assert c.fingerprint != a.fingerprint
    assert not (c == a)
    # -0.0 and 0.0 are the same network
    bz = [np.array(x) for x in a.biases]
    bz[1][:] = -0.0
    assert tj.ReLUNet.from_arrays(a.weights, bz, a.activations).fingerprint == a.fingerprint


@pytest.mark.parametrize(
    "weights, biases, acts, message",
    [
        (
            [np.ones((2, 3)), np.ones((4, 1))],
            [np.zeros(3), np.zeros(1)],
            ["relu", "identity"],
            "do not chain",
        ),
        (
            [np.ones((2, 3)), np.ones((3, 1))],
            [np.zeros(3), np.zeros(1)],
            ["relu", "relu"],
            "output layer",
        ),
        (
            [np.ones((2, 3)), np.ones((3, 1))],
            [np.zeros(3), np.zeros(1)],
            ["tanh", "identity"],
            "unknown activation",
        ),
        (
            [np.ones((2, 3)), np.ones((3, 1))],
            [np.zeros(2), np.zeros(1)],
            ["relu", "identity"],
            "bias length",
        ),
        (
            [np.full((2, 3), np.nan), np.ones((3, 1))],
            [np.zeros(3), np.zeros(1)],
            ["relu", "identity"],
            "NaN",
        ),
        (
            [np.ones((2, 3)), np.ones((3, 1))],
            [np.array([0, np.inf, 0]), np.zeros(1)],
            ["relu", "identity"],
            "infinite",
        ),
        ([np.ones(3), np.ones((3, 1))], [np.zeros(3), np.zeros(1)], ["relu", "identity"], "2-D"),
        ([], [], [], "at least one layer"),
        ([np.ones((2, 3))], [np.zeros(3), np.zeros(1)], ["identity"], "one entry per layer"),
    ],
)
def test_from_arrays_rejects(weights, biases, acts, message):
    with pytest.raises(ValueError, match=message):
        tj.ReLUNet.from_arrays(weights, biases, acts)


def test_error_names_the_layer():
    with pytest.raises(ValueError, match="layer 1"):
        tj.ReLUNet.from_arrays(
            [np.ones((2, 3)), np.ones((4, 1))], [np.zeros(3), np.zeros(1)], ["relu", "identity"]
        )


def test_input_shape_checked():
    net = example_35()
    with pytest.raises(ValueError, match=r"\(N, 1\)"):
        net(jnp.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"\(N, 1\)"):
        net.patterns(jnp.zeros(4))


def test_is_ternary_false_for_scaled():
    net = example_35()
    w = [np.array(x) * 0.5 for x in net.weights]
    scaled = tj.ReLUNet.from_arrays(w, net.biases, net.activations)
    assert not scaled.is_ternary()
    assert not scaled.is_integer()
    assert net.is_integer()


def test_immutable():
    net = example_35()
    with pytest.raises(AttributeError):
        net.foo = 1
    with pytest.raises(ValueError):
        net.weights[0][0, 0] = 5.0


def test_save_load_roundtrip(tmp_path):
    net = example_35()
    p = tj.save_network(net, tmp_path / "n.npz", metadata={"source": "test"})
    back = tj.load_network(p)
    assert back.fingerprint == net.fingerprint
    assert back.activations == net.activations
    with np.load(p) as data:
        assert data["W0"].dtype == np.int8  # ternary stored as codes
    assert tj.netfile.read_network_metadata(p) == {"source": "test"}
    # a directory holding network.npz loads that file
    tj.save_network(net, tmp_path / "run" / "network.npz")
    assert tj.load_network(tmp_path / "run").fingerprint == net.fingerprint


def test_save_load_real_network(tmp_path):
    rng = np.random.default_rng(0)
    net = tj.ReLUNet.from_arrays(
        [rng.normal(size=(3, 5)), rng.normal(size=(5, 2))],
        [rng.normal(size=5), rng.normal(size=2)],
        ["relu", "identity"],
    )
    back = tj.load_network(tj.save_network(net, tmp_path / "r.npz"))
    for a, b in zip(net.weights, back.weights):
        np.testing.assert_array_equal(a, b)
    assert back.fingerprint == net.fingerprint


def _rewrite(path, sign=True, **changes):
    """Edit entries of a network file; ``sign`` recomputes its SHA-256 entry, as an editor
    that knows the format would, so the check under test is the one that fires."""
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    arrays.update(changes)
    arrays = {k: v for k, v in arrays.items() if v is not None}
    if sign:
        arrays.pop("sha256", None)
        arrays["sha256"] = np.array(tj.netfile.arrays_sha256(arrays))
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)


def test_load_rejects_non_ternary_codes(tmp_path):
    p = tj.save_network(example_35(), tmp_path / "n.npz")
    w = np.ones((6, 5), np.int8)
    w[2, 3] = 2
    _rewrite(p, W1=w)
    with pytest.raises(ValueError, match="declared ternary"):
        tj.load_network(p)


def test_load_rejects_shapes_that_do_not_chain(tmp_path):
    p = tj.save_network(example_35(), tmp_path / "n.npz")
    _rewrite(p, W1=np.ones((4, 5), np.int8))
    with pytest.raises(ValueError, match="do not chain"):
        tj.load_network(p)


def test_load_rejects_edited_parameters(tmp_path):
    p = tj.save_network(example_35(), tmp_path / "n.npz")
    _rewrite(p, b2=np.ones(1, np.int8))
    with pytest.raises(ValueError, match="fingerprint"):
        tj.load_network(p)


def test_load_rejects_unsigned_edits_and_a_missing_fingerprint(tmp_path):
    p = tj.save_network(example_35(), tmp_path / "n.npz", metadata={"source": "test"})
    _rewrite(p, sign=False, metadata=np.array('{"source": "edited"}'))
    with pytest.raises(tj.DamagedFile, match="SHA-256"):
        tj.load_network(p)
    with pytest.raises(tj.DamagedFile, match="SHA-256"):
        tj.netfile.read_network_metadata(p)
    p = tj.save_network(example_35(), tmp_path / "m.npz")
    _rewrite(p, fingerprint=None)  # re-signed, but the fingerprint is mandatory
    with pytest.raises(tj.DamagedFile, match="fingerprint"):
        tj.load_network(p)


def test_version_1_files_still_load(tmp_path):
    p = tj.save_network(example_35(), tmp_path / "n.npz")
    _rewrite(p, sign=False, sha256=None, format_version=np.array(1))
    assert tj.load_network(p).fingerprint == example_35().fingerprint


def test_load_rejects_truncated_and_garbage(tmp_path):
    p = tj.save_network(example_35(), tmp_path / "n.npz")
    raw = open(p, "rb").read()
    t = tmp_path / "t.npz"
    t.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="network file"):
        tj.load_network(t)
    g = tmp_path / "g.npz"
    g.write_bytes(b"not a zip at all")
    with pytest.raises(ValueError, match="network file"):
        tj.load_network(g)
    with pytest.raises(FileNotFoundError):
        tj.load_network(tmp_path / "missing.npz")


def test_load_rejects_missing_layer(tmp_path):
    p = tj.save_network(example_35(), tmp_path / "n.npz")
    _rewrite(
        p,
        num_layers=np.array(4),
        activations=np.array(["identity", "relu", "identity", "identity"]),
    )
    with pytest.raises(ValueError, match="missing array"):
        tj.load_network(p)
