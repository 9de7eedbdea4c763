"""Ternary quantisers: conventions, codes in {-1, 0, 1}, STE gradients, bad input."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tern_jax.quantize import (
    Quantizer,
    absmean,
    as_quantizer,
    fake_quantize,
    quantize_bias,
    ternarize,
    threshold,
    twn,
)

W = jnp.array([[0.9, -0.05, 0.3], [-0.6, 0.2, 0.0]], jnp.float32)


def test_absmean_matches_hand_computation():
    codes, scale = absmean(W)
    m = np.mean(np.abs(np.asarray(W)))  # 2.05 / 6
    assert float(scale) == pytest.approx(m, rel=1e-6)
    # |W| / m = 2.63, 0.146, 0.878, 1.756, 0.585, 0 -> round and clip
    np.testing.assert_array_equal(np.asarray(codes), [[1, 0, 1], [-1, 1, 0]])


def test_twn_threshold_and_scale():
    codes, scale = twn(W)
    delta = 0.7 * np.mean(np.abs(np.asarray(W)))  # 0.2392
    np.testing.assert_array_equal(np.asarray(codes), [[1, 0, 1], [-1, 0, 0]])
    kept = np.abs(np.asarray(W))[np.abs(np.asarray(W)) > delta]
    assert float(scale) == pytest.approx(kept.mean(), rel=1e-6)  # (0.9 + 0.3 + 0.6) / 3


def test_fixed_threshold_rule():
    codes, scale = threshold(W, delta=0.25)
    np.testing.assert_array_equal(np.asarray(codes), [[1, 0, 1], [-1, 0, 0]])
    assert float(scale) == pytest.approx(0.6, rel=1e-6)
    codes, scale = threshold(W, delta=1.0)  # nothing passes: all zero, scale stays positive
    assert not np.any(np.asarray(codes))
    assert float(scale) > 0


def test_per_channel_scales_one_per_output_unit():
    codes, scale = absmean(W, per_channel=True)
    assert scale.shape == (3,)
    np.testing.assert_allclose(np.asarray(scale), np.abs(np.asarray(W)).mean(axis=0), rtol=1e-6)
    assert set(np.unique(np.asarray(codes))) <= {-1.0, 0.0, 1.0}


@pytest.mark.parametrize("rule", ["absmean", "twn", "threshold"])
def test_codes_ternary_on_random_weights(rule):
    w = jax.random.normal(jax.random.key(0), (13, 7)) * 0.3
    codes, scale = ternarize(w, Quantizer(rule))
    assert set(np.unique(np.asarray(codes))) <= {-1.0, 0.0, 1.0}
    assert float(scale) > 0
    # the quantised tensor is a better fit than zero
    assert float(jnp.sum((w - scale * codes) ** 2)) < float(jnp.sum(w**2))


def test_zero_weights_give_zero_codes_and_positive_scale():
    for rule in ("absmean", "twn", "threshold"):
        codes, scale = ternarize(jnp.zeros((3, 2)), Quantizer(rule))
        assert not np.any(np.asarray(codes)) and float(scale) > 0


def test_bias_codes_nearest_level():
    b = jnp.array([0.26, -0.24, -0.9, 0.0])
    np.testing.assert_array_equal(np.asarray(quantize_bias(b, 0.5)), [1, 0, -1, 0])


def test_straight_through_gradient_is_identity():
    w = jax.random.normal(jax.random.key(1), (4, 3))
    q = Quantizer("twn")
    g = jax.grad(lambda w: jnp.sum(fake_quantize(w, q) * jnp.arange(3.0)))(w)
    np.testing.assert_array_equal(np.asarray(g), np.broadcast_to(np.arange(3.0), (4, 3)))
    codes, scale = ternarize(w, q)
    np.testing.assert_allclose(np.asarray(fake_quantize(w, q)), np.asarray(scale * codes))


def test_json_round_trip_and_bad_input():
    q = Quantizer("twn", 0.5, per_channel=True)
    assert Quantizer.from_json(q.to_json()) == q
    assert as_quantizer("absmean") == Quantizer("absmean")
    assert as_quantizer(None) is None
    with pytest.raises(ValueError, match="unknown quantiser rule"):
        Quantizer("binary")
    with pytest.raises(ValueError, match="threshold"):
        Quantizer("twn", -1.0)
    with pytest.raises(ValueError, match="threshold"):
        Quantizer("twn", float("nan"))
    with pytest.raises(ValueError, match="absmean"):
        Quantizer("absmean", 0.7)
    with pytest.raises(ValueError, match="unknown quantiser fields"):
        Quantizer.from_json({"rule": "twn", "factor": 1})
    with pytest.raises(ValueError, match="2-D"):
        absmean(jnp.ones(3), per_channel=True)
