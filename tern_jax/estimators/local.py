"""A domain in its own coordinates, the draws of the estimators, and the affine pieces.

The volume estimators work in the domain's coordinates y: a :class:`~tern_jax.Box` is
itself (y = x), a :class:`~tern_jax.Plane` is ``x = origin + s u + t v`` with y = (s, t), a
:class:`~tern_jax.Segment` is ``x = start + y (end - start)`` with y in [0, 1]. In every case
the law is uniform on the box ``[lo, hi]`` of y, so the mass of a set is its y-volume over the
box's y-volume.

:func:`draw` gives the same uniform draws as ``count_regions`` with the same seed (block b of
4096 draws comes from ``fold_in(seed_key(seed), b)`` and the on-device ``open_uniform``), kept
as the float32 y values the sampler makes and then used in float64: for a box they are the
very inputs ``count_regions`` evaluates; on a plane or segment the input is formed from them
in float64 (exactly on the domain) rather than in float32.

:func:`affine_pieces` gives, for points y, the activation pattern and the affine map of every
ReLU unit's pre-activation on the point's activation region, ``z_u(y') = y' . A_u + c_u``
(math.md section 1: a fixed pattern makes the network affine): the H-representation of the
region. With a ``direction``, the pattern is the one-sided pattern just beyond y in that
direction (units with ``z = 0`` at y decided by the sign of their derivative), which is how a
neighbour across a facet is identified.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np

from ..domains import Box, Domain, Plane, Segment
from ..errors import InvalidInput, WrongType
from ..network import ReLUNet
from ..sampling.device import BLOCK, seed_key
from ..sampling.samplers import open_uniform

# |z| below this many units of the rounding scale of z counts as 0 in a one-sided pattern.
ZERO_TOL = 1e-9


@dataclasses.dataclass(frozen=True)
class LocalDomain:
    """A bounded domain as ``x = origin + y @ basis`` with y uniform on ``[lo, hi]``."""

    dim: int
    origin: np.ndarray
    basis: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    description: dict

    @property
    def span(self) -> np.ndarray:
        return self.hi - self.lo

    @property
    def volume(self) -> float:
        """The y-volume of the domain (the denominator of every mass)."""
        return float(np.prod(self.span))

    def to_input(self, y: np.ndarray) -> np.ndarray:
        """Inputs x (n, n0) in float64 for domain coordinates y (n, dim)."""
        return self.origin + np.asarray(y, np.float64) @ self.basis


def local_domain(domain: Domain, input_dim: int) -> LocalDomain:
    """Check ``domain`` against ``input_dim`` and express it in its own coordinates."""
    if not isinstance(domain, Domain):
        raise WrongType(f"domain must be a tern_jax domain, got {type(domain).__name__}")
    if isinstance(domain, Plane) and domain.polygon is not None:
        raise InvalidInput("Plane: the volume estimators need bounds, not a polygon")
    if not isinstance(domain, (Box, Plane, Segment)):
        raise InvalidInput(
            f"the volume estimators need a bounded domain with a uniform law (Box, Plane or "
            f"Segment), not a {type(domain).__name__}: a region's mass must be its volume"
        )
    r = domain.resolve(input_dim)
    p, n0 = r.params, r.dim
    if isinstance(domain, Box):
        parts = (np.zeros(n0), np.eye(n0), p["lo"], p["hi"])
    elif isinstance(domain, Plane):
        b = p["bounds"]
        parts = (p["origin"], np.stack([p["u"], p["v"]]), b[[0, 2]], b[[1, 3]])
    else:
        parts = (p["start"], (p["end"] - p["start"])[None, :], np.zeros(1), np.ones(1))
    origin, basis, lo, hi = (np.asarray(a, np.float64) for a in parts)
    return LocalDomain(basis.shape[0], origin, basis, lo, hi, r.description)


def draw(local: LocalDomain, seed: int, n: int) -> np.ndarray:
    """``n`` uniform draws of y: the float64 values of the float32 draws that
    ``count_regions(net, domain, n, seed)`` makes (block b of 4096 from
    ``fold_in(seed_key(seed), b)``)."""
    if n < 0:
        raise InvalidInput(f"number of draws must be >= 0, got {n}")
    key = seed_key(seed)
    blocks = [uniform_block(local, key, b, BLOCK) for b in range(-(-n // BLOCK))]
    return np.concatenate(blocks)[:n] if blocks else np.zeros((0, local.dim))


def uniform_block(local: LocalDomain, key: jax.Array, index: int, size: int) -> np.ndarray:
    """Block ``index`` of ``size`` uniform draws of y from ``fold_in(key, index)``."""
    lo32 = jnp.asarray(local.lo, jnp.float32)
    span32 = jnp.asarray(local.span, jnp.float32)
    return np.asarray(_uniform(key, np.uint32(index), lo32, span32, size), np.float64)


@functools.partial(jax.jit, static_argnums=4)
def _uniform(key, index, lo32, span32, size):
    # float32 arithmetic, as the sampler does (samplers._box): the same values bit for bit
    return lo32 + span32 * open_uniform(jax.random.fold_in(key, index), (size, lo32.shape[0]))


def stream_key(seed: int, stream: int) -> jax.Array:
    """The key of an auxiliary stream of draws (Monte-Carlo volumes), independent of the
    sample's draws: ``fold_in(fold_in(seed_key(seed), 2^32 - 1), stream)``."""
    return jax.random.fold_in(jax.random.fold_in(seed_key(seed), np.uint32(2**32 - 1)), stream)


