"""Domains: where a count is taken, one vocabulary for every engine.

A domain is a small immutable description checked against a network's input dimension:

- :class:`Box` ``[lo, hi]`` (full-dimensional; uniform law when sampled),
- :class:`Plane` ``origin + s u + t v`` with ``(s, t)`` in a box (or a convex polygon),
- :class:`Segment` from ``start`` to ``end`` (with one input, an end may be +-inf: a ray),
- :class:`Line`, the whole line through two points (exact engines only),
- :class:`Gaussian` ``mean + std N(0, I)`` and :class:`Points` (data, optionally with balls
  around the points): sampling laws on all of R^n0, for the sampling engine only.

The sampling engine (``tern_jax.sampling``) draws inputs from a domain; the exact engines
(``tern_jax.exact``) partition it. ``None`` in place of a domain means all of R^n0 for the
exact engines. :meth:`Domain.resolve` checks a domain against an input dimension and returns
its float64 parameters and a JSON description; :meth:`Domain.exact` returns its parameters as
exact rationals (decimal strings and Fractions are read exactly).

:func:`parse_domain` reads the command line's ``--domain`` text (``box:0,1``, ``plane:...``).

Long module: the six domains, their checks and their one text syntax are the vocabulary
every engine and the CLI share; kept together so that a domain's rules live in one place.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os
from fractions import Fraction
from typing import Any

import numpy as np

from .arith import as_fractions
from .checks import check_int
from .errors import DamagedFile, InvalidInput, MissingFile, WrongType

__all__ = [
    "Box",
    "Domain",
    "Gaussian",
    "Line",
    "Plane",
    "Points",
    "ResolvedDomain",
    "Segment",
    "parse_domain",
]


# -- checked numbers ------------------------------------------------------------------------
def float_vector(value: Any, what: str, dim: int | None = None) -> np.ndarray:
    """A finite float64 vector (a scalar is broadcast to ``dim`` when given)."""
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise InvalidInput(f"{what}: expected numbers, got {value!r}") from e
    if arr.ndim > 1:
        raise InvalidInput(f"{what}: expected a scalar or a 1-D vector, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise InvalidInput(f"{what}: contains NaN or infinite values")
    if arr.ndim == 0:
        return arr.reshape(1) if dim is None else np.full(dim, float(arr))
    if dim is not None and arr.shape[0] != dim:
        raise InvalidInput(
            f"{what}: has {arr.shape[0]} entries but the network's input dimension is {dim}"
        )
    return arr


def exact_vector(value: Any, what: str, dim: int | None = None) -> list[Fraction]:
    """The same vector as exact Fractions (floats are read as the dyadic rationals they are,
    decimal strings and Fractions exactly); a scalar is broadcast to ``dim``."""
    if isinstance(value, (str, Fraction, int, float, np.integer, np.floating)):
        vals = [value] if dim is None else [value] * dim
    else:
        try:
            vals = list(np.asarray(value, dtype=object).ravel())
        except (TypeError, ValueError) as e:
            raise InvalidInput(f"{what}: cannot read {value!r} as a point") from e
        if len(vals) == 1 and dim is not None and dim > 1:
            vals = vals * dim
    if dim is not None and len(vals) != dim:
        raise InvalidInput(f"{what}: expected {dim} coordinates for this network, got {len(vals)}")
    return as_fractions(vals, what)


def _check_dim(input_dim: Any) -> int:
    return check_int(input_dim, "input_dim", 1)


def _infinite_end(value: Any) -> int:
    """+1 / -1 for a scalar +-inf (or a one-entry vector holding one), 0 otherwise."""
    arr = np.asarray(value, dtype=object).ravel()
    if arr.size != 1:
        return 0
    v = arr[0]
    if isinstance(v, str):
        v = v.strip().lower()
        return {"inf": 1, "+inf": 1, "infinity": 1, "-inf": -1, "-infinity": -1}.get(v, 0)
    try:
        f = float(v)
    except (TypeError, ValueError, OverflowError):
        return 0
    if math.isnan(f):
        raise InvalidInput("segment end is NaN")
    return int(np.sign(f)) if math.isinf(f) else 0


@dataclasses.dataclass(frozen=True)
class ResolvedDomain:
    """A domain checked against an input dimension: float64 parameters and a description.

    ``params`` holds the checked float64 arrays by name (``lo``/``hi`` for a box, ...);
    ``description`` is the JSON-ready dict records cite; ``domain`` the original object.
    """

    dim: int
    description: dict
    params: dict = dataclasses.field(compare=False, repr=False)
    domain: Domain = dataclasses.field(compare=False, repr=False)


class Domain:
    """Base class of the domains; subclasses implement :meth:`resolve` (and :meth:`exact`
    where exact engines can partition them)."""

    kind = "domain"

    def resolve(self, input_dim: int) -> ResolvedDomain:  # pragma: no cover - interface
        raise NotImplementedError

    def exact(self, input_dim: int) -> dict[str, Any]:
        """The parameters as exact rationals (for the exact engines)."""
        raise InvalidInput(
            f"exact counts need a bounded domain (Box, Plane, Segment, Line) or None for all "
            f"of R^n0, not a {type(self).__name__} (a sampling law)"
        )


@dataclasses.dataclass(frozen=True, eq=False)
class Box(Domain):
    """The box ``[lo, hi]`` (scalars, or one entry per input dimension); uniform when sampled."""

    lo: Any = 0.0
    hi: Any = 1.0
    kind = "box"

    def resolve(self, input_dim: int) -> ResolvedDomain:
        d = _check_dim(input_dim)
        lo = float_vector(self.lo, "Box lo", d)
        hi = float_vector(self.hi, "Box hi", d)
        if np.any(hi <= lo):
            raise InvalidInput(
                f"Box: every hi must exceed lo, got lo={lo.tolist()} hi={hi.tolist()}"
            )
        desc = {"type": "box", "lo": lo.tolist(), "hi": hi.tolist(), "law": "uniform"}
        return ResolvedDomain(d, desc, {"lo": lo, "hi": hi}, self)

    def exact(self, input_dim: int) -> dict[str, Any]:
        d = _check_dim(input_dim)
        lo, hi = exact_vector(self.lo, "Box lo", d), exact_vector(self.hi, "Box hi", d)
        if any(h <= l for l, h in zip(lo, hi)):
            raise InvalidInput(
                f"Box: every hi must exceed lo, got lo={[str(x) for x in lo]} "
                f"hi={[str(x) for x in hi]}"
            )
        return {"lo": lo, "hi": hi}


@dataclasses.dataclass(frozen=True, eq=False)
class Gaussian(Domain):
    """Normal law ``mean + std * N(0, I)`` (scalars or per-dimension vectors) on all of R^n."""

    mean: Any = 0.0
    std: Any = 1.0
    kind = "gaussian"

    def resolve(self, input_dim: int) -> ResolvedDomain:
        d = _check_dim(input_dim)
        mean = float_vector(self.mean, "Gaussian mean", d)
        std = float_vector(self.std, "Gaussian std", d)
        if np.any(std <= 0):
            raise InvalidInput(f"Gaussian std must be > 0, got {std.tolist()}")
        desc = {"type": "gaussian", "mean": mean.tolist(), "std": std.tolist(), "law": "normal"}
        return ResolvedDomain(d, desc, {"mean": mean, "std": std}, self)


@dataclasses.dataclass(frozen=True, eq=False)
class Plane(Domain):
    """The 2-D slice ``origin + s u + t v`` with ``(s, t)`` in ``bounds = (u0, u1, v0, v1)``
    (uniform in (s, t) when sampled), or in a convex ``polygon`` of (s, t) vertices (exact
    engines only; then ``bounds`` is ignored)."""

    origin: Any
    u: Any
    v: Any
    bounds: Any = (0.0, 1.0, 0.0, 1.0)
    polygon: Any = None
    kind = "plane"

    def resolve(self, input_dim: int) -> ResolvedDomain:
        d = _check_dim(input_dim)
        origin = float_vector(self.origin, "Plane origin", d)
        u = float_vector(self.u, "Plane u", d)
        v = float_vector(self.v, "Plane v", d)
        b = float_vector(self.bounds, "Plane bounds")
        if b.shape != (4,):
            raise InvalidInput(f"Plane bounds must be (u0, u1, v0, v1), got {b.tolist()}")
        if not (b[1] > b[0] and b[3] > b[2]):
            raise InvalidInput(f"Plane bounds need u1 > u0 and v1 > v0, got {b.tolist()}")
        if np.linalg.matrix_rank(np.stack([u, v])) < 2:
            raise InvalidInput(
                "Plane: u and v must be linearly independent (they do not span a plane)"
            )
        desc = {
            "type": "plane",
            "origin": origin.tolist(),
            "u": u.tolist(),
            "v": v.tolist(),
            "bounds": b.tolist(),
            "law": "uniform in (s, t)",
        }
        return ResolvedDomain(d, desc, {"origin": origin, "u": u, "v": v, "bounds": b}, self)

    def exact(self, input_dim: int) -> dict[str, Any]:
        d = _check_dim(input_dim)
        o = exact_vector(self.origin, "origin", d)
        u = exact_vector(self.u, "u", d)
        v = exact_vector(self.v, "v", d)
        if not any(u[i] * v[j] != u[j] * v[i] for i in range(d) for j in range(i + 1, d)):
            hint = " (a network with 1 input has no planes)" if d == 1 else ""
            raise InvalidInput(
                f"u and v are parallel (or one is zero): they do not span a plane{hint}"
            )
        out: dict[str, Any] = {"origin": o, "u": u, "v": v, "bounds": None, "polygon": None}
        if self.polygon is not None:
            out["polygon"] = [
                exact_vector(q, f"polygon vertex {i}", 2) for i, q in enumerate(self.polygon)
            ]
        else:
            u0, u1, v0, v1 = exact_vector(self.bounds, "bounds", 4)
            if not (u0 < u1 and v0 < v1):
                raise InvalidInput(
                    f"bounds must satisfy u0 < u1 and v0 < v1 (zero-width or reversed box), "
                    f"got ({u0}, {u1}, {v0}, {v1})"
                )
            out["bounds"] = (u0, u1, v0, v1)
        return out


@dataclasses.dataclass(frozen=True, eq=False)
class Segment(Domain):
    """The segment from ``start`` to ``end`` (uniform when sampled). With one input, an end
    may be ``-inf``/``inf`` (or ``None``) for a ray or the whole line (exact engines only)."""

    start: Any
    end: Any
    kind = "segment"

    def resolve(self, input_dim: int) -> ResolvedDomain:
        d = _check_dim(input_dim)
        if (
            self.start is None
            or self.end is None
            or _infinite_end(self.start)
            or (_infinite_end(self.end))
        ):
            raise InvalidInput(
                "Segment: sampling needs two finite points (an infinite end is for the exact "
                "engines only)"
            )
        a = float_vector(self.start, "Segment start", d)
        b = float_vector(self.end, "Segment end", d)
        if np.array_equal(a, b):
            raise InvalidInput("Segment: start and end are the same point")
        desc = {"type": "segment", "start": a.tolist(), "end": b.tolist(), "law": "uniform"}
        return ResolvedDomain(d, desc, {"start": a, "end": b}, self)

    def exact(self, input_dim: int) -> dict[str, Any]:
        """``{"start", "end"}``: exact points, or with one input +-inf (as float) for a ray."""
        d = _check_dim(input_dim)
        out = {}
        for name, value, default in (("start", self.start, -1), ("end", self.end, 1)):
            inf = default if value is None else _infinite_end(value)
            if inf:
                if d != 1:
                    raise InvalidInput(
                        f"a network with {d} inputs needs two finite points start and end "
                        "(use Line for the whole line through them)"
                    )
                out[name] = math.inf * inf
            else:
                out[name] = exact_vector(value, name, d)
        return out


@dataclasses.dataclass(frozen=True, eq=False)
class Line(Domain):
    """The whole line through the points ``a`` and ``b`` (exact engines only)."""

    a: Any
    b: Any
    kind = "line"

    def resolve(self, input_dim: int) -> ResolvedDomain:
        raise InvalidInput(
            "Line: a whole line cannot be sampled uniformly; use a Segment for sampling"
        )

    def exact(self, input_dim: int) -> dict[str, Any]:
        d = _check_dim(input_dim)
        a, b = exact_vector(self.a, "a", d), exact_vector(self.b, "b", d)
        if a == b:
            raise InvalidInput("start and end coincide: they do not define a line")
        return {"a": a, "b": b}


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
    kind = "points"

    def _data(self) -> tuple[np.ndarray, str | None]:
        source = None
        arr = self.array
        if isinstance(arr, (str, os.PathLike)):
            source = os.path.abspath(os.fspath(arr))
            if not os.path.isfile(source):
                raise MissingFile(f"Points: no file at {os.fspath(arr)!r}")
            try:
                arr = np.load(source, allow_pickle=False)
            except (ValueError, OSError, EOFError) as e:
                raise DamagedFile(f"Points: cannot read {source!r} as a .npy array ({e})") from e
        try:
            data = np.array(arr, dtype=np.float64)
        except (TypeError, ValueError) as e:
            raise InvalidInput("Points: the data cannot be read as a real array") from e
        return data, source

    def resolve(self, input_dim: int) -> ResolvedDomain:
        d = _check_dim(input_dim)
        data, source = self._data()
        if data.ndim != 2 or data.shape[0] == 0:
            raise InvalidInput(f"Points: expected a non-empty (M, d) array, got shape {data.shape}")
        if data.shape[1] != d:
            raise InvalidInput(
                f"Points: points have dimension {data.shape[1]} but the network's input "
                f"dimension is {d}"
            )
        if not np.all(np.isfinite(data)):
            raise InvalidInput("Points: the data contain NaN or infinite values")
        try:
            radius = float(self.radius)
        except (TypeError, ValueError) as e:
            raise InvalidInput(f"Points radius must be a number, got {self.radius!r}") from e
        if not (np.isfinite(radius) and radius >= 0):
            raise InvalidInput(f"Points radius must be finite and >= 0, got {self.radius!r}")
        # The array's own buffer (little-endian float64, C order), not a copy of it.
        digest = hashlib.sha256(np.ascontiguousarray(data, dtype="<f8")).hexdigest()
        desc = {
            "type": "points",
            "num_points": int(data.shape[0]),
            "radius": radius,
            "source": source,
            "data_sha256": digest[:16],
            "law": "point i mod M" + (", uniform in a ball" if radius > 0 else ""),
        }
        return ResolvedDomain(d, desc, {"data": data, "radius": radius}, self)


# -- the command line's --domain text ---------------------------------------------------------
DOMAIN_SYNTAX = (
    "box:LO,HI (scalars) | box:LO1,LO2;HI1,HI2 (per dimension) | gaussian | gaussian:MEAN,STD "
    "| plane:ORIGIN;U;V;U0,U1,V0,V1 | segment:A;B | points:FILE.npy[,RADIUS]  (vectors are "
    "comma-separated)"
)


def _numbers(text: str, what: str) -> np.ndarray:
    try:
        values = [float(t) for t in text.split(",") if t.strip() != ""]
    except ValueError as e:
        raise InvalidInput(f"{what}: expected comma-separated numbers, got {text!r}") from e
    if not values:
        raise InvalidInput(f"{what}: no numbers in {text!r}")
    arr = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise InvalidInput(f"{what}: non-finite value in {text!r}")
    return arr


def _pair(parts: list[str], kind: str, names: tuple[str, str], spec: str):
    """Two domain parameters, written ``A,B`` (two scalars) or ``A1,..;B1,..`` (vectors)."""
    a, b = names
    if len(parts) == 1:
        v = _numbers(parts[0], f"--domain {kind}")
        if v.size != 2:
            raise InvalidInput(f"--domain {kind}:{a},{b} takes two numbers, got {parts[0]!r}")
        return float(v[0]), float(v[1])
    if len(parts) == 2:
        return _numbers(parts[0], f"--domain {kind} {a}"), _numbers(
            parts[1], f"--domain {kind} {b}"
        )
    raise InvalidInput(
        f"--domain {kind}: expected {kind}:{a},{b} or {kind}:{a}1,..;{b}1,.., got {spec!r}"
    )


def parse_domain(spec: str) -> Domain:
    """Read a domain from text (the CLI's ``--domain``; syntax in :data:`DOMAIN_SYNTAX`)."""
    if not isinstance(spec, str):
        raise WrongType(f"a domain spec is text, got {type(spec).__name__}")
    kind, _, rest = spec.partition(":")
    kind = kind.strip().lower()
    parts = rest.split(";") if rest else []
    if kind == "gaussian" and not parts:
        return Gaussian(0.0, 1.0)
    if kind in ("box", "gaussian"):
        ctor, names = (Box, ("LO", "HI")) if kind == "box" else (Gaussian, ("MEAN", "STD"))
        return ctor(*_pair(parts, kind, names, spec))
    if kind == "plane":
        if len(parts) != 4:
            raise InvalidInput(f"--domain plane:ORIGIN;U;V;U0,U1,V0,V1 needs 4 parts, got {spec!r}")
        o, u, v, b = (_numbers(x, f"--domain plane part {i + 1}") for i, x in enumerate(parts))
        return Plane(o, u, v, tuple(b))
    if kind == "segment":
        if len(parts) != 2:
            raise InvalidInput(f"--domain segment:A;B needs two points, got {spec!r}")
        return Segment(_numbers(parts[0], "segment A"), _numbers(parts[1], "segment B"))
    if kind == "points":
        path, radius = rest, 0.0
        head, sep, tail = rest.rpartition(",")
        if sep and head:
            try:
                path, radius = head, float(tail)
            except ValueError as e:
                raise InvalidInput(f"--domain points: bad radius {tail!r} in {spec!r}") from e
        if not path:
            raise InvalidInput("--domain points:FILE.npy[,RADIUS] needs a file")
        return Points(path, radius=radius)
    raise InvalidInput(
        f"unknown --domain {kind!r}; expected box, gaussian, plane, segment or points"
    )
