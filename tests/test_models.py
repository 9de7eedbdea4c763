"""NNX models: layer layout, quantised forward pass, folding into an exact ReLUNet, one
module class per case (trained ternary, float, frozen codes), configs old and new."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from tern_jax.errors import InvalidInput, WrongType
from tern_jax.models import (
    MLP,
    AlternatingMLP,
    CodeDense,
    CodeMLP,
    FloatDense,
    TernaryDense,
    model_from_config,
)
from tern_jax.network import ReLUNet
from tern_jax.quantize import Quantizer, ternarize

QUANTIZERS = [
    "absmean",
    "twn",
    Quantizer("threshold", 0.3),
    Quantizer("absmean", per_channel=True),
    None,
]


def _randomise_biases(model, key=3, std=1.0):
    for i, layer in enumerate(model.layers):
        layer.bias[...] = std * jax.random.normal(jax.random.key(key + i), layer.bias.shape)


def _model(d, widths, arch="alternating", q="absmean", qbias=True, seed=0):
    """The ternary model, or the float twin when ``q`` is None."""
    if q is None:
        return MLP(d, widths, arch, rngs=nnx.Rngs(seed))
    return AlternatingMLP(d, widths, arch, q, quantize_bias=qbias, rngs=nnx.Rngs(seed))


def _small_ternary_net():
    return ReLUNet.from_arrays(
        [np.eye(2, dtype=np.int8), np.ones((2, 1), np.int8)],
        [np.zeros(2), np.zeros(1)],
        ["relu", "identity"],
    )


def _inputs(n, d, seed=0):
    return jax.random.uniform(jax.random.key(seed), (n, d), minval=-2.0, maxval=2.0)


def test_layout_alternating_and_all_relu():
    m = AlternatingMLP(3, [4, 5, 6], rngs=nnx.Rngs(0))
    assert m.activations == ("identity", "relu", "identity", "identity")
    assert [(l.in_features, l.out_features) for l in m.layers] == [(3, 4), (4, 5), (5, 6), (6, 1)]
    m = AlternatingMLP(3, [4, 5], "all_relu", rngs=nnx.Rngs(0))
    assert m.activations == ("relu", "relu", "identity")
    f = MLP(2, [3, 3], rngs=nnx.Rngs(0))
    assert f.quantizer is None and not f.foldable()


def test_one_layer_class_per_case():
    """Trained ternary, float and frozen-code layers are separate classes, no mode flags."""
    m = AlternatingMLP(2, [4, 4], quantize_output=False, rngs=nnx.Rngs(0))
    assert [type(l) for l in m.layers] == [TernaryDense, TernaryDense, FloatDense]
    assert all(type(l) is FloatDense for l in MLP(2, [4, 4], rngs=nnx.Rngs(0)).layers)
    c = AlternatingMLP.from_network(_small_ternary_net())
    assert type(c) is CodeMLP and all(type(l) is CodeDense for l in c.layers)
    assert not any(hasattr(x, "frozen") for x in (m, c, *m.layers, *c.layers))
    # the three models share one forward pass; only the layers differ
    assert type(m).__call__ is type(c).__call__ is MLP.__call__
    with pytest.raises(InvalidInput, match="FloatDense"):
        TernaryDense(2, 3, quantizer=None, rngs=nnx.Rngs(0))
    with pytest.raises(InvalidInput, match="use MLP"):
        AlternatingMLP(2, [3], quantizer=None, rngs=nnx.Rngs(0))
    with pytest.raises(WrongType, match="CodeDense"):
        CodeMLP([FloatDense(2, 2, rngs=nnx.Rngs(0)), FloatDense(2, 1, rngs=nnx.Rngs(0))])


def test_forward_uses_ternary_weights():
    m = AlternatingMLP(2, [5, 4], "alternating", "twn", rngs=nnx.Rngs(0))
    layer = m.layers[1]
    w, _ = layer.effective()
    codes, scale = ternarize(layer.kernel[...], Quantizer("twn"))
    np.testing.assert_array_equal(np.asarray(w), np.asarray(scale * codes))
    vals = np.unique(np.asarray(w) / float(scale))
    assert set(np.round(vals, 6)) <= {-1.0, 0.0, 1.0}


@pytest.mark.parametrize("arch", ["alternating", "all_relu"])
@pytest.mark.parametrize("q", QUANTIZERS)
@pytest.mark.parametrize("qbias", [True, False])
def test_to_network_same_function_and_patterns(arch, q, qbias):
    m = _model(2, [6, 5, 6, 5], arch, q, qbias, seed=1)
    _randomise_biases(m)
    x = _inputs(2000, 2)
    net = m.to_network()
    assert isinstance(net, ReLUNet) and net.activations == m.activations
    y_model, y_net = np.asarray(m(x)), np.asarray(net(x))
    np.testing.assert_allclose(y_net, y_model, rtol=1e-5, atol=1e-5)
    # Bits must agree wherever the model's pre-activation is not within rounding of 0. Exact
    # zeros (units whose inputs are all inactive) are 0 in both and compared; ternary codes
    # also make cancellations (a - a) common, which float32 leaves as ~1e-8: not compared.
    zs = [z for z, a in zip(m.preactivations(x), m.activations) if a == "relu"]
    z = np.abs(np.concatenate([np.asarray(z) for z in zs], axis=1))
    ok = ~((z > 0) & (z <= 1e-5))
    assert ok.mean() > 0.95
    pm, pn = np.asarray(m.patterns(x)), np.asarray(net.patterns(x))
    assert pm.shape == (2000, net.num_relu_units)
    np.testing.assert_array_equal(pm[ok], pn[ok])
    assert len({r.tobytes() for r in pm}) > 5  # the check is not vacuous


def test_folded_weights_are_codes_and_biases_rescaled():
    m = AlternatingMLP(2, [4, 4], "alternating", "absmean", rngs=nnx.Rngs(2))
    _randomise_biases(m, std=0.5)
    net = m.to_network()
    d = [l.codes() for l in m.layers]
    for i in range(2):  # hidden layers hold the pure codes
        np.testing.assert_array_equal(net.weights[i], d[i]["codes"])
    s1, s2, s3 = (float(x["scale"]) for x in d)
    np.testing.assert_array_equal(net.biases[0], d[0]["bias_codes"])  # c_1 / P_0 = c_1
    np.testing.assert_allclose(net.biases[1], d[1]["bias_codes"] / s1, rtol=1e-15)
    np.testing.assert_allclose(net.weights[2], d[2]["codes"] * s1 * s2 * s3, rtol=1e-15)
    # fully folded: output = codes, bias / P_L, function f / P_L
    net2 = m.to_network(preserve_output=False)
    np.testing.assert_array_equal(net2.weights[2], d[2]["codes"])
    x = _inputs(500, 2, seed=5)
    np.testing.assert_allclose(
        np.asarray(net2(x)) * s1 * s2 * s3, np.asarray(m(x)), rtol=1e-4, atol=1e-5
    )


def test_folded_net_is_ternary_only_when_biases_are():
    m = AlternatingMLP(2, [4, 4], "alternating", "absmean", rngs=nnx.Rngs(2))
    for l in m.layers:
        l.bias[...] = jnp.zeros_like(l.bias[...])
    assert m.to_network(preserve_output=False).is_ternary()
    assert not m.to_network().is_ternary()  # output weights carry the product of scales
    m.layers[1].bias[...] = jnp.full(m.layers[1].bias.shape, 10.0)  # code 1, folded 1/s_1
    assert not m.to_network(preserve_output=False).is_ternary()


@pytest.mark.parametrize(
    "build",
    [
        lambda tj: tj.constructions.ternary_alternating(1, [3]).net,  # math.md 3.5
        lambda tj: tj.constructions.ternary_all_relu(2, [2, 2], form="generic").net,
    ],
)
def test_frozen_codes_model_reproduces_a_ternary_network(build):
    import tern_jax as tj

    net = build(tj)
    m = AlternatingMLP.from_network(net)
    assert m.foldable()
    back = m.to_network()
    assert back == net and back.is_ternary()
    x = jax.random.uniform(jax.random.key(4), (256, net.input_dim), minval=-0.5, maxval=1.5)
    np.testing.assert_allclose(np.asarray(m(x)), np.asarray(net(x)), atol=1e-5)
    np.testing.assert_array_equal(np.asarray(m.patterns(x)), np.asarray(net.patterns(x)))
    # frozen codes are not trainable parameters
    assert not jax.tree_util.tree_leaves(nnx.state(m, nnx.Param))


def test_from_codes_validation():
    with pytest.raises(ValueError, match="codes"):
        TernaryDense.from_codes(np.array([[2, 0]]), np.zeros(2))
    with pytest.raises(ValueError, match="bias must have shape"):
        TernaryDense.from_codes(np.array([[1, 0]]), np.zeros(3))
    with pytest.raises(ValueError, match="scale"):
        TernaryDense.from_codes(np.array([[1, 0]]), np.zeros(2), scale=0.0)
    with pytest.raises(ValueError, match="bias codes"):
        TernaryDense.from_codes(np.array([[1, 0]]), np.array([0.5, 0]))


def test_bad_constructor_input():
    with pytest.raises(ValueError, match="architecture"):
        AlternatingMLP(2, [4], "resnet", rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="widths"):
        AlternatingMLP(2, [], rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match=r"widths\[1\]"):
        AlternatingMLP(2, [4, 0], rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="input_dim"):
        AlternatingMLP(0, [4], rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="quantiser"):
        AlternatingMLP(2, [4], quantizer="binary", rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="ternary"):
        AlternatingMLP.from_network(MLP(1, [2], rngs=nnx.Rngs(0)).to_network())
    with pytest.raises(TypeError):
        MLP(2, [3], quantizer="absmean", rngs=nnx.Rngs(0))  # the twin has no quantiser
    with pytest.raises(ValueError, match="unknown model config"):
        model_from_config({"input_dim": 2, "widths": [3], "depth": 3})
    with pytest.raises(TypeError, match="positive integer"):
        AlternatingMLP(2, [4, "8"], rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="frozen"):
        model_from_config({"class": "CodeMLP", "input_dim": 2, "widths": [3]})


def test_config_round_trip():
    m = AlternatingMLP(
        3, [4, 2], "all_relu", Quantizer("twn", 0.6), quantize_bias=False, rngs=nnx.Rngs(0)
    )
    m2 = model_from_config(m.config())
    assert m2.config() == m.config()
    assert model_from_config(MLP(2, [3], rngs=nnx.Rngs(0)).config()).quantizer is None
    c = AlternatingMLP.from_network(_small_ternary_net())
    assert model_from_config(c.config()).config() == c.config()


# The model configs tern_jax 0.1.0 wrote (every key for every class; the code model as
# "class": "AlternatingMLP" with a "frozen" list): each rebuilds the same structure.
OLD_CONFIGS = {
    "trained": {
        "architecture": "alternating",
        "class": "AlternatingMLP",
        "frozen": False,
        "input_dim": 2,
        "output_dim": 1,
        "quantize_bias": True,
        "quantize_output": False,
        "quantizer": {"per_channel": False, "rule": "twn", "threshold": 0.7},
        "widths": [4, 3],
    },
    "float": {
        "architecture": "all_relu",
        "class": "MLP",
        "frozen": False,
        "input_dim": 2,
        "output_dim": 1,
        "quantize_bias": False,
        "quantize_output": False,
        "quantizer": None,
        "widths": [3, 2],
    },
    "frozen": {
        "architecture": "alternating",
        "class": "AlternatingMLP",
        "frozen": [
            {"bias_is_code": True, "per_channel": False},
            {"bias_is_code": False, "per_channel": True},
            {"bias_is_code": True, "per_channel": False},
        ],
        "input_dim": 2,
        "output_dim": 1,
        "quantize_bias": False,
        "quantize_output": False,
        "quantizer": None,
        "widths": [8, 6],
    },
}


# 0.1.0 also described a float model as an AlternatingMLP without quantiser.
OLD_CONFIGS["float_as_alternating"] = {**OLD_CONFIGS["float"], "class": "AlternatingMLP"}


@pytest.mark.parametrize("name", sorted(OLD_CONFIGS))
def test_old_config_layout_rebuilds_the_same_structure(name):
    old = OLD_CONFIGS[name]
    m = model_from_config(old)
    expected = {"trained": AlternatingMLP, "frozen": CodeMLP}.get(name, MLP)
    assert type(m) is expected
    assert m.widths == tuple(old["widths"]) and m.architecture == old["architecture"]
    # the parameter tree has the names and shapes 0.1.0 saved
    names = {
        jax.tree_util.keystr(p)
        for p, _ in jax.tree_util.tree_flatten_with_path(nnx.to_pure_dict(nnx.state(m)))[0]
    }
    assert "['layers'][0]['kernel']" in names and "['layers'][0]['bias']" in names
    if name == "frozen":
        assert "['layers'][1]['scale']" in names
        assert [l.bias_is_code for l in m.layers] == [True, False, True]
        assert [l.per_channel for l in m.layers] == [False, True, False]
    if name == "trained":
        assert m.quantizer == Quantizer("twn") and type(m.layers[-1]) is FloatDense
