"""What is counted: activation regions, or linear regions as unions of them.

The estimators of :mod:`.volume` count *units*, each with a mass and neighbours:

- :class:`ActivationUnits`: a unit is an activation region (its pattern key); its neighbours
  are the regions across its facets.
- :class:`LinearUnits`: a unit is a linear region inside the domain, i.e. a connected
  component of the graph whose nodes are activation regions and whose edges join regions
  sharing a facet and having the same affine output map (gradient and offset in the domain's
  coordinates, equal up to ``MAP_RTOL`` of their size): the definition the exact plane
  engine counts (math.md section 1). A component is explored completely (breadth first,
  expanding every member) the first time a draw or a neighbour meets it, so its mass (the sum
  of its members' volumes) is exact and every component found is a certain linear region.
  Its neighbours are the components across its members' facets.

Neighbour lists are made symmetric over what has been explored (float64 can miss a link on
one side only).
"""

from __future__ import annotations

import math

import numpy as np

from .graph import RegionGraph

MAP_RTOL = 1e-9  # affine output maps closer than this (relative) are equal


class ActivationUnits:
    """Activation regions as the counted units."""

    kind = "activation regions"

    def __init__(self, graph: RegionGraph):
        self.graph = graph

    def unit(self, key: bytes):
        return key

    def mass(self, unit) -> float:
        return self.graph.regions[unit].mass

    def neighbours(self, units) -> dict:
        """Unit -> its neighbours, for each of ``units`` (found if needed)."""
        self.graph.expand(units)
        return {c[0]: c[1:] for c in self.graph.catchments(units)}

    def found(self) -> int:
        return self.graph.found()

    def unobserved(self) -> float:
        return max(0.0, 1.0 - math.fsum(r.mass for r in self.graph.regions.values()))


class LinearUnits:
    """Linear regions (connected unions of regions with one affine map) as the units."""

    kind = "linear regions"

    def __init__(self, graph: RegionGraph):
        self.graph = graph
        self.of: dict[bytes, int] = {}  # region key -> component id
        self.members: list[list[bytes]] = []
        self.masses: list[float] = []
        self.links: dict[int, set] = {}
        self.linked: set[int] = set()  # components whose neighbours are all known

    def _same_map(self, a: bytes, b: bytes) -> bool:
        ra, rb = self.graph.regions[a], self.graph.regions[b]
        va = np.concatenate([ra.grad.ravel(), ra.offset.ravel()])
        vb = np.concatenate([rb.grad.ravel(), rb.offset.ravel()])
        size = max(float(np.abs(va).max(initial=0.0)), float(np.abs(vb).max(initial=0.0)))
        return bool(np.all(np.abs(va - vb) <= MAP_RTOL * max(size, 1e-300)))

    def unit(self, key: bytes) -> int:
        """The component of region ``key``, explored completely the first time."""
        if key in self.of:
            return self.of[key]
        cid = len(self.members)
        self.of[key] = cid
        members, frontier = [key], [key]
        while frontier:
            self.graph.expand(frontier)
            nxt = []
            for k in frontier:
                for q in self.graph.regions[k].neighbours:
                    if q not in self.of and self._same_map(k, q):
                        self.of[q] = cid
                        members.append(q)
                        nxt.append(q)
            frontier = nxt
        self.members.append(members)
        self.masses.append(math.fsum(self.graph.regions[k].mass for k in members))
        return cid

    def mass(self, unit: int) -> float:
        return self.masses[unit]

    def neighbours(self, units) -> dict:
        for u in units:
            if u in self.linked:
                continue
            self.linked.add(u)
            self.links.setdefault(u, set())
            for k in list(self.members[u]):
                for q in self.graph.regions[k].neighbours:
                    v = self.unit(q)
                    if v != u:
                        self.links[u].add(v)
                        self.links.setdefault(v, set()).add(u)
        return {u: sorted(self.links[u]) for u in units}

    def found(self) -> int:
        return len(self.members)

    def unobserved(self) -> float:
        return max(0.0, 1.0 - math.fsum(self.masses))
