"""Sampling domains: where, and under which law, inputs are drawn.

A domain is a small immutable description (``Box``, ``Gaussian``, ``Plane``, ``Segment``,
``Points``). :meth:`resolve` checks it against a network's input dimension and returns a
:class:`ResolvedDomain` whose ``sample(key, n)`` draws ``n`` float32 inputs on device from a
JAX key. The engine calls it once per canonical block with ``fold_in(seed_key, block)``, so
sample i depends only on (seed, i).

A sampled count is about the regions with positive mass under this law, on this domain
(math.md section 5), never about the network's total.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

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


def _vector(value: Any, what: str, dim: int | None = None) -> np.ndarray:
    """A finite float64 vector (a scalar is broadcast to ``dim`` when given)."""
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{what}: expected numbers, got {value!r}") from None
    if arr.ndim > 1:
        raise ValueError(f"{what}: expected a scalar or a 1-D vector, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{what}: contains NaN or infinite values")
    if arr.ndim == 0:
        if dim is None:
            return arr.reshape(1)
        return np.full(dim, float(arr))
    if dim is not None and arr.shape[0] != dim:
        raise ValueError(
            f"{what}: has {arr.shape[0]} entries but the network's input dimension is {dim}"
        )
    return arr


@dataclasses.dataclass(frozen=True)
class ResolvedDomain:
    """A domain checked against an input dimension: a description and an on-device sampler."""

    dim: int
    description: dict
    sample: Sampler = dataclasses.field(compare=False, repr=False)


class Domain:
    """Base class: subclasses implement :meth:`resolve`."""

    def resolve(self, input_dim: int) -> ResolvedDomain:  # pragma: no cover - interface
        raise NotImplementedError


@dataclasses.dataclass(frozen=True, eq=False)
class Box(Domain):
    """Uniform law on the box ``[lo, hi]`` (scalars, or one entry per input dimension)."""

    lo: Any = 0.0
    hi: Any = 1.0

    def resolve(self, input_dim: int) -> ResolvedDomain:
        lo = _vector(self.lo, "Box lo", input_dim)
        hi = _vector(self.hi, "Box hi", input_dim)
        if np.any(hi <= lo):
            raise ValueError(f"Box: every hi must exceed lo, got lo={lo.tolist()} hi={hi.tolist()}")
        lo32, span32 = jnp.asarray(lo, jnp.float32), jnp.asarray(hi - lo, jnp.float32)

        def sample(key, n):
            return lo32 + span32 * open_uniform(key, (n, input_dim))

        desc = {"type": "box", "lo": lo.tolist(), "hi": hi.tolist(), "law": "uniform"}
        return ResolvedDomain(input_dim, desc, sample)


@dataclasses.dataclass(frozen=True, eq=False)
class Gaussian(Domain):
    """Normal law ``mean + std * N(0, I)`` (scalars or per-dimension vectors) on all of R^n."""

    mean: Any = 0.0
    std: Any = 1.0

    def resolve(self, input_dim: int) -> ResolvedDomain:
        mean = _vector(self.mean, "Gaussian mean", input_dim)
        std = _vector(self.std, "Gaussian std", input_dim)
        if np.any(std <= 0):
            raise ValueError(f"Gaussian std must be > 0, got {std.tolist()}")
        m32, s32 = jnp.asarray(mean, jnp.float32), jnp.asarray(std, jnp.float32)

        def sample(key, n):
            return m32 + s32 * jax.random.normal(key, (n, input_dim), jnp.float32)

        desc = {"type": "gaussian", "mean": mean.tolist(), "std": std.tolist(), "law": "normal"}
        return ResolvedDomain(input_dim, desc, sample)


@dataclasses.dataclass(frozen=True, eq=False)
class Plane(Domain):
    """The 2-D slice ``origin + s u + t v``, (s, t) uniform in ``bounds = (u0, u1, v0, v1)``."""

    origin: Any
    u: Any
    v: Any
    bounds: Any = (0.0, 1.0, 0.0, 1.0)

    def resolve(self, input_dim: int) -> ResolvedDomain:
        origin = _vector(self.origin, "Plane origin", input_dim)
        u = _vector(self.u, "Plane u", input_dim)
        v = _vector(self.v, "Plane v", input_dim)
        b = _vector(self.bounds, "Plane bounds")
        if b.shape != (4,):
            raise ValueError(f"Plane bounds must be (u0, u1, v0, v1), got {b.tolist()}")
        if not (b[1] > b[0] and b[3] > b[2]):
            raise ValueError(f"Plane bounds need u1 > u0 and v1 > v0, got {b.tolist()}")
        if np.linalg.matrix_rank(np.stack([u, v])) < 2:
            raise ValueError("Plane: u and v must be linearly independent")
        o32 = jnp.asarray(origin, jnp.float32)
        uv32 = jnp.asarray(np.stack([u, v]), jnp.float32)
        lo32 = jnp.asarray([b[0], b[2]], jnp.float32)
        span32 = jnp.asarray([b[1] - b[0], b[3] - b[2]], jnp.float32)

        def sample(key, n):
            st = lo32 + span32 * open_uniform(key, (n, 2))
            return o32 + st @ uv32

        desc = {
            "type": "plane",
            "origin": origin.tolist(),
            "u": u.tolist(),
            "v": v.tolist(),
            "bounds": b.tolist(),
            "law": "uniform in (s, t)",
        }
        return ResolvedDomain(input_dim, desc, sample)


@dataclasses.dataclass(frozen=True, eq=False)
class Segment(Domain):
    """Uniform law on the segment from ``start`` to ``end``."""

    start: Any
    end: Any

    def resolve(self, input_dim: int) -> ResolvedDomain:
        a = _vector(self.start, "Segment start", input_dim)
        b = _vector(self.end, "Segment end", input_dim)
        if np.array_equal(a, b):
            raise ValueError("Segment: start and end are the same point")
        a32, d32 = jnp.asarray(a, jnp.float32), jnp.asarray(b - a, jnp.float32)

        def sample(key, n):
            t = open_uniform(key, (n, 1))
            return a32 + t * d32

        desc = {"type": "segment", "start": a.tolist(), "end": b.tolist(), "law": "uniform"}
        return ResolvedDomain(input_dim, desc, sample)


@dataclasses.dataclass(frozen=True, eq=False)
class Points(Domain):
    """User data (e.g. a training set), optionally with a ball of ``radius`` around each point.

    Sample i uses point ``i mod M`` (a stratified sweep: with N = M and radius 0 the count
    is exactly the number of distinct patterns of the data set). With ``radius > 0`` it is
    moved uniformly inside the Euclidean ball of that radius around the point.
    ``array`` is an (M, d) array or the path of a ``.npy`` file.
    """

    array: Any
    radius: float = 0.0

    def _data(self) -> tuple[np.ndarray, str | None]:
        source = None
        arr = self.array
        if isinstance(arr, (str, os.PathLike)):
            source = os.fspath(arr)
            if not os.path.isfile(source):
                raise FileNotFoundError(f"Points: no file at {source!r}")
            try:
                arr = np.load(source, allow_pickle=False)
            except (ValueError, OSError) as e:
                raise ValueError(f"Points: cannot read {source!r} as a .npy array ({e})") from None
        try:
            data = np.array(arr, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError("Points: the data cannot be read as a real array") from None
        return data, source

    def resolve(self, input_dim: int) -> ResolvedDomain:
        data, source = self._data()
        if data.ndim != 2 or data.shape[0] == 0:
            raise ValueError(f"Points: expected a non-empty (M, d) array, got shape {data.shape}")
        if data.shape[1] != input_dim:
            raise ValueError(
                f"Points: points have dimension {data.shape[1]} but the network's input "
                f"dimension is {input_dim}"
            )
        if not np.all(np.isfinite(data)):
            raise ValueError("Points: the data contain NaN or infinite values")
        try:
            radius = float(self.radius)
        except (TypeError, ValueError):
            raise ValueError(f"Points radius must be a number, got {self.radius!r}") from None
        if not (np.isfinite(radius) and radius >= 0):
            raise ValueError(f"Points radius must be finite and >= 0, got {self.radius!r}")
        m = data.shape[0]
        pts32 = jnp.asarray(data, jnp.float32)

        def sample_at(key, first_index, n):
            idx = (first_index + jnp.arange(n, dtype=jnp.uint32)) % jnp.uint32(m)
            x = pts32[idx]
            if radius > 0:
                kd, kr = jax.random.split(key)
                g = jax.random.normal(kd, (n, input_dim), jnp.float32)
                g = g / jnp.maximum(jnp.linalg.norm(g, axis=1, keepdims=True), 1e-30)
                r = radius * open_uniform(kr, (n, 1)) ** (1.0 / input_dim)
                x = x + r * g
            return x

        desc = {
            "type": "points",
            "num_points": int(m),
            "radius": radius,
            "source": source,
            "data_sha256": _digest(data),
            "law": "point i mod M" + (", uniform in a ball" if radius > 0 else ""),
        }
        return ResolvedDomain(input_dim, desc, IndexedSampler(sample_at))


def _digest(data: np.ndarray) -> str:
    import hashlib

    return hashlib.sha256(np.ascontiguousarray(data, dtype="<f8").tobytes()).hexdigest()[:16]


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
