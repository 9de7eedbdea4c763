"""On-device samplers: inputs drawn from a domain (:mod:`tern_jax.domains`) from a JAX key.

:func:`resolve` checks a domain against a network's input dimension and returns a
:class:`Sampling`: the domain's description, its exact affine *input map* and a ``draw``
that produces sample *coordinates* ``c`` (one row of ``coords`` numbers per sample) on device.
The input is ``x = offset + c @ scale`` (``scale`` diagonal for a box). The engine folds this
map into the network's first layer on the host, exactly (:mod:`tern_jax.sampling.lattice`),
so a domain far from the origin costs no precision: ``x`` itself is never formed.

Laws:

- ``lattice`` (Box, Plane, Segment: uniform): ``c = t / 2**(m + 1)`` with ``t = 2 k + 1`` and
  ``k`` uniform in ``[0, 2**m)`` from the key bits (threefry of each coordinate's own
  counter, :func:`counter_bits`, so one sample can be drawn again alone), i.e. the centres
  of a grid of ``2**m`` cells per coordinate. The device draws the odd integers ``t`` (exact
  in float32 for m <= 23) and the scale ``2**-(m + 1)`` goes into the folded first layer.
  Every sample sits at least half a cell away from any grid line, so it never lands on a
  breakpoint of an integer network whose pieces the grid resolves; with m = 23 these are
  today's (and the earlier float32 sampler's) points.
- ``points`` (Points): ``c = x``, a data point (an argument of the compiled programs, not a
  constant in them), moved uniformly inside a ball when asked.
- ``normal`` (Gaussian): ``c ~ N(0, I)`` in the forward pass's float type.

The engine calls ``draw`` once per canonical block of 4096 rows with ``fold_in(seed_key,
block)``, so sample i depends only on (seed, i). A sampled count is about the regions with
positive mass under this law, on this domain (math.md section 5), never about the network's
total.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from ..domains import Box, Domain, Gaussian, Plane, Points, ResolvedDomain, Segment
from ..errors import InvalidInput, WrongType
from .dyadic import Dyadic

LATTICE, NORMAL, POINTS = "lattice", "normal", "points"
# Beyond 2^52 adjacent float64 numbers are more than 1 apart: an input coordinate that large
# cannot be told from its neighbours at unit scale, where an integer network's breakpoints
# lie, so a count there would describe the rounding rather than the network.
MAX_COORDINATE = 2.0**52

# draw(key, n, first_index, m, dtype, data) -> (n, coords) coordinates in dtype; ``data`` is
# :attr:`Sampling.data` on device, passed in (not baked into the compiled program).
Draw = Callable[[jax.Array, int, jax.Array, int, object, tuple], jax.Array]
# redraw(keys, rows, first_index, m, dtype, data) -> (r, coords): row rows[i] of the draw of
# the block with key keys[i] and first sample first_index[i] (uint32), drawn alone.
Redraw = Callable[[jax.Array, jax.Array, jax.Array, int, object, tuple], jax.Array]


def open_uniform(key: jax.Array, shape: tuple[int, ...], dtype=jnp.float32) -> jax.Array:
    """Uniform on (0, 1) at the centres of a 2^-23 grid: (k + 1/2) 2^-23 (never 0 or 1), from
    the lattice law's bits (:func:`counter_bits`): the lattice draw with m = 23."""
    size = math.prod(shape)
    if counters_fit(size, 1):
        flat = jnp.arange(size, dtype=jnp.uint32).reshape(shape)
        bits = counter_bits(jax.random.key_data(key), flat)
    else:
        bits = jax.random.bits(key, shape, jnp.uint32)
    k = bits >> jnp.uint32(9)
    return (k.astype(dtype) + 0.5) * 2.0**-23


def lattice_coordinates(bits: jax.Array, m: int, dtype) -> jax.Array:
    """Odd integers ``t = 2 (bits >> (32 - m)) + 1`` in ``[1, 2**(m + 1))`` as ``dtype``."""
    k = bits >> jnp.uint32(32 - m)
    return k.astype(dtype) * 2 + 1


