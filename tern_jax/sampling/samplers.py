"""On-device samplers: inputs drawn from a domain (:mod:`tern_jax.domains`) from a JAX key.

:func:`resolve` checks a domain against a network's input dimension and returns a
:class:`Sampling`: the domain's description and a ``sample(key, n)`` that draws ``n`` float32
inputs on device. The engine calls it once per canonical block with ``fold_in(seed_key,
block)``, so sample i depends only on (seed, i).

A sampled count is about the regions with positive mass under this law, on this domain
(math.md section 5), never about the network's total.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from ..domains import Box, Domain, Gaussian, Plane, Points, ResolvedDomain, Segment
from ..errors import InvalidInput, WrongType

Sampler = Callable[[jax.Array, int], jax.Array]


def open_uniform(key: jax.Array, shape: tuple[int, ...]) -> jax.Array:
    """Uniform float32 on (0, 1) at the *centres* of a 2^-23 grid: (k + 1/2) 2^-23.

    ``jax.random.uniform`` returns multiples of 2^-23, which include 0 and every dyadic
    breakpoint j / 2^m of a ternary network (0.25, 0.5, ...). Hitting one exactly puts the
    sample on a lower-dimensional face with a pattern of its own, so ~10^7 samples would
    report faces as extra regions. Odd multiples of 2^-24 never lie on such a breakpoint, and
    stay odd through the small-integer affine maps of the constructions.
    """
    k = jax.random.bits(key, shape, jnp.uint32) >> jnp.uint32(9)
    return (k.astype(jnp.float32) + jnp.float32(0.5)) * jnp.float32(2.0**-23)


@dataclasses.dataclass(frozen=True)
class Sampling:
    """A domain checked against an input dimension, with its on-device sampler."""

    dim: int
    description: dict
    sample: Sampler = dataclasses.field(compare=False, repr=False)


class IndexedSampler:
    """A sampler that also needs the global index of its first sample (``Points``)."""

    def __init__(self, fn: Callable[[jax.Array, jax.Array, int], jax.Array]):
        self.fn = fn

    def __call__(self, key, n, first_index=None):
        if first_index is None:
            first_index = jnp.uint32(0)
        return self.fn(key, first_index, n)


def sampler_needs_index(sample: Sampler) -> bool:
    return isinstance(sample, IndexedSampler)


def _box(r: ResolvedDomain) -> Sampler:
    lo, hi = r.params["lo"], r.params["hi"]
    lo32, span32 = jnp.asarray(lo, jnp.float32), jnp.asarray(hi - lo, jnp.float32)
    d = r.dim

    def sample(key, n):
        return lo32 + span32 * open_uniform(key, (n, d))

    return sample


def _gaussian(r: ResolvedDomain) -> Sampler:
    m32 = jnp.asarray(r.params["mean"], jnp.float32)
    s32 = jnp.asarray(r.params["std"], jnp.float32)
    d = r.dim

    def sample(key, n):
        return m32 + s32 * jax.random.normal(key, (n, d), jnp.float32)

    return sample


def _plane(r: ResolvedDomain) -> Sampler:
    p = r.params
    b = p["bounds"]
    o32 = jnp.asarray(p["origin"], jnp.float32)
    uv32 = jnp.asarray(np.stack([p["u"], p["v"]]), jnp.float32)
    lo32 = jnp.asarray([b[0], b[2]], jnp.float32)
    span32 = jnp.asarray([b[1] - b[0], b[3] - b[2]], jnp.float32)

    def sample(key, n):
        st = lo32 + span32 * open_uniform(key, (n, 2))
        return o32 + st @ uv32

    return sample


def _segment(r: ResolvedDomain) -> Sampler:
    a, b = r.params["start"], r.params["end"]
    a32, d32 = jnp.asarray(a, jnp.float32), jnp.asarray(b - a, jnp.float32)

    def sample(key, n):
        return a32 + open_uniform(key, (n, 1)) * d32

    return sample


def _points(r: ResolvedDomain) -> Sampler:
    data, radius, d = r.params["data"], r.params["radius"], r.dim
    m = data.shape[0]
    pts32 = jnp.asarray(data, jnp.float32)

    def sample_at(key, first_index, n):
        idx = (first_index + jnp.arange(n, dtype=jnp.uint32)) % jnp.uint32(m)
        x = pts32[idx]
        if radius > 0:
            kd, kr = jax.random.split(key)
            g = jax.random.normal(kd, (n, d), jnp.float32)
            g = g / jnp.maximum(jnp.linalg.norm(g, axis=1, keepdims=True), 1e-30)
            x = x + radius * open_uniform(kr, (n, 1)) ** (1.0 / d) * g
        return x

    return IndexedSampler(sample_at)


_SAMPLERS = {Box: _box, Gaussian: _gaussian, Plane: _plane, Segment: _segment, Points: _points}


def resolve(domain: Domain, input_dim: int) -> Sampling:
    """Check ``domain`` against ``input_dim`` and build its on-device sampler."""
    if not isinstance(domain, Domain):
        raise WrongType(
            f"domain must be a tern_jax domain (Box, Gaussian, Plane, Segment, Points), got "
            f"{type(domain).__name__}"
        )
    build = _SAMPLERS.get(type(domain))
    if build is None:
        raise InvalidInput(f"a {type(domain).__name__} domain cannot be sampled")
    if isinstance(domain, Plane) and domain.polygon is not None:
        raise InvalidInput("Plane: sampling needs bounds, not a polygon")
    r = domain.resolve(input_dim)
    return Sampling(r.dim, r.description, build(r))
