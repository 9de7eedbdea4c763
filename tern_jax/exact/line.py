"""Exact partition of a segment, ray or whole line by a ReLU network (math.md section 1).

Along x(t) = p + t d every hidden unit's pre-activation is piecewise affine in t. The engine
(:mod:`._line_refine`) keeps, for every piece of the current partition, the affine maps of
the current layer's outputs and splits a piece wherever a ReLU pre-activation changes sign
strictly inside it, all pieces at once with numpy.

Arithmetic (``mode``): every sign decision comes from a backend (:mod:`.kernel`) and is
exact in both modes, so both give the same counts on every input. ``"exact"`` computes with
the network as stored in integers (int64 under proven bounds, Python integers otherwise;
breakpoints are reported as Fractions); ``"float64"`` computes in float64 with rigorous
error bounds and settles only the uncertain decisions exactly (breakpoints reported as
floats). ``"auto"`` picks the integer backend for networks with small denominators (ternary
codes, constructions), the filtered one otherwise. ``tol`` is accepted and ignored.
"""

from __future__ import annotations

import math
import time
from fractions import Fraction
from typing import Any

import numpy as np

from ..domains import Box, Domain, Line, Segment
from ..errors import InvalidInput
from ..network import ReLUNet
from ._common import DEFAULT_TOL, check_mode, check_net, make_backend, resolve_mode
from ._line_refine import NEG_INF, POS_INF, refine
from .result import ExactCount

# Breakpoints are stored in the result when there are at most this many (keep_breakpoints=None).
MAX_STORED_BREAKPOINTS = 10_000


# -- domain -------------------------------------------------------------------------------


def _domain_1d(kind: str, lo: Any, hi: Any):
    text = {
        "segment": f"segment x in [{_fmt(lo)}, {_fmt(hi)}] of R",
        "ray": f"ray x in [{_fmt(lo)}, {_fmt(hi)}] of R",
        "line": "the whole real line R",
    }[kind]
    dom = {
        "kind": kind,
        "input_dim": 1,
        "start": _jsonable_end(lo),
        "end": _jsonable_end(hi),
        "parameter": "t = x",
        "t_range": [_jsonable_end(lo), _jsonable_end(hi)],
        "description": text,
    }
    return [Fraction(0)], [Fraction(1)], lo, hi, dom


def _end(value: Any) -> Any:
    """A 1-D end point: a Fraction, or +-inf as a float."""
    return value if isinstance(value, float) else value[0]


def _domain(net: ReLUNet, domain: Domain | None):
    """(p, d, t_lo, t_hi, domain dict) with x(t) = p + t d, for a Segment, Line, a Box of a
    1-input network, or None (all of R, 1 input only)."""
    n0 = net.input_dim
    if domain is None or isinstance(domain, Line):
        if isinstance(domain, Line):
            ex = domain.exact(n0)
            pa, pb = ex["a"], ex["b"]
        elif n0 != 1:
            raise InvalidInput(
                f"the line engine counts over all of R only for 1 input; this network has {n0}"
            )
        if n0 == 1:
            return _domain_1d("line", -math.inf, math.inf)
        lo, hi, kind = -math.inf, math.inf, "line"
    elif isinstance(domain, Box):
        if n0 != 1:
            raise InvalidInput(
                f"the line engine takes a Box only for 1 input (a segment); this network has "
                f"{n0}: use the plane or n-dimensional engine"
            )
        ex = domain.exact(1)
        return _domain_1d("segment", ex["lo"][0], ex["hi"][0])
    elif isinstance(domain, Segment):
        ex = domain.exact(n0)
        if n0 == 1:
            lo, hi = _end(ex["start"]), _end(ex["end"])
            if lo == hi:
                if isinstance(lo, float):
                    raise InvalidInput("both ends are the same infinity: empty domain")
                raise InvalidInput(f"empty segment: start and end are both {lo}")
            lo, hi = min(lo, hi), max(lo, hi)
            kind = ("segment", "ray", "line")[(lo == -math.inf) + (hi == math.inf)]
            return _domain_1d(kind, lo, hi)
        pa, pb = ex["start"], ex["end"]
        lo, hi, kind = Fraction(0), Fraction(1), "segment"
    else:
        raise InvalidInput(
            f"the line engine partitions a Segment, a Line, a Box of a 1-input network or all "
            f"of R (None), not a {type(domain).__name__}"
        )
    d = [y - x for x, y in zip(pa, pb)]
    if all(v == 0 for v in d):
        raise InvalidInput("start and end coincide: empty segment / no direction")
    sa, sb = _fmt_point(pa), _fmt_point(pb)
    text = (
        f"whole line through {sa} and {sb} in R^{n0}"
        if kind == "line"
        else f"segment from {sa} to {sb} in R^{n0}"
    )
    dom = {
        "kind": kind,
        "input_dim": n0,
        "start": [str(v) for v in pa],
        "end": [str(v) for v in pb],
        "parameter": "x(t) = start + t (end - start)",
        "t_range": [_jsonable_end(lo), _jsonable_end(hi)],
        "description": text + (" (t over all of R)" if kind == "line" else " (t in [0, 1])"),
    }
    return pa, d, lo, hi, dom


