"""Count the activation regions of a network in a box by searching their adjacency graph
(a check of an exact count where the n-D engine runs out of memory; not a test).

Start from the regions of a few uniform draws, then repeatedly cross every facet of every
region met (:class:`tern_jax.estimators.graph.RegionGraph` with LP geometry: facets by linear
programs, the neighbour's pattern from a point just beyond the facet) until no new region
appears. The regions of a polyhedral partition of a box are connected through their facets,
so the search meets all of them, up to float64: a facet whose neighbour is thinner than the
LPs resolve is counted as unresolved, and the count is then a lower bound. Memory grows with
the number of regions, not with their vertices.

    .venv/bin/python benchmarks/adjacency_count.py runs/diabetes --box=-2,2

On the trained 10-input diabetes model (``experiments/configs/diabetes.yaml``) on
[-2, 2]^10 it meets 39,667 activation regions with no unresolved facet (322,281 LPs, about
6 minutes on 2 cores): the count an independent brute-force enumeration found (issue 18).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import tern_jax as tj
from tern_jax.estimators.graph import RegionGraph
from tern_jax.estimators.local import local_domain


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("net", help="network file or run directory")
    p.add_argument("--box", default="-2,2", help="LO,HI for every coordinate (-2,2)")
    p.add_argument("--starts", type=int, default=1000, help="uniform draws to start from")
    args = p.parse_args(argv)
    net = tj.load_network(args.net)
    lo, hi = (float(v) for v in args.box.split(","))
    local = local_domain(tj.Box(lo, hi), net.input_dim)
    graph = RegionGraph(net, local, geometry="lp")
    t0 = time.perf_counter()
    rng = np.random.default_rng(0)
    starts = rng.uniform(local.lo, local.hi, (args.starts, local.lo.size))
    frontier = list(dict.fromkeys(graph.locate(starts)))
    while frontier:
        graph.expand(frontier)
        frontier = [k for k, r in graph.regions.items() if r.neighbours is None and r.mass != 0]
        print(f"{graph.found():,} regions met, {len(frontier):,} to expand, "
              f"{graph.work['linear_programs']:,} LPs, {time.perf_counter() - t0:.0f} s",
              flush=True)  # fmt: skip
    kind = "all of them" if graph.unresolved_facets == 0 else "a lower bound"
    print(f"activation regions in [{lo:g}, {hi:g}]^{net.input_dim} by adjacency search "
          f"(float64 LPs): {graph.found():,} ({kind}; {graph.unresolved_facets} unresolved "
          f"facets), {graph.work['linear_programs']:,} LPs, "
          f"{time.perf_counter() - t0:.0f} s")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
