"""Random networks: the baselines that constructions and trained models are compared with."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from .checks import check_int, check_ints
from .errors import InvalidInput
from .limits import check_dense_network
from .network import ACTIVATIONS, ReLUNet

ARCHITECTURES = ("alternating", "all_relu")


def hidden_tags(architecture: str | Sequence[str], depth: int) -> list[str]:
    """Activation tags of ``depth`` hidden layers: "alternating" (identity, relu, ...),
    "all_relu", or an explicit sequence of tags."""
    if isinstance(architecture, str):
        if architecture == "alternating":
            return ["identity" if i % 2 == 0 else "relu" for i in range(depth)]
        if architecture == "all_relu":
            return ["relu"] * depth
        raise InvalidInput(
            f"architecture must be one of {ARCHITECTURES} or a list of tags, got {architecture!r}"
        )
    tags = list(architecture)
    if len(tags) != depth:
        raise InvalidInput(f"{len(tags)} activation tags for {depth} hidden layers")
    for t in tags:
        if t not in ACTIVATIONS:
            raise InvalidInput(f"unknown activation {t!r}; expected one of {ACTIVATIONS}")
    return tags


def random_network(
    input_dim: int,
    widths: Sequence[int],
    *,
    architecture: str | Sequence[str] = "all_relu",
    weights: str = "ternary",
    seed: int = 0,
    output_dim: int = 1,
    bias_std: float = 1.0,
) -> ReLUNet:
    """A random network with the given hidden ``widths``.

    ``weights="ternary"``: every weight and hidden bias uniform on {-1, 0, +1}.
    ``weights="gaussian"``: weights N(0, 1/fan_in), biases N(0, bias_std^2).
    The output layer's bias is 0 (it moves no boundary). Deterministic in ``seed``.
    """
    input_dim = check_int(input_dim, "input_dim", 1)
    output_dim = check_int(output_dim, "output_dim", 1)
    widths = list(check_ints(widths, "widths", 1))
    if weights not in ("ternary", "gaussian"):
        raise InvalidInput(f"weights must be 'ternary' or 'gaussian', got {weights!r}")
    tags = hidden_tags(architecture, len(widths))
    check_dense_network([input_dim, *widths, output_dim], "this random network")
    rng = np.random.default_rng(seed)
    dims = [input_dim, *widths, output_dim]
    ws, bs = [], []
    for i, (a, b) in enumerate(itertools.pairwise(dims)):
        last = i == len(dims) - 2
        if weights == "ternary":
            ws.append(rng.integers(-1, 2, size=(a, b)).astype(np.float64))
            bias = rng.integers(-1, 2, size=b).astype(np.float64)
        else:
            ws.append(rng.normal(size=(a, b)) / np.sqrt(a))
            bias = bias_std * rng.normal(size=b)
        bs.append(np.zeros(b) if last else bias)
    return ReLUNet.from_arrays(ws, bs, [*tags, "identity"])
