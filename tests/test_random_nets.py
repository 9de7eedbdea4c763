import numpy as np
import pytest

import tern_jax as tj


def test_ternary_alternating_shapes_and_codes():
    net = tj.random_network(2, [8, 6, 8, 6], architecture="alternating", seed=3)
    assert net.widths == (8, 6, 8, 6)
    assert net.activations == ("identity", "relu", "identity", "relu", "identity")
    assert net.is_ternary()
    assert net.num_relu_units == 12
    # all three codes actually occur
    assert set(np.unique(np.concatenate([w.ravel() for w in net.weights]))) == {-1.0, 0.0, 1.0}


def test_deterministic_in_seed():
    a = tj.random_network(3, [5, 5], weights="gaussian", seed=1)
    b = tj.random_network(3, [5, 5], weights="gaussian", seed=1)
    c = tj.random_network(3, [5, 5], weights="gaussian", seed=2)
    assert a.fingerprint == b.fingerprint != c.fingerprint
    assert not a.is_ternary()
    np.testing.assert_array_equal(a.biases[-1], 0)


def test_gaussian_fan_in_scaling():
    net = tj.random_network(400, [300], weights="gaussian", seed=0)
    assert abs(np.std(net.weights[0]) - 1 / np.sqrt(400)) < 0.002


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"input_dim": 0, "widths": [3]}, "input_dim"),
        ({"input_dim": 2, "widths": []}, "widths"),
        ({"input_dim": 2, "widths": [3, 0]}, "widths"),
        ({"input_dim": 2, "widths": [3], "weights": "uniform"}, "weights"),
        ({"input_dim": 2, "widths": [3], "architecture": "mixed"}, "architecture"),
        ({"input_dim": 2, "widths": [3, 3], "architecture": ["relu"]}, "tags"),
        ({"input_dim": 2, "widths": [3], "architecture": ["tanh"]}, "unknown activation"),
    ],
)
def test_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        tj.random_network(**kwargs)
