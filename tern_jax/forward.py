"""The forward pass, written once for every array library and every caller.

A network is a sequence of ``(W, b)`` pairs with activation tags (math.md section 1:
``z_l = h_{l-1} @ W_l + b_l``, ``h_l = relu(z_l)`` or ``z_l``; the last layer is the affine
output layer). :func:`walk` evaluates it with numpy (``xp=np``, exact float64 on the host)
or ``jax.numpy`` (``xp=jnp``, traceable under ``jit``) and returns the hidden
pre-activations and the outputs; everything else (patterns, packed keys, plots, the
reference outputs of the exact engines) is derived from it.

Sign convention: a ReLU unit is active iff its pre-activation is > 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

Params = Sequence[tuple[Any, Any]]


def walk(
    params: Params, activations: Sequence[str], x: Any, *, xp: Any = np, output: bool = True
) -> tuple[list, Any]:
    """``(hidden pre-activations, outputs)`` of the network for inputs ``x`` (N, d).

    ``xp`` is the array module (``numpy`` or ``jax.numpy``); parameters are used as given
    (cast them to the input's dtype beforehand). ``output=False`` skips the output layer and
    returns ``None`` for it.
    """
    h = x
    zs = []
    last = len(params) - 1
    for i, ((w, b), act) in enumerate(zip(params, activations)):
        if i == last and not output:
            return zs, None
        z = h @ w + b
        if i < last:
            zs.append(z)
        h = xp.maximum(z, 0) if act == "relu" else z
    return zs, h


def relu_preactivations(zs: Sequence[Any], activations: Sequence[str]) -> list:
    """The hidden pre-activations of the ReLU layers (in order), from :func:`walk`."""
    return [z for z, act in zip(zs, activations) if act == "relu"]


def pattern_bits(params: Params, activations: Sequence[str], x: Any, *, xp: Any = np) -> Any:
    """Activation patterns, bool ``(N, U)`` (U = number of ReLU units, may be 0)."""
    zs, _ = walk(params, activations, x, xp=xp, output=False)
    bits = [z > 0 for z in relu_preactivations(zs, activations)]
    if not bits:
        return xp.zeros((x.shape[0], 0), dtype=bool)
    return xp.concatenate(bits, axis=1)


def outputs(params: Params, activations: Sequence[str], x: Any, *, xp: Any = np) -> Any:
    """Network outputs ``(N, output_dim)``."""
    return walk(params, activations, x, xp=xp)[1]
