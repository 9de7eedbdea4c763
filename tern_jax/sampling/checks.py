"""Run-time check of a float32 forward pass that :mod:`.lattice` cannot prove exact.

When float32 is asked for a network whose pre-activations it may round (real weights, or
integer weights whose magnitudes exceed 2^24 grid units), the first block of samples of seed
0 is drawn on device and its patterns computed on the host in float32 and in float64; the
record states how many differ, with an exact binomial (Clopper-Pearson) 95% upper bound on
the rate, so a reader knows how many float32 patterns may be artefacts of rounding. (The
host's float32 sums round in another order than the device's; the rate measures the
network's and domain's sensitivity to float32 rounding, which is the same.) The check is a
property of the network, the domain and the grid, so it is computed once per process.
"""

from __future__ import annotations

import json

import jax.numpy as jnp
import numpy as np
from scipy.stats import beta

from ..forward import pattern_bits
from ..network import ReLUNet
from . import device as dev
from .lattice import Arithmetic
from .samplers import Sampling


def block_coordinates(net, sampling, arith: Arithmetic, seed: int, block: int) -> np.ndarray:
    """The coordinates (float64) of the ``BLOCK`` samples of ``block``, drawn on device."""
    tile = block - block % dev.TILE_BLOCKS
    fn = dev.build_tiles(net, sampling, arith, False)
    with dev.x64_scope(arith.precision):
        firsts = np.zeros(dev.TILES_BATCH, np.int32)
        firsts[0] = tile
        data = sampling.device_data(dev.DTYPES[arith.precision])
        c = np.asarray(fn(dev.device_params(arith), dev.seed_key(seed), jnp.asarray(firsts),
                          data)[0])  # fmt: skip
    start = (block - tile) * dev.BLOCK
    return c[0, start : start + dev.BLOCK].astype(np.float64)


_CHECKS: dict = {}


def float32_check(net: ReLUNet, sampling: Sampling, arith32: Arithmetic) -> dict:
    """Patterns of seed 0's first block in float32 and float64, compared on the host."""
    key = (net.fingerprint, json.dumps(sampling.description, sort_keys=True),
           arith32.lattice_bits)  # fmt: skip
    if key not in _CHECKS:
        if len(_CHECKS) >= 32:
            _CHECKS.pop(next(iter(_CHECKS)))
        _CHECKS[key] = _measure(net, sampling, arith32)
    return dict(_CHECKS[key])


def _measure(net: ReLUNet, sampling: Sampling, arith32: Arithmetic) -> dict:
    c = block_coordinates(net, sampling, arith32, 0, 0)
    bits = []
    for dt in (np.float32, np.float64):
        params = [(w.astype(dt), b.astype(dt)) for w, b in arith32.layers]
        bits.append(pattern_bits(params, arith32.activations, c.astype(dt)))
    n = int(c.shape[0])
    k = int(np.count_nonzero(np.any(bits[0] != bits[1], axis=1)))
    upper = float(beta.ppf(0.95, k + 1, n - k)) if k < n else 1.0
    return {"checked": n, "differing": k, "rate": k / n, "rate_upper_95": upper}


def float32_warning(arith: Arithmetic, check: dict) -> str:
    """The record's warning for an unproven float32 run."""
    return (
        f"float32 is not proven exact here ({arith.reason}): of {check['checked']:,} samples "
        f"(seed 0's first block), {check['differing']:,} got another pattern in float32 than "
        f"in float64 "
        f"(rate <= {check['rate_upper_95']:.2g} at 95% confidence); such patterns can be "
        "artefacts of rounding and raise the count; use precision 'float64' (or 'auto')"
    )
