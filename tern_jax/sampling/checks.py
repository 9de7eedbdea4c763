"""Run-time check of a float32 forward pass that :mod:`.lattice` cannot prove exact.

When float32 is asked for a network whose pre-activations it may round (real weights, or
integer weights whose magnitudes exceed 2^24 lattice units), the run recomputes its first
tile of samples in float64 and counts the samples whose pattern differs. The record then
states the measured rate with an exact binomial (Clopper-Pearson) 95% upper bound, so a
reader knows how many of the float32 patterns may be artefacts of rounding.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from scipy.stats import beta

from ..network import ReLUNet
from . import device as dev
from .lattice import Arithmetic, plan
from .samplers import Sampling


def _tile_words(net, sampling, arith: Arithmetic, seed: int, first_block: int) -> np.ndarray:
    fn = dev.build_tiles(net, sampling, arith, True)
    with dev.x64_scope(arith.precision):
        firsts = jnp.asarray([first_block], jnp.int32)
        return np.asarray(fn(dev.device_params(arith), dev.seed_key(seed), firsts)[1])[0]


def float32_check(net: ReLUNet, sampling: Sampling, arith32: Arithmetic, seed: int,
                  first_block: int) -> dict:  # fmt: skip
    """Compare the float32 patterns of the tile at ``first_block`` with float64 ones."""
    arith64 = plan(net, sampling, "float64")
    w32 = _tile_words(net, sampling, arith32, seed, first_block)
    w64 = _tile_words(net, sampling, arith64, seed, first_block)
    n = int(w32.shape[0])
    k = int(np.count_nonzero(np.any(w32 != w64, axis=1)))
    upper = float(beta.ppf(0.95, k + 1, n - k)) if k < n else 1.0
    return {"checked": n, "differing": k, "rate": k / n, "rate_upper_95": upper}


def float32_warning(arith: Arithmetic, check: dict) -> str:
    """The record's warning for an unproven float32 run."""
    return (
        f"float32 is not proven exact here ({arith.reason}): of the first {check['checked']:,} "
        f"samples, {check['differing']:,} got a different pattern than in float64 (rate "
        f"<= {check['rate_upper_95']:.2g} at 95% confidence); such patterns can be "
        "artefacts of rounding and raise the count; use precision 'float64' (or 'auto')"
    )