@dataclasses.dataclass(frozen=True)
class Sampling:
    """A domain checked against an input dimension: its law, exact input map and sampler.

    ``x = offset + c @ scale`` for sample coordinates ``c`` (``coords`` per sample);
    ``scale`` is a (coords, dim) :class:`Dyadic`, or the (dim,) diagonal when ``diagonal``.
    For the ``lattice`` law ``c`` is the cell centre in the unit cube (``t / 2**(m + 1)``).
    """

    dim: int
    description: dict
    law: str
    coords: int
    offset: Dyadic = dataclasses.field(compare=False, repr=False)
    scale: Dyadic = dataclasses.field(compare=False, repr=False)
    diagonal: bool
    draw: Draw = dataclasses.field(compare=False, repr=False)
    redraw: Redraw | None = dataclasses.field(default=None, compare=False, repr=False)
    data: np.ndarray | None = dataclasses.field(default=None, compare=False, repr=False)
    _on_device: dict = dataclasses.field(default_factory=dict, compare=False, repr=False)

    @property
    def program(self) -> tuple:
        """What the compiled sampler depends on: the law and shape (the domain's numbers are
        folded into the parameters, a points law's data is an argument)."""
        if self.law == POINTS:
            d = self.description
            return (self.law, self.coords, d["num_points"], d["radius"] > 0)
        return (self.law, self.coords)

    def device_data(self, dtype) -> tuple:
        """The draws' ``data`` argument: () or (the points as a ``dtype`` device array,),
        copied to the device once per sampler (a run's steps and its check share it)."""
        if self.data is None:
            return ()
        name = jnp.dtype(dtype).name
        if name not in self._on_device:
            self._on_device[name] = jnp.asarray(self.data, dtype)
        return (self._on_device[name],)


def _exact(a) -> Dyadic:
    return Dyadic.of(a)


def _lattice_draw(k: int) -> Draw:
    def draw(key, n, first_index, m, dtype, data=()):
        if not counters_fit(n, k):
            return lattice_coordinates(jax.random.bits(key, (n, k), jnp.uint32), m, dtype)
        flat = jnp.arange(n * k, dtype=jnp.uint32).reshape(n, k)
        return lattice_coordinates(counter_bits(jax.random.key_data(key), flat), m, dtype)

    return draw


MAX_COUNTERS = 2**32  # a block's draws are addressed by 32-bit counters


def counters_fit(n: int, k: int) -> bool:
    """Do the flat indices of an (n, k) draw fit the 32-bit counters of :func:`counter_bits`?
    (Beyond, at a million coordinates and more, ``jax.random.bits`` draws the block.)"""
    return n * k <= MAX_COUNTERS


def counter_bits(key_data: jax.Array, flat: jax.Array) -> jax.Array:
    """The lattice law's uint32 words: threefry-2x32 of counter (0, ``flat``) under key
    ``key_data`` (two uint32 words in the last axis, broadcasting against ``flat``), its two
    output words XORed. Element (i, j) of a block of n rows has ``flat = i k + j``, so a
    single row can be drawn alone (:func:`draw_rows`). This is what ``jax.random.bits(key,
    (n, k), uint32)`` gives with JAX's default (partitionable) threefry, and the draw keeps
    it whatever that setting: records do not depend on it (the tests compare the two)."""
    b1, b2 = threefry2x32(key_data[..., 0:1], key_data[..., 1:2], jnp.zeros_like(flat), flat)
    return b1 ^ b2


def rows_drawable(sampling: Sampling, block: int) -> bool:
    """Can :func:`draw_rows` give single rows of this sampler's ``block``-row draws? Lattice
    draws whose counters fit, and data points without a ball around them."""
    if sampling.law == LATTICE and not counters_fit(block, sampling.coords):
        return False
    return sampling.redraw is not None


def draw_rows(sampling: Sampling, keys, rows, first_index, m: int, dtype, data=()) -> jax.Array:
    """Rows ``rows`` (uint32, within their blocks) of the draws of blocks whose keys are
    ``keys`` and whose first sample is ``first_index`` (one of each per row): equal to
    ``draw(key, n, first_index, ...)[row]`` without drawing the block's other rows (where
    :func:`rows_drawable`; the tests compare the two)."""
    return sampling.redraw(keys, rows.astype(jnp.uint32), first_index, m, dtype, data)


def _lattice_redraw(k: int) -> Redraw:
    def redraw(keys, rows, first_index, m, dtype, data=()):
        flat = rows[:, None] * jnp.uint32(k) + jnp.arange(k, dtype=jnp.uint32)
        return lattice_coordinates(counter_bits(jax.random.key_data(keys), flat), m, dtype)

    return redraw


_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
_PARITY = 0x1BD11BDA


def threefry2x32(k1, k2, x0, x1) -> tuple[jax.Array, jax.Array]:
    """Threefry-2x32 with 20 rounds (Salmon et al., "Parallel random numbers: as easy as 1,
    2, 3", SC 2011), JAX's key schedule and rotations, on uint32 arrays that broadcast.
    Plain elementwise integer operations, which XLA fuses into one loop: on CPU about 10x
    faster than JAX's primitive (lowered there with rolled loops) for per-row keys. The
    tests check it against ``jax.random.bits``."""
    ks = (k1, k2, k1 ^ k2 ^ jnp.uint32(_PARITY))
    x0, x1 = x0 + ks[0], x1 + ks[1]
    for i in range(5):
        for r in _ROTATIONS[i % 2]:
            x0 = x0 + x1
            x1 = ((x1 << jnp.uint32(r)) | (x1 >> jnp.uint32(32 - r))) ^ x0
        x0, x1 = x0 + ks[(i + 1) % 3], x1 + ks[(i + 2) % 3] + jnp.uint32(i + 1)
    return x0, x1


