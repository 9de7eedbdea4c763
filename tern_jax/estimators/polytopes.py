"""Exact volumes and facets of activation regions inside a domain (in its coordinates y).

A region is ``{y in [lo, hi] : a_j . y + c_j <= 0 for every ReLU unit j}`` (the signs come
from the pattern: an active unit gives ``-z_j <= 0``, an inactive one ``z_j <= 0``). This
module computes, for one region, its y-volume and its *facets inside the domain* (each as a
point of its relative interior and the outward unit normal), from which the neighbours across
them are found (:mod:`.neighbours`):

- 1 dimension: an interval (exact in float64);
- 2 dimensions: the box clipped by one half-plane after another (Sutherland-Hodgman on a
  convex polygon), area by the shoelace formula; every edge remembers the half-plane that
  made it, so the facets are the edges not made by the box;
- 3 or more: qhull through ``scipy.spatial.HalfspaceIntersection`` (from a strictly interior
  point, the Chebyshev centre found by a HiGHS linear program) and ``ConvexHull`` of the
  vertices; a facet is a half-space whose hyperplane holds vertices spanning a (k-1)-face,
  and its relative interior point is the mean of those vertices;
- any dimension, without volume (:func:`lp_cell`): the facets by linear programs.

A region whose inscribed ball has radius below ``THIN`` times the domain's size has no
measurable volume in float64 and is reported with volume 0 (its samples are on a boundary).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy.optimize import linprog
from scipy.spatial import ConvexHull, HalfspaceIntersection, QhullError

from ..errors import InvalidInput

THIN = 1e-12  # inscribed radius, relative to the domain's size, below which a region is void
BOX = -1  # label of an edge or face made by the domain's box


@dataclasses.dataclass(frozen=True)
class Cell:
    """One region inside the domain: its y-volume and its facets inside the domain.

    ``facets``: list of ``(point, normal)`` pairs, a point in the facet's relative interior
    and the outward unit normal there (facets on the domain's boundary are left out).
    """

    volume: float
    facets: list


def _normalise(a: np.ndarray, c: np.ndarray, lo: np.ndarray, hi: np.ndarray):
    """Drop constraints with a = 0 (they hold everywhere on the region) and scale to |a| = 1."""
    norm = np.linalg.norm(a, axis=1)
    size = float(np.linalg.norm(hi - lo))
    keep = norm > 1e-14 * max(1.0, np.abs(c).max(initial=0.0) / size)
    a, c, norm = a[keep], c[keep], norm[keep]
    return a / norm[:, None], c / norm


def interval_cell(a: np.ndarray, c: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> Cell:
    """The region of one dimension: an interval of [lo, hi]."""
    a, c = _normalise(a, c, lo, hi)
    left, right = float(lo[0]), float(hi[0])
    facets = []
    pos, neg = a[:, 0] > 0, a[:, 0] < 0
    if pos.any():  # y <= -c / a
        right = min(right, float(np.min(-c[pos] / a[pos, 0])))
    if neg.any():  # y >= -c / a
        left = max(left, float(np.max(-c[neg] / a[neg, 0])))
    length = right - left
    if length <= THIN * float(hi[0] - lo[0]):
        return Cell(0.0, [])
    if right < hi[0]:
        facets.append((np.array([right]), np.array([1.0])))
    if left > lo[0]:
        facets.append((np.array([left]), np.array([-1.0])))
    return Cell(length, facets)


def polygon_cell(a: np.ndarray, c: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> Cell:
    """The region of two dimensions: the box clipped by every half-plane ``a . y + c <= 0``."""
    a, c = _normalise(a, c, lo, hi)
    size = float(np.linalg.norm(hi - lo))
    pts = np.array([[lo[0], lo[1]], [hi[0], lo[1]], [hi[0], hi[1]], [lo[0], hi[1]]])
    labels = [BOX] * 4  # label i: the half-plane that made the edge pts[i] -> pts[i + 1]
    for j in range(a.shape[0]):
        val = pts @ a[j] + c[j]
        val[np.abs(val) <= THIN * size] = 0.0  # on the line up to rounding (duplicate units)
        if np.all(val <= 0):
            continue
        if np.all(val >= 0):
            return Cell(0.0, [])
        pts, labels = _clip(pts, labels, val, j)
        if pts.shape[0] < 3:
            return Cell(0.0, [])
    x, y = pts[:, 0], pts[:, 1]
    area = 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))
    perimeter = float(np.sum(np.linalg.norm(np.roll(pts, -1, 0) - pts, axis=1)))
    if area <= THIN * size * max(perimeter, 1e-300):  # inradius >= area / perimeter
        return Cell(0.0, [])
    facets = []
    for i, lab in enumerate(labels):
        p, q = pts[i], pts[(i + 1) % len(pts)]
        if lab != BOX and np.linalg.norm(q - p) > THIN * size:
            facets.append(((p + q) / 2, a[lab].copy()))
    return Cell(area, facets)


def _clip(pts: np.ndarray, labels: list, val: np.ndarray, j: int):
    """Sutherland-Hodgman step for one half-plane ``val <= 0`` (val at the vertices).

    Edge labels follow the edges: a kept piece of edge i keeps label i, the new edge along
    the clipping line gets label j.
    """
    out, lab = [], []
    n = pts.shape[0]
    for i in range(n):
        p, q = pts[i], pts[(i + 1) % n]
        vp, vq = val[i], val[(i + 1) % n]
        if vp <= 0 and vq <= 0:
            out.append(p)
            lab.append(labels[i])
        elif vp <= 0:  # the edge leaves the half-plane
            if vp < 0:
                out.append(p)
                lab.append(labels[i])
                p = p + vp / (vp - vq) * (q - p)
            out.append(p)
            lab.append(j)
        elif vq < 0:  # the edge enters the half-plane
            out.append(p + vp / (vp - vq) * (q - p))
            lab.append(labels[i])
    return np.array(out).reshape(-1, 2), lab


def chebyshev_centre(a: np.ndarray, c: np.ndarray, lo: np.ndarray, hi: np.ndarray):
    """(centre, radius) of the largest ball inside the region (a normalised), by HiGHS."""
    k = lo.shape[0]
    eye = np.eye(k)
    A = np.vstack([a, eye, -eye])
    b = np.concatenate([-c, hi, -lo])
    A_ub = np.hstack([A, np.ones((A.shape[0], 1))])  # a . y + r <= -c  (|a| = 1)
    res = linprog(
        np.r_[np.zeros(k), -1.0], A_ub=A_ub, b_ub=b, bounds=[(None, None)] * k + [(0, None)],
        method="highs",
    )  # fmt: skip
    if res.status != 0:
        raise InvalidInput(f"the Chebyshev-centre linear program failed: {res.message}")
    return res.x[:k], float(res.x[k])


def _distinct_hyperplanes(a: np.ndarray, c: np.ndarray, size: float):
    """Keep one copy of each hyperplane (duplicate units give the same constraint twice,
    which confuses qhull's dual hull and makes a facet's own copy block it in an LP)."""
    if not a.shape[0]:
        return a, c
    key = np.round(np.hstack([a, c[:, None]]) / (1e-10 * max(size, 1.0)))
    _, first = np.unique(key, axis=0, return_index=True)
    keep = np.sort(first)
    return a[keep], c[keep]


def _centred(a: np.ndarray, c: np.ndarray, lo: np.ndarray, hi: np.ndarray):
    """(a, c, domain size, Chebyshev centre or None when the region is void): constraints
    normalised with one copy per hyperplane."""
    a, c = _normalise(a, c, lo, hi)
    size = float(np.linalg.norm(hi - lo))
    a, c = _distinct_hyperplanes(a, c, size)
    centre, radius = chebyshev_centre(a, c, lo, hi)
    return a, c, size, (centre if radius > THIN * size else None)


def qhull_cell(a: np.ndarray, c: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> Cell:
    """The region of three or more dimensions, by qhull."""
    a, c, size, centre = _centred(a, c, lo, hi)
    if centre is None:
        return Cell(0.0, [])
    k = lo.shape[0]
    eye = np.eye(k)
    hs = np.vstack([np.hstack([a, c[:, None]]),
                    np.hstack([eye, -hi[:, None]]), np.hstack([-eye, lo[:, None]])])  # fmt: skip
    try:
        verts = HalfspaceIntersection(hs, centre).intersections
        volume = _hull_volume(verts)
    except QhullError as e:
        raise InvalidInput(
            "qhull could not compute a region's volume (degenerate geometry); "
            f"volumes='monte-carlo' avoids qhull ({str(e).splitlines()[0]})"
        ) from e
    facets = []
    tol = 1e-9 * max(size, 1.0)
    on_plane = np.abs(verts @ a.T + c) <= tol  # (vertex, half-space)
    for j in range(a.shape[0]):
        face = verts[on_plane[:, j]]
        if face.shape[0] < k or np.linalg.matrix_rank(face[1:] - face[0], tol) < k - 1:
            continue  # touches the region in a lower-dimensional face only
        facets.append((face.mean(axis=0), a[j].copy()))
    return Cell(volume, facets)


def _hull_volume(verts: np.ndarray) -> float:
    """Volume of the convex hull of the vertices. Ternary networks put many vertices on
    common hyperplanes, where qhull's exact merging can fail; it is then run again with
    joggled input ('QJ', perturbations near 1e-11 of the size: far below the volumes'
    other errors)."""
    try:
        return float(ConvexHull(verts).volume)
    except QhullError:
        return float(ConvexHull(verts, qhull_options="QJ").volume)


def lp_cell(a: np.ndarray, c: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[Cell, int]:
    """Facets of a region in any dimension by linear programs, volume unknown (NaN); also
    returns the number of LPs solved.

    Half-space j is a facet inside the domain when its hyperplane holds a (k-1)-ball of
    radius r > 0 inside the region and the open domain: maximise r subject to
    ``a_j . y + c_j = 0``, ``a_i . y + r |a_i - (a_i . a_j) a_j| <= -c_i`` (distance within the
    hyperplane) and ``lo + r <= y <= hi - r``; the optimal y is the facet's point. Most facets
    need no LP: when the foot of the perpendicular from the Chebyshev centre onto hyperplane
    j satisfies every other constraint strictly, it is a relative interior point of facet j.
    """
    a, c, size, centre = _centred(a, c, lo, hi)
    if centre is None:
        return Cell(0.0, []), 1
    k = lo.shape[0]
    eye = np.eye(k)
    facets, lps = [], 1
    feet = centre - (a @ centre + c)[:, None] * a  # foot of the perpendicular on each plane
    slack = -(feet @ a.T + c)  # (plane j, constraint i): > 0 strictly inside constraint i
    np.fill_diagonal(slack, np.inf)
    inside = np.all(slack > THIN * size, axis=1)
    inside &= np.all((feet > lo + THIN * size) & (feet < hi - THIN * size), axis=1)
    for j in range(a.shape[0]):
        if inside[j]:
            facets.append((feet[j], a[j].copy()))
            continue
        others = np.delete(np.arange(a.shape[0]), j)
        proj = a[others] - np.outer(a[others] @ a[j], a[j])
        A_ub = np.vstack(
            [
                np.hstack([a[others], np.linalg.norm(proj, axis=1)[:, None]]),
                np.hstack([eye, np.ones((k, 1))]),
                np.hstack([-eye, np.ones((k, 1))]),
            ]
        )
        b_ub = np.concatenate([-c[others], hi, -lo])  # fmt: skip
        res = linprog(
            np.r_[np.zeros(k), -1.0], A_ub=A_ub, b_ub=b_ub, A_eq=np.r_[a[j], 0.0][None, :],
            b_eq=[-c[j]], bounds=[(None, None)] * k + [(0, None)], method="highs",
        )  # fmt: skip
        lps += 1
        if res.status == 0 and res.x[k] > THIN * size:
            facets.append((res.x[:k], a[j].copy()))
    return Cell(math.nan, facets), lps


def cell(a: np.ndarray, c: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> Cell:
    """The region's volume and facets, by the exact method of its dimension."""
    k = lo.shape[0]
    if k == 1:
        return interval_cell(a, c, lo, hi)
    if k == 2:
        return polygon_cell(a, c, lo, hi)
    return qhull_cell(a, c, lo, hi)


def is_void(a: np.ndarray, c: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> bool:
    """True when the region's inscribed ball is below float64 resolution (one LP)."""
    return _centred(a, c, lo, hi)[3] is None
