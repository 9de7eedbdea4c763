"""The regions an estimate has met: their masses, and their neighbours across facets.

A :class:`RegionGraph` holds activation regions by pattern key. :meth:`RegionGraph.locate`
finds the regions of given points; :meth:`RegionGraph.expand` finds the neighbours of given
regions: for every facet of the region inside the domain, the *one-sided* pattern just beyond
a point of the facet's relative interior (:func:`.local.affine_pieces` with a direction) is
the neighbour's pattern, and the neighbour's own H-representation comes with it.

Each facet has exactly one neighbour: a unit whose zero set met the facet's relative
interior transversally would change sign along it, and so would cut the region itself, which
it cannot (its pre-activation has one sign on the region). Neighbours thinner than float64
resolves (inscribed radius below ``polytopes.THIN`` of the domain's size) are counted in
:attr:`RegionGraph.unresolved_facets` and left out.

``geometry`` says what is computed for a new region: "exact" (its exact volume and facets,
:func:`.polytopes.cell`), "lp" (no volume; one LP says whether it is void, and its facets
come from LPs when it is expanded: high dimension) or "none" (nothing but the key).
"""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np

from ..errors import InvalidInput
from .local import LocalDomain, Pieces, affine_pieces, pattern_keys
from .polytopes import THIN, cell, is_void, lp_cell

CHUNK = 2048  # points per batch of affine_pieces (bounds its (n, U, k) arrays)
STEP = 1e-7  # step beyond a facet, relative to the domain's size, of a neighbour's witness
GEOMETRIES = ("exact", "lp", "none")


@dataclasses.dataclass
class Region:
    """An activation region met by the estimate (key = packed pattern)."""

    key: bytes
    mass: float  # vol(R ∩ D) / vol(D); NaN when not computed, 0 when void
    facets: list | None  # (point, outward normal) pairs inside the domain; None: not yet
    grad: np.ndarray  # output map on the region, f(y) = y @ grad + offset
    offset: np.ndarray
    hrep: tuple | None = None  # (a, c) with a . y + c <= 0 on the region (lp geometry)
    neighbours: list | None = None  # keys across the facets, once expanded


class RegionGraph:
    """Regions of ``net`` inside ``local`` met so far, by key."""

    def __init__(self, net, local: LocalDomain, geometry: str = "exact"):
        if geometry not in GEOMETRIES:
            raise InvalidInput(f"geometry must be one of {GEOMETRIES}, got {geometry!r}")
        self.net = net
        self.local = local
        self.geometry = geometry
        self.regions: dict[bytes, Region] = {}
        self.unresolved_facets = 0
        self.seconds = {"regions": 0.0, "neighbours": 0.0}
        self.work = {"region_volumes": 0, "linear_programs": 0}

    def _add(self, pieces: Pieces, keys: list[bytes], witness: np.ndarray | None = None) -> None:
        """Add the regions of these pieces that are new. ``witness`` (n, k): points that, if
        strictly inside their region, prove it is not void without an LP (lp geometry)."""
        lo, hi = self.local.lo, self.local.hi
        new = {}
        for i, k in enumerate(keys):
            if k not in self.regions and k not in new:
                new[k] = i
        for k, i in new.items():
            sign = np.where(pieces.bits[i], -1.0, 1.0)  # active: -z <= 0, inactive: z <= 0
            a, c = pieces.A[i] * sign[:, None], pieces.c[i] * sign
            mass, facets, hrep = math.nan, [], None
            if self.geometry == "exact":
                cl = cell(a, c, lo, hi)
                mass, facets = cl.volume / self.local.volume, cl.facets
                self.work["region_volumes"] += 1
            elif self.geometry == "lp":
                if witness is None or not self._strictly_inside(a, c, witness[i]):
                    self.work["linear_programs"] += 1
                    mass = 0.0 if is_void(a, c, lo, hi) else math.nan
                facets, hrep = None, (a, c)
            self.regions[k] = Region(
                k, mass, facets, pieces.grad[i].copy(), pieces.offset[i].copy(), hrep
            )

    def _strictly_inside(self, a: np.ndarray, c: np.ndarray, y: np.ndarray) -> bool:
        size = float(np.linalg.norm(self.local.span))
        margin = THIN * size * np.linalg.norm(a, axis=1)
        inside_box = np.all(y > self.local.lo) and np.all(y < self.local.hi)
        return bool(inside_box and np.all(a @ y + c < -margin))

    def locate(self, y: np.ndarray) -> list[bytes]:
        """The region keys of the points ``y`` (n, k); new regions get their geometry."""
        t0 = time.perf_counter()
        keys: list[bytes] = []
        for s in range(0, y.shape[0], CHUNK):
            pieces = affine_pieces(self.net, self.local, y[s : s + CHUNK])
            chunk = pattern_keys(pieces.bits)
            self._add(pieces, chunk, y[s : s + CHUNK])
            keys.extend(chunk)
        self.seconds["regions"] += time.perf_counter() - t0
        return keys

    def _facets(self, r: Region) -> list:
        if r.facets is None:  # lp geometry: facets by linear programs, on demand
            cl, lps = lp_cell(*r.hrep, self.local.lo, self.local.hi)
            r.facets = cl.facets
            self.work["linear_programs"] += lps
        return r.facets

    def expand(self, keys) -> None:
        """Find the neighbours of the regions ``keys`` (each region once)."""
        if self.geometry == "none":
            raise InvalidInput("neighbours need region geometry ('exact' or 'lp')")
        t0 = time.perf_counter()
        todo = [k for k in dict.fromkeys(keys) if self.regions[k].neighbours is None]
        owners, points, normals = [], [], []
        for k in todo:
            self.regions[k].neighbours = []
            for p, n in self._facets(self.regions[k]):
                owners.append(k)
                points.append(p)
                normals.append(n)
        for s in range(0, len(points), CHUNK):
            y = np.array(points[s : s + CHUNK])
            d = np.array(normals[s : s + CHUNK])
            pieces = affine_pieces(self.net, self.local, y, direction=d)
            keys_n = pattern_keys(pieces.bits)
            # A point just beyond the facet witnesses that the neighbour is not void.
            self._add(pieces, keys_n, y + STEP * float(np.linalg.norm(self.local.span)) * d)
            for owner, kn in zip(owners[s : s + CHUNK], keys_n):
                if kn == owner or self.regions[kn].mass == 0:
                    self.unresolved_facets += 1
                    continue
                if kn not in self.regions[owner].neighbours:
                    self.regions[owner].neighbours.append(kn)
        self.seconds["neighbours"] += time.perf_counter() - t0

    def catchments(self, keys) -> list[list[bytes]]:
        """B(R) for each R of ``keys`` (expanded): R and its neighbours, made symmetric over
        the regions expanded so far (float64 can miss a link on one side only)."""
        links: dict[bytes, set] = {}
        for k, r in self.regions.items():
            for n in r.neighbours or ():
                links.setdefault(k, set()).add(n)
                links.setdefault(n, set()).add(k)
        return [[k, *sorted(links.get(k, set()) - {k})] for k in keys]

    def mass(self, keys) -> np.ndarray:
        return np.array([self.regions[k].mass for k in keys], np.float64)

    def found(self) -> int:
        """Regions met with a volume that is positive or not computed (not void)."""
        return sum(1 for r in self.regions.values() if not r.mass == 0)