def _fmt(v) -> str:
    if isinstance(v, float) and np.isinf(v):
        return "-inf" if v < 0 else "+inf"
    return str(v)


def _fmt_point(p) -> str:
    return "(" + ", ".join(str(v) for v in p) + ")"


def _jsonable_end(v):
    if isinstance(v, float) and np.isinf(v):
        return "-inf" if v < 0 else "inf"
    return str(v)


# -- engine -------------------------------------------------------------------------------


def exact_regions_1d(
    net: ReLUNet,
    start: Any = None,
    end: Any = None,
    *,
    line: bool = False,
    mode: str = "auto",
    tol: float = DEFAULT_TOL,
    keep_breakpoints: bool | None = None,
    keep_patterns: bool = False,
) -> ExactCount:
    """Exact activation and linear regions of ``net`` along a segment, ray or line.

    ``start``/``end``: points of the input space. With one input, scalars are accepted and
    ``None`` or +-inf ends give a ray or the whole real line (``exact_regions_1d(net, None,
    None)`` counts over all of R); the line parameter is then x itself. With several inputs,
    x(t) = start + t (end - start) with t in [0, 1], or t over all of R with ``line=True``.
    A thin wrapper of :func:`line_regions` with a :class:`~tern_jax.Segment` or
    :class:`~tern_jax.Line` domain (see there for ``mode``, ``tol`` and the rest).
    """
    check_net(net)
    if line:
        both = start is not None and end is not None
        domain = Line(start, end) if (both or net.input_dim != 1) else None
    else:
        domain = Segment(start, end)
    return line_regions(
        net,
        domain,
        mode=mode,
        tol=tol,
        keep_breakpoints=keep_breakpoints,
        keep_patterns=keep_patterns,
    )


def line_regions(
    net: ReLUNet,
    domain: Domain | None,
    *,
    mode: str = "auto",
    tol: float = DEFAULT_TOL,
    keep_breakpoints: bool | None = None,
    keep_patterns: bool = False,
) -> ExactCount:
    """The line engine: exact activation and linear regions along a one-dimensional domain.

    ``domain``: a :class:`~tern_jax.Segment` (with one input, +-inf ends make a ray or the
    whole line), a :class:`~tern_jax.Line`, a :class:`~tern_jax.Box` of a 1-input network,
    or ``None`` (all of R, 1 input). ``mode``: "auto", "exact" or "float64" (module
    docstring: the counts are exact in every mode); ``tol`` is ignored (kept so that old
    calls work). ``keep_breakpoints``: store the breakpoints (t values where the activation
    pattern changes) in the result; ``None`` keeps them when there are at most 10000.
    ``keep_patterns``: keep the activation pattern of every piece (bool array, in memory).
    """
    t0 = time.perf_counter()
    net = check_net(net)
    check_mode(mode, tol)
    p, d, lo, hi, dom = _domain(net, domain)
    mode = resolve_mode(mode, net, [*p, *d, *(v for v in (lo, hi) if isinstance(v, Fraction))])
    backend = make_backend(net, mode, 1)
    left = np.array([_end_point(backend, lo, NEG_INF)])
    right = np.array([_end_point(backend, hi, POS_INF)])
    part = refine(backend, net, backend.start([d, p]), left, right, keep_patterns)
    n_pieces = int(part.left.size)
    steps = np.arange(n_pieces - 1)
    differs = ~backend.same(part.out, steps, steps + 1)
    if keep_breakpoints is None:
        keep_breakpoints = n_pieces - 1 <= MAX_STORED_BREAKPOINTS
    bps = lin_bps = None
    if keep_breakpoints:
        bps = backend.point_values(part.left[1:])
        lin_bps = [v for v, dif in zip(bps, differs) if dif]
    return ExactCount(
        activation_regions=n_pieces,
        linear_regions=1 + int(np.count_nonzero(differs)),
        engine="line",
        domain=dom,
        mode=mode,
        tolerance=None,
        fingerprint=net.fingerprint,
        seconds=time.perf_counter() - t0,
        arithmetic=backend.describe(),
        num_breakpoints=n_pieces - 1,
        breakpoints=bps,
        linear_breakpoints=lin_bps,
        patterns=part.patterns,
        piece_slopes=None if n_pieces > 100_000 else backend.float_maps(part.out)[:, 0, :],
    )


def _end_point(backend, value: Any, marker: int) -> int:
    """Point id of a finite end t = value (the zero of t - value), or the infinity marker."""
    if isinstance(value, float) and math.isinf(value):
        return marker
    plane = backend.add_given_planes([[Fraction(1), -Fraction(value)]])
    return int(backend.add_points(plane[:, None])[0])


def line_values(net: ReLUNet, result: ExactCount, ts: np.ndarray) -> np.ndarray:
    """f (float64, shape (len(ts), outputs)) at line parameters ``ts`` of a line result."""
    dom = result.domain
    ts = np.asarray(ts, dtype=np.float64)
    if dom["input_dim"] == 1:
        return np.asarray(net(ts[:, None]))
    a = np.array([float(Fraction(v)) for v in dom["start"]])
    b = np.array([float(Fraction(v)) for v in dom["end"]])
    return np.asarray(net(a + ts[:, None] * (b - a)))