@dataclasses.dataclass(frozen=True)
class Pieces:
    """Patterns and affine maps at points y (n points, U ReLU units, k = domain dim).

    ``bits`` (n, U) bool; ``A`` (n, U, k) and ``c`` (n, U): the pre-activation of unit u on
    the point's region is ``y . A[:, u] + c[:, u]``; ``grad`` (n, k, out) and ``offset``
    (n, out): the output map ``f(y) = y @ grad + offset`` there.
    """

    bits: np.ndarray
    A: np.ndarray
    c: np.ndarray
    grad: np.ndarray
    offset: np.ndarray


def affine_pieces(
    net: ReLUNet, local: LocalDomain, y: np.ndarray, direction: np.ndarray | None = None
) -> Pieces:
    """Patterns and affine maps of ``net`` at the points ``y`` (n, k), in float64.

    ``direction`` (n, k) or None: with a direction d, a unit whose pre-activation is 0 at y (up
    to rounding) is active iff its derivative along d is > 0: the pattern of the points
    ``y + eps d`` for all small eps > 0.
    """
    y = np.asarray(y, np.float64)
    n, k = y.shape
    M = np.broadcast_to(local.basis, (n, k, local.basis.shape[1]))  # h = y' @ M + v
    v = np.broadcast_to(local.origin, (n, local.basis.shape[1]))
    h = local.to_input(y)
    # Bounds on the rounding scales of h and of M (absolute values carried through the
    # layers): a pre-activation within ZERO_TOL of its scale is 0 up to rounding. Points
    # computed by geometry (facet points) carry errors relative to the domain's size, so
    # the scale of y is its bound |lo| + |hi|, not |y|.
    ybound = np.abs(local.lo) + np.abs(local.hi)
    scale = np.abs(local.origin) + np.broadcast_to(ybound @ np.abs(local.basis), h.shape)
    mscale = np.abs(M)
    bits, As, cs = [], [], []
    last = len(net.weights) - 1
    for i, (w, b, act) in enumerate(zip(net.weights, net.biases, net.activations)):
        M, v, z = M @ w, v @ w + b, h @ w + b
        scale, mscale = scale @ np.abs(w) + np.abs(b), mscale @ np.abs(w)
        if act == "relu" and i < last:
            on = z > 0
            if direction is not None:
                dz = np.einsum("nk,nku->nu", direction, M)
                dscale = np.einsum("nk,nku->nu", np.abs(direction), mscale)
                tie = np.abs(z) <= ZERO_TOL * scale
                on = np.where(tie, dz > ZERO_TOL * dscale, on)
            bits.append(on)
            As.append(M)
            cs.append(v)
            M, v, mscale = M * on[:, None, :], v * on, mscale * on[:, None, :]
            h, scale = np.where(on, z, 0.0), np.where(on, scale, 0.0)
        else:
            h = z
    if bits:
        return Pieces(
            np.concatenate(bits, 1), np.concatenate(As, 2).transpose(0, 2, 1),
            np.concatenate(cs, 1), M, v,
        )  # fmt: skip
    return Pieces(np.zeros((n, 0), bool), np.zeros((n, 0, k)), np.zeros((n, 0)), M, v)


def pattern_keys(bits: np.ndarray) -> list[bytes]:
    """One hashable key per pattern row (its packed bits)."""
    packed = np.packbits(np.asarray(bits, bool), axis=1)
    return [row.tobytes() for row in packed]
