"""Orbax checkpoints, code exports and network files of models, including damaged files."""

from __future__ import annotations

import glob
import json
import os
import shutil

import jax
import numpy as np
import pytest
from flax import nnx

import tern_jax as tj
from tern_jax import checkpoint as ck
from tern_jax.errors import DamagedFile, MissingFile
from tern_jax.models import MLP, AlternatingMLP, CodeMLP
from tern_jax.quantize import Quantizer


def _model(q="twn", arch="alternating", qbias=True, seed=1):
    m = AlternatingMLP(2, [6, 5, 6, 5], arch, q, quantize_bias=qbias, rngs=nnx.Rngs(seed))
    for i, layer in enumerate(m.layers):
        layer.bias[...] = 0.3 * jax.random.normal(jax.random.key(10 + i), layer.bias.shape)
    return m


def _params(model):
    return [np.asarray(a) for a in jax.tree_util.tree_leaves(nnx.state(model))]


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    d = tmp_path_factory.mktemp("ck")
    m = _model()
    path = ck.save_model(m, d / "model", {"step": 7, "note": "hello"})
    return m, path, d


@pytest.mark.parametrize(
    "make",
    [
        lambda: _model("absmean", "all_relu"),
        lambda: _model(Quantizer("absmean", per_channel=True), qbias=False),
        lambda: MLP(3, [4, 4], "all_relu", rngs=nnx.Rngs(3)),
        # frozen integer codes (a construction)
        lambda: AlternatingMLP.from_network(tj.constructions.ternary_alternating(2, [2]).net),
    ],
)
def test_model_round_trip(tmp_path, make):
    m = make()
    path = ck.save_model(m, tmp_path / "c")
    m2, meta = ck.load_model(path)
    assert type(m2) is type(m) and m2.config() == m.config()
    for a, b in zip(_params(m), _params(m2)):
        np.testing.assert_array_equal(a, b)
    assert m2.to_network() == m.to_network()
    assert meta["package_version"] == tj.__version__
    assert meta["network_fingerprint"] == m.to_network().fingerprint


def test_metadata_and_load_network(saved):
    m, path, _ = saved
    meta = ck.read_metadata(path)
    assert meta["model"]["quantizer"] == {"rule": "twn", "threshold": 0.7, "per_channel": False}
    assert meta["model"]["architecture"] == "alternating" and meta["model"]["widths"] == [
        6,
        5,
        6,
        5,
    ]
    assert meta["step"] == 7 and meta["note"] == "hello"
    # tj.load_network accepts a checkpoint directory (the contract's NET)
    assert tj.load_network(path) == m.to_network()


def test_manager_layout_picks_latest_step(tmp_path):
    a, b = _model(seed=1), _model(seed=2)
    ck.save_model(a, tmp_path / "series" / "10")
    ck.save_model(b, tmp_path / "series" / "20")
    os.makedirs(tmp_path / "series" / "30.orbax-checkpoint-tmp-123")  # unfinished save
    assert ck.network_from_checkpoint(tmp_path / "series") == b.to_network()
    assert ck.network_from_checkpoint(tmp_path / "series", step=10) == a.to_network()
    with pytest.raises(ValueError, match="no checkpoint for step 5"):
        ck.network_from_checkpoint(tmp_path / "series", step=5)
    # a run directory with checkpoints/ternary and checkpoints/float must name one
    run = tmp_path / "run"
    shutil.copytree(tmp_path / "series", run / "checkpoints" / "ternary")
    shutil.copytree(tmp_path / "series", run / "checkpoints" / "float")
    with pytest.raises(ValueError, match="several checkpoint series"):
        ck.resolve_checkpoint(run)
    assert tj.load_network(run / "checkpoints" / "ternary") == b.to_network()


