"""Exact partition of a convex polygon in a 2D slice x(s, t) = origin + s u + t v.

The refinement (:mod:`._plane_refine`) cuts the polygon layer by layer and unit by unit
along the ReLU units' zero lines, keeping the partition conforming (shared vertices), so
coincident lines, many lines through one vertex and lines along edges need no special case.

Counts: every final cell is one activation region of the polygon (cells are convex and two
cells always differ in the unit that separated them). Linear regions are the connected
components of the graph whose nodes are cells and whose edges join cells sharing an edge and
having equal affine maps of f in (s, t) (gradient and offset).

Arithmetic (``mode``): every sign decision comes from a backend (:mod:`.kernel`) and is
exact in both modes, so both give the same counts on every input, at every scale of window
and weights. ``"exact"`` keeps vertices and maps as integers (int64 under proven bounds,
Python integers otherwise); ``"float64"`` computes in float64 with rigorous error bounds and
settles only uncertain decisions exactly. ``"auto"`` picks integers for networks with small
denominators (ternary codes, constructions), float64 otherwise. ``tol`` is ignored.
"""

from __future__ import annotations

import time
from typing import Any

from ..domains import Box, Domain, Plane
from ..errors import InvalidInput
from ..network import ReLUNet
from ._common import DEFAULT_TOL, check_mode, check_net, make_backend, resolve_mode
from ._plane_refine import PlanePartition
from .result import ExactCount

# Cells (polygons, patterns) are kept in the result when at most this many (keep_cells=None).
MAX_STORED_CELLS = 50_000


def _check_plane(net: ReLUNet, domain: Domain):
    """(origin, u, v, polygon vertices (s, t), domain dict) of a Plane, or a Box of a 2-input
    network (the plane x = s e1 + t e2 over the box), as exact rationals."""
    n0 = net.input_dim
    if isinstance(domain, Box):
        if n0 != 2:
            raise InvalidInput(
                f"the plane engine takes a Box only for 2 inputs; this network has {n0}"
            )
        ex = domain.exact(2)
        (l0, l1), (h0, h1) = ex["lo"], ex["hi"]
        domain = Plane([0, 0], [1, 0], [0, 1], bounds=(l0, h0, l1, h1))
    elif not isinstance(domain, Plane):
        raise InvalidInput(
            f"the plane engine partitions a Plane (or a Box of a 2-input network), not a "
            f"{type(domain).__name__}"
        )
    ex = domain.exact(n0)
    o, uu, vv = ex["origin"], ex["u"], ex["v"]
    if ex["polygon"] is not None:
        pts = _convex_ccw(ex["polygon"])
        desc = "convex polygon " + ", ".join(f"({a}, {b})" for a, b in pts)
    else:
        u0, u1, v0, v1 = ex["bounds"]
        pts = [(u0, v0), (u1, v0), (u1, v1), (u0, v1)]
        desc = f"box s in [{u0}, {u1}], t in [{v0}, {v1}]"
    dom = {
        "kind": "plane",
        "input_dim": n0,
        "origin": [str(x) for x in o],
        "u": [str(x) for x in uu],
        "v": [str(x) for x in vv],
        "polygon": [[str(a), str(b)] for a, b in pts],
        "description": f"{desc} of the plane x = origin + s u + t v in R^{n0}, origin "
        f"({', '.join(map(str, o))}), u ({', '.join(map(str, uu))}), "
        f"v ({', '.join(map(str, vv))})",
    }
    return o, uu, vv, pts, dom


def _convex_ccw(pts: list) -> list:
    if len(pts) < 3:
        raise InvalidInput(f"polygon needs at least 3 vertices, got {len(pts)}")
    k = len(pts)
    crosses = []
    for i in range(k):
        (ax, ay), (bx, by), (cx, cy) = pts[i], pts[(i + 1) % k], pts[(i + 2) % k]
        crosses.append((bx - ax) * (cy - by) - (by - ay) * (cx - bx))
    area2 = sum(pts[i][0] * pts[(i + 1) % k][1] - pts[(i + 1) % k][0] * pts[i][1] for i in range(k))
    if area2 == 0:
        raise InvalidInput("polygon has zero area")
    if area2 < 0:
        pts = pts[::-1]
        crosses = [-c for c in crosses[::-1]]
    if any(c < 0 for c in crosses):
        raise InvalidInput("polygon must be convex")
    return pts