def _box(r: ResolvedDomain) -> Sampling:
    lo, hi = _exact(r.params["lo"]), _exact(r.params["hi"])
    return Sampling(r.dim, r.description, LATTICE, r.dim, lo, hi - lo, True, _lattice_draw(r.dim),
                    _lattice_redraw(r.dim))  # fmt: skip


def _plane(r: ResolvedDomain) -> Sampling:
    p = r.params
    b = [_exact(v) for v in p["bounds"]]
    u, v = _exact(p["u"]), _exact(p["v"])
    offset = _exact(p["origin"]) + b[0] * u + b[2] * v
    rows = [(b[1] - b[0]) * u, (b[3] - b[2]) * v]
    e = max(rr.exp for rr in rows)
    scale = Dyadic(np.stack([rr.at_exp(e) for rr in rows]), e)
    return Sampling(r.dim, r.description, LATTICE, 2, offset, scale, False, _lattice_draw(2),
                    _lattice_redraw(2))  # fmt: skip


def _segment(r: ResolvedDomain) -> Sampling:
    a, b = _exact(r.params["start"]), _exact(r.params["end"])
    d = b - a
    scale = Dyadic(d.num.reshape(1, -1), d.exp)
    return Sampling(r.dim, r.description, LATTICE, 1, a, scale, False, _lattice_draw(1),
                    _lattice_redraw(1))  # fmt: skip


def _gaussian(r: ResolvedDomain) -> Sampling:
    k = r.dim

    def draw(key, n, first_index, m, dtype, data=()):
        return jax.random.normal(key, (n, k), dtype)

    mean, std = _exact(r.params["mean"]), _exact(r.params["std"])
    return Sampling(r.dim, r.description, NORMAL, k, mean, std, True, draw)


def _points(r: ResolvedDomain) -> Sampling:
    data, radius, d = r.params["data"], r.params["radius"], r.dim
    count = data.shape[0]

    def draw(key, n, first_index, m, dtype, data):
        idx = (first_index + jnp.arange(n, dtype=jnp.uint32)) % jnp.uint32(count)
        x = data[0].astype(dtype)[idx]
        if radius > 0:
            kd, kr = jax.random.split(key)
            g = jax.random.normal(kd, (n, d), dtype)
            g = g / jnp.maximum(jnp.linalg.norm(g, axis=1, keepdims=True), 1e-30)
            x = x + radius * open_uniform(kr, (n, 1), dtype) ** (1.0 / d) * g
        return x

    def redraw(keys, rows, first_index, m, dtype, data):  # the data points alone, no ball
        return data[0].astype(dtype)[(first_index + rows) % jnp.uint32(count)]

    zero, one = _exact(np.zeros(d)), _exact(np.ones(d))
    return Sampling(r.dim, r.description, POINTS, d, zero, one, True, draw,
                    None if radius > 0 else redraw, data)  # fmt: skip


def _largest_coordinate(domain: Domain, r: ResolvedDomain) -> float:
    """The largest |coordinate| of the domain's points (of mean +- 8 std for a Gaussian)."""
    p = r.params
    if isinstance(domain, Box):
        return float(max(np.max(np.abs(p["lo"])), np.max(np.abs(p["hi"]))))
    if isinstance(domain, Segment):
        return float(max(np.max(np.abs(p["start"])), np.max(np.abs(p["end"]))))
    if isinstance(domain, Plane):
        b = p["bounds"]
        corners = [p["origin"] + s * p["u"] + t * p["v"] for s in b[:2] for t in b[2:]]
        return float(np.max(np.abs(corners)))
    if isinstance(domain, Gaussian):
        return float(np.max(np.abs(p["mean"]) + 8 * p["std"]))
    data = p["data"]  # max |x| without an |x| temporary (data sets are hundreds of MB)
    return float(max(-np.min(data), np.max(data)) + p["radius"])


_SAMPLERS = {Box: _box, Gaussian: _gaussian, Plane: _plane, Segment: _segment, Points: _points}


def resolve(domain: Domain, input_dim: int) -> Sampling:
    """Check ``domain`` against ``input_dim`` and build its sampler and exact input map."""
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
    big = _largest_coordinate(domain, r)
    if not big < MAX_COORDINATE:
        raise InvalidInput(
            f"{type(domain).__name__}: input coordinates reach {big:.3g}, beyond 2^52 "
            f"(~{MAX_COORDINATE:.3g}), where float64 numbers are more than 1 apart: the "
            "precision cannot resolve the network's regions at that scale, so the count "
            "would be meaningless; rescale the inputs (divide the domain and multiply the "
            "first layer's weights by the same factor)"
        )
    return build(r)