def _damage(path, pattern, how):
    files = [f for f in glob.glob(os.path.join(path, pattern), recursive=True) if os.path.isfile(f)]
    assert files, pattern
    for f in files:
        with open(f, "rb") as fh:
            data = bytearray(fh.read())
        if how == "truncate":
            data = data[: len(data) // 2]
        elif how == "flip":
            for i in range(len(data) // 3, min(len(data), len(data) // 3 + 16)):
                data[i] ^= 0xFF
        elif how == "delete":
            os.remove(f)
            continue
        with open(f, "wb") as fh:
            fh.write(data)


# orbax's I/O threads may report into a closed event loop after a failed read: noise only.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize(
    "pattern,how",
    [
        ("model/d/*", "truncate"),
        ("model/d/*", "flip"),
        ("model/manifest.ocdbt", "truncate"),
        ("model/_METADATA", "truncate"),
        ("metadata/metadata", "truncate"),
        ("metadata/metadata", "delete"),
        ("model/**", "delete"),
    ],
)
def test_damaged_checkpoint_is_rejected(saved, tmp_path, pattern, how):
    _, path, _ = saved
    bad = tmp_path / "bad"
    shutil.copytree(path, bad)
    _damage(str(bad), pattern, how)
    with pytest.raises(ValueError, match="checkpoint"):
        ck.load_model(bad)


def test_edited_parameters_are_detected(saved, tmp_path):
    """A checkpoint whose stored state no longer matches its metadata never loads."""
    _, path, _ = saved
    other = _model(seed=5)
    bad = tmp_path / "edited"
    ck.save_model(other, bad)
    shutil.rmtree(bad / "metadata")
    shutil.copytree(os.path.join(path, "metadata"), bad / "metadata")  # m's record, other's data
    with pytest.raises(ValueError, match="SHA-256"):
        ck.load_model(bad)


def test_save_refuses_to_overwrite(saved):
    m, path, _ = saved
    with pytest.raises(ValueError, match="already exists"):
        ck.save_model(m, path)


def test_not_a_checkpoint(tmp_path):
    with pytest.raises(ValueError, match="not a tern_jax checkpoint"):
        ck.load_model(tmp_path)
    with pytest.raises(FileNotFoundError):
        ck.load_model(tmp_path / "missing")


def test_code_export_round_trip(tmp_path):
    m = _model("absmean")
    path = ck.export_codes(m, tmp_path / "codes.npz", {"step": 3})
    with np.load(path) as data:
        codes = [data[k] for k in data.files if k.startswith("W")]
        assert all(c.dtype == np.int8 and set(np.unique(c)) <= {-1, 0, 1} for c in codes)
        assert not [k for k in data.files if k.startswith("Wf")]  # no float shadow weights
        assert all(data[f"bc{i}"].dtype == np.int8 for i in range(5))
    ex = ck.load_codes(path)
    assert ex.quantizer == {"rule": "absmean", "threshold": 0.5, "per_channel": False}
    assert ex.metadata["step"] == 3
    assert ex.to_network() == m.to_network()
    x = jax.random.normal(jax.random.key(0), (64, 2))
    np.testing.assert_allclose(np.asarray(ex.to_model()(x)), np.asarray(m(x)), rtol=1e-5, atol=1e-6)
    # per-channel scales and float biases survive the round trip too
    m2 = _model(Quantizer("twn", per_channel=True), qbias=False)
    ex2 = ck.load_codes(ck.export_codes(m2, tmp_path / "c2.npz"))
    assert ex2.to_network() == m2.to_network()


def test_code_export_rejects_bad_files(tmp_path):
    m = _model("absmean")
    path = ck.export_codes(m, tmp_path / "codes.npz")
    raw = open(path, "rb").read()
    (tmp_path / "trunc.npz").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="not a readable"):
        ck.load_codes(tmp_path / "trunc.npz")
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    edited = dict(arrays, W1=np.where(arrays["W1"] == 1, -1, arrays["W1"]).astype(np.int8))
    np.savez(tmp_path / "edited.npz", **edited)
    with pytest.raises(ValueError, match="SHA-256"):
        ck.load_codes(tmp_path / "edited.npz")
    two = dict(arrays, W0=np.full_like(arrays["W0"], 2))
    np.savez(tmp_path / "two.npz", **two)
    with pytest.raises(ValueError, match=r"codes in \{-1, 0, 1\}"):
        ck.load_codes(tmp_path / "two.npz")
    np.savez(tmp_path / "net.npz", **{k: v for k, v in arrays.items() if k != "quantizer"})
    with pytest.raises(ValueError, match="missing entry 'quantizer'"):
        ck.load_codes(tmp_path / "net.npz")
    with pytest.raises(ValueError, match="ternary model"):
        ck.export_codes(MLP(2, [3], rngs=nnx.Rngs(0)), tmp_path / "f.npz")


