"""Folding per-layer codes and scales into the exact ReLUNet a model computes (math.md 1).

The input is one dict per layer, as :meth:`tern_jax.models.LayerStack.layer_arrays` and code
exports give it: ``{"codes", "scale", "bias_codes" | "bias"}`` for a ternary layer (int
codes, a scalar or per-output-unit scale, bias codes at the scale or float biases) or
``{"weight", "bias"}`` for a full-precision one. See :mod:`tern_jax.models` for the algebra.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import InvalidInput
from ..network import ReLUNet


def foldable(layers: list[dict[str, Any]]) -> bool:
    """True when every hidden layer is coded with one per-tensor scale (foldable exactly)."""
    return all("codes" in d and np.ndim(d["scale"]) == 0 for d in layers[:-1])


def _dense(d: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Float64 weight and bias of one layer description (``scale * codes``)."""
    if "codes" not in d:
        return np.asarray(d["weight"], np.float64), np.asarray(d["bias"], np.float64)
    s = np.asarray(d["scale"], np.float64)
    w = np.asarray(d["codes"], np.float64) * s
    b = np.asarray(d["bias_codes"], np.float64) * s if "bias_codes" in d else d["bias"]
    return w, np.asarray(b, np.float64)


def network_from_layers(
    layers: list[dict[str, Any]], activations: Sequence[str], preserve_output: bool = True
) -> ReLUNet:
    """Build the ReLUNet of per-layer codes/scales (folded where exact) or float arrays.

    Folding (all hidden layers coded with scalar scales): hidden weights are the codes, biases
    ``b_l / P_l``; the output layer is ``P_{L-1} * W_L`` with bias ``b_L``
    (``preserve_output``), or codes ``C_L`` with bias ``b_L / P_L``.
    """
    if not foldable(layers):
        if not preserve_output:
            raise InvalidInput(
                "preserve_output=False needs per-tensor ternary scales in every layer"
            )
        pairs = [_dense(d) for d in layers]
        return ReLUNet.from_arrays([p[0] for p in pairs], [p[1] for p in pairs], activations)
    ws, bs = [], []
    prod = 1.0  # P_{l-1}: product of the earlier layers' scales, float64
    for d in layers[:-1]:
        s = float(d["scale"])
        if "bias_codes" in d:
            folded_b = np.asarray(d["bias_codes"], np.float64) / prod  # s c / (P_{l-1} s)
        else:
            folded_b = np.asarray(d["bias"], np.float64) / (prod * s)
        ws.append(np.asarray(d["codes"], np.float64))
        bs.append(folded_b)
        prod *= s
    out = layers[-1]
    w_out, b_out = _dense(out)
    if preserve_output:
        ws.append(w_out * prod)
        bs.append(b_out)
    elif "codes" not in out or np.ndim(out["scale"]) != 0:
        # A float or per-channel output layer: divide by P_{L-1} only.
        ws.append(w_out)
        bs.append(b_out / prod)
    else:
        s_out = float(out["scale"])
        ws.append(np.asarray(out["codes"], np.float64))
        bs.append(b_out / (prod * s_out))
    return ReLUNet.from_arrays(ws, bs, activations)