def _corners(pts: list) -> list:
    """The polygon without repeated points and without vertices on a straight stretch of
    its boundary (every corner is then where two distinct edge lines meet)."""
    pts = list(pts)
    i = 0
    while i < len(pts) and len(pts) > 3:
        (ax, ay), (bx, by), (cx, cy) = pts[i - 1], pts[i], pts[(i + 1) % len(pts)]
        if (bx - ax) * (cy - by) - (by - ay) * (cx - bx) == 0:
            del pts[i]
            i = max(i - 1, 0)
        else:
            i += 1
    return pts


def exact_regions_2d(
    net: ReLUNet,
    origin: Any,
    u: Any,
    v: Any,
    bounds: Any = (0, 1, 0, 1),
    *,
    polygon: Any = None,
    mode: str = "auto",
    tol: float = DEFAULT_TOL,
    keep_cells: bool | None = None,
) -> ExactCount:
    """Exact activation and linear regions of ``net`` on a polygon of a 2D input slice.

    The slice is x(s, t) = origin + s u + t v (u, v linearly independent vectors of the input
    space); the domain is the box ``bounds = (u0, u1, v0, v1)`` of (s, t), or a convex
    ``polygon`` given as (s, t) vertices (then ``bounds`` is ignored). A thin wrapper of
    :func:`plane_regions` with a :class:`~tern_jax.Plane` domain.
    """
    check_net(net)
    if polygon is not None and bounds is not None and tuple(bounds) != (0, 1, 0, 1):
        raise InvalidInput("give either bounds or polygon, not both")
    if polygon is None and bounds is None:
        bounds = (0, 1, 0, 1)
    domain = Plane(origin, u, v, bounds=bounds, polygon=polygon)
    return plane_regions(net, domain, mode=mode, tol=tol, keep_cells=keep_cells)


def plane_regions(
    net: ReLUNet,
    domain: Domain,
    *,
    mode: str = "auto",
    tol: float = DEFAULT_TOL,
    keep_cells: bool | None = None,
) -> ExactCount:
    """The plane engine: exact activation and linear regions on a polygon of a 2D slice.

    ``domain``: a :class:`~tern_jax.Plane` (a box of (s, t) or a convex polygon) or a
    :class:`~tern_jax.Box` of a 2-input network. ``mode``: "auto", "exact" or "float64"
    (module docstring: the counts are exact in every mode); ``tol`` is ignored (kept so that
    old calls work).
    ``keep_cells``: keep cell polygons, patterns and linear-region labels in the result for
    plotting (``None``: when at most 50000 cells).
    """
    t0 = time.perf_counter()
    net = check_net(net)
    check_mode(mode, tol)
    o, uu, vv, pts, dom = _check_plane(net, domain)
    data = [*o, *uu, *vv, *(c for q in pts for c in q)]
    mode = resolve_mode(mode, net, data)
    backend = make_backend(net, mode, 2)
    eng = PlanePartition(net, backend, backend.start([uu, vv, o]), _edge_lines(_corners(pts)))
    eng.run()
    n_cells = eng.num_cells
    labels, n_linear, n_edges, boundaries = eng.linear_regions()
    if keep_cells is None:
        keep_cells = n_cells <= MAX_STORED_CELLS
    return ExactCount(
        activation_regions=n_cells,
        linear_regions=n_linear,
        engine="plane",
        domain=dom,
        mode=mode,
        tolerance=None,
        fingerprint=net.fingerprint,
        seconds=time.perf_counter() - t0,
        arithmetic=backend.describe(),
        num_vertices=eng.num_vertices,
        num_edges=n_edges,
        patterns=eng.patterns() if keep_cells else None,
        cells=eng.polygons() if keep_cells else None,
        cell_linear_region=labels if keep_cells else None,
        linear_boundaries=boundaries if keep_cells else None,
    )


def _edge_lines(pts: list) -> list[list]:
    """Coefficients (a, b, c) of the line a s + b t + c = 0 through each polygon edge
    (from vertex i to vertex i + 1)."""
    out = []
    for (x0, y0), (x1, y1) in zip(pts, pts[1:] + pts[:1]):
        out.append([y0 - y1, x1 - x0, x0 * y1 - x1 * y0])
    return out