def test_network_file_round_trip_of_model(tmp_path):
    m = _model("absmean")
    net = m.to_network()
    tj.save_network(net, tmp_path / "net.npz", metadata={"model": m.config()})
    assert tj.load_network(tmp_path / "net.npz") == net
    folded = m.to_network(preserve_output=False)
    tj.save_network(folded, tmp_path / "folded.npz")
    assert tj.load_network(tmp_path / "folded.npz") == folded
    meta = json.loads(json.dumps(m.config()))
    assert meta["quantizer"]["rule"] == "absmean"


# -- files written by tern_jax 0.1.0 ----------------------------------------------------------
OLD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "v0_1_layout")


@pytest.mark.parametrize("name", ["frozen", "trained", "per_channel", "float"])
def test_checkpoints_written_by_0_1_load(name):
    """Real checkpoints from before the model split (tests/data/v0_1_layout/generate.py):
    the old config layout rebuilds the right model, the parameters pass their SHA-256, the
    function and the folded network are the ones recorded then."""
    with open(os.path.join(OLD, "expected.json")) as fh:
        expected = json.load(fh)[name]
    model, meta = ck.load_model(os.path.join(OLD, f"ckpt_{name}"))
    assert meta["model"] == expected["config"]  # the metadata is the old layout
    kind = {"frozen": CodeMLP, "float": MLP}.get(name, AlternatingMLP)
    assert type(model) is kind
    assert model.to_network().fingerprint == expected["fingerprint"]
    x = np.load(os.path.join(OLD, "inputs.npy"))
    np.testing.assert_allclose(np.asarray(model(x)), expected["outputs"], rtol=1e-6, atol=1e-7)
    assert tj.load_network(os.path.join(OLD, f"ckpt_{name}")).fingerprint == expected["fingerprint"]


@pytest.mark.parametrize("name", ["frozen", "trained"])
def test_code_exports_written_by_0_1_load(name):
    with open(os.path.join(OLD, "expected.json")) as fh:
        expected = json.load(fh)[name]
    ex = ck.load_codes(os.path.join(OLD, f"codes_{name}.npz"))
    assert ex.model_config == expected["config"]
    assert ex.to_network().fingerprint == expected["fingerprint"]
    if name == "frozen":
        x = np.load(os.path.join(OLD, "inputs.npy"))
        np.testing.assert_allclose(np.asarray(ex.to_model()(x)), expected["outputs"], atol=1e-6)


def test_relative_paths(tmp_path, monkeypatch):
    """orbax needs absolute paths; the checkpoint functions make them so at the boundary."""
    monkeypatch.chdir(tmp_path)
    m = _model()
    ck.save_model(m, "ck")
    model, meta = ck.load_model("ck")
    assert meta["checkpoint_path"] == str(tmp_path / "ck")
    assert model.to_network() == m.to_network() == ck.network_from_checkpoint("ck")
    ck.export_codes(_model("absmean"), "codes.npz")
    assert ck.load_codes("codes.npz").to_network() == _model("absmean").to_network()


def test_error_kinds(saved, tmp_path):
    _, path, _ = saved
    with pytest.raises(MissingFile):
        ck.load_model(tmp_path / "missing")
    with pytest.raises(MissingFile):
        ck.load_codes(tmp_path / "missing.npz")
    bad = tmp_path / "bad"
    shutil.copytree(path, bad)
    _damage(str(bad), "model/_METADATA", "truncate")
    with pytest.raises(DamagedFile) as info:
        ck.load_model(bad)
    assert info.value.__cause__ is not None  # orbax's own error stays attached
    (tmp_path / "junk.npz").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DamagedFile):
        ck.load_codes(tmp_path / "junk.npz")
