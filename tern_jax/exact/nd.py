"""Exact activation and linear regions in any input dimension (the n-D engine).

Algorithm: incremental refinement of a conforming complex of convex cells
(:mod:`.nd_complex`). The domain box is the first cell. Layers are processed in order; for a
ReLU layer the pre-activations are evaluated at every vertex (one value per vertex, the map
being continuous) and the complex is cut by the layer's units one at a time, wherever a cell
has vertices of strictly opposite signs. After the layer each cell knows which units are
active on it (a unit is active iff some vertex value is > 0: no cell has values of both signs)
and its affine map of the next layer follows by masking and one matrix product. Every final
cell is exactly one activation region of positive volume (two cells always differ in the
unit that separated them). Linear regions: connected components of facet-adjacent cells with
equal output maps (:mod:`.nd_linear`).

Arithmetic: exact for every network. Every float64 parameter is a dyadic rational, so layers
are integer numerators over powers of two; vertices are gcd-reduced homogeneous integer
vectors and values are exact integers, in int64 while a magnitude bound proves it safe and in
Python ints otherwise (real-weight networks: slower, never wrong). The cells' affine maps,
which only the linear-region count needs, are kept by the exact engines' shared backend
(:mod:`.kernel`, k = n0) in the arithmetic of ``mode``: integers, or float64 with rigorous
error bounds and exact recomputation from the cells' patterns where a comparison is close.
Every decision is exact in every mode; no tolerance anywhere.

Whole space (``domain=None``): ReLU is positively homogeneous, so F(x, t) = t f(x / t) is a
ReLU network on R^(n0+1) (carry t as an extra always-active unit with weight 1 through every
layer and turn each bias b into a weight b on t). For t > 0 its activation regions are the
cones over f's regions (same patterns, same affine maps, same adjacency), and every cone meets
every neighbourhood of the origin. So f's regions on R^n0 are exactly F's regions in the box
[-1, 1]^n0 x [0, 1] (the face t = 0 has measure zero), with the t units dropped from the
patterns.
"""

from __future__ import annotations

import math
import time
from fractions import Fraction

import numpy as np
from tqdm.auto import tqdm

from .. import arith as nb
from ..checks import check_positive
from ..domains import Box, Domain
from ..errors import InvalidInput, TooLarge
from ..limits import human_bytes, peak_rss, physical_memory
from ..network import ReLUNet
from ._common import MODES, check_net, integer_layers, make_backend, resolve_mode
from .kernel import Backend
from .nd_complex import Complex
from .nd_linear import linear_regions
from .result import ExactCount

# Largest input dimension of the box (2**n0 corners; the count, not this, is the real limit).
MAX_INPUT_DIM = 16
# Patterns are kept in the result when there are at most this many cells (keep_patterns=None).
MAX_STORED_PATTERNS = 50_000


def homogenised(net: ReLUNet) -> ReLUNet:
    """F(x, t) = t f(x / t) as a ReLU network on R^(n0+1): every hidden layer gains a last
    unit carrying t (weight 1, bias 0) and every bias b becomes the weight b on t."""
    ws, bs = [], []
    last = len(net.weights) - 1
    for i, (w, b) in enumerate(zip(net.weights, net.biases)):
        w, b = np.asarray(w), np.asarray(b)
        n_in, n_out = w.shape
        extra = 0 if i == last else 1
        W = np.zeros((n_in + 1, n_out + extra))
        W[:n_in, :n_out] = w
        W[n_in, :n_out] = b
        if extra:
            W[n_in, n_out] = 1.0
        ws.append(W)
        bs.append(np.zeros(n_out + extra))
    return ReLUNet.from_arrays(ws, bs, net.activations)


def _box_complex(lo: list[Fraction], hi: list[Fraction], n_labels: int) -> Complex:
    """The box as one cell: 2**n0 corners with their box-facet labels (2i: x_i = lo_i,
    2i + 1: x_i = hi_i), all 2 n0 facets."""
    n0 = len(lo)
    corners = np.array(np.meshgrid(*[[0, 1]] * n0, indexing="ij")).reshape(n0, -1).T
    rows = []
    for c in corners.tolist():
        pt = [hi[i] if c[i] else lo[i] for i in range(n0)]
        den = math.lcm(*(p.denominator for p in pt))
        row = [int(p * den) for p in pt] + [den]
        g = math.gcd(*row)
        rows.append([r // g for r in row])
    V = nb.shrink(np.array(rows, dtype=object))
    words = (n_labels + 63) // 64
    inc = np.zeros((corners.shape[0], words), dtype=np.uint64)
    for i in range(n0):
        lab = 2 * i + corners[:, i]
        np.bitwise_or.at(
            inc,
            (np.arange(corners.shape[0]), lab >> 6),
            np.uint64(1) << (lab & 63).astype(np.uint64),
        )
    return Complex(
        V,
        inc,
        np.arange(corners.shape[0], dtype=np.int64),
        np.array([corners.shape[0]], dtype=np.int64),
        np.arange(2 * n0, dtype=np.int64),
        np.array([2 * n0], dtype=np.int64),
        n0,
    )


def _domain(net: ReLUNet, domain: Domain | None):
    """(network to refine, box lo, hi, domain dict, homogenised?)."""
    n0 = net.input_dim
    if n0 > MAX_INPUT_DIM - (domain is None):
        raise TooLarge(
            f"the n-D engine starts from the {2**n0}-corner box of R^{n0}; input dimensions "
            f"above {MAX_INPUT_DIM - (domain is None)} are refused"
        )
    if domain is None:
        lo = [Fraction(-1)] * n0 + [Fraction(0)]
        hi = [Fraction(1)] * (n0 + 1)
        dom = {
            "kind": "whole",
            "input_dim": n0,
            "description": f"all of R^{n0}",
        }
        return homogenised(net), lo, hi, dom, True
    if not isinstance(domain, Box):
        raise InvalidInput(
            f"the n-D engine partitions a full-dimensional Box or all of R^n0 (None), not a "
            f"{type(domain).__name__}"
        )
    ex = domain.exact(n0)
    lo, hi = ex["lo"], ex["hi"]
    dom = {
        "kind": "box",
        "input_dim": n0,
        "lo": [str(x) for x in lo],
        "hi": [str(x) for x in hi],
        "description": "box "
        + " x ".join(f"[{a}, {b}]" for a, b in zip(lo, hi))
        + f" of R^{n0} (full-dimensional)",
    }
    return net, lo, hi, dom, False


def nd_regions(
    net: ReLUNet,
    domain: Domain | None = None,
    *,
    mode: str = "auto",
    progress: bool = False,
    keep_patterns: bool | None = None,
    max_cells: int | None = None,
    memory_budget_mb: float | None = None,
    tol: float | None = None,
) -> ExactCount:
    """The n-D engine: exact activation and linear regions on a full-dimensional
    :class:`~tern_jax.Box` of R^n0, or on all of R^n0 (``domain=None``), for any n0.

    ``mode``: "auto", "exact" or "float64", the arithmetic of the cells' affine maps (as in
    the line and plane engines: "auto" picks integers for small denominators, float64 with
    exact fallback otherwise); vertices are exact integers in every mode, and every mode
    gives the same counts. ``progress``: a progress bar over the ReLU units
    (tqdm). ``keep_patterns``:
    keep the activation pattern of every region in the result (``None``: when at most 50000).
    ``max_cells``: stop with :class:`~tern_jax.TooLarge` once the partition has more cells.
    ``memory_budget_mb`` (default: half this machine's memory): stop with
    :class:`~tern_jax.TooLarge` once twice the run's peak memory (one more unit can double
    it) would pass it; in many dimensions the cells' vertices and a cut's temporaries, far
    more than the cells, are what fills memory. ``tol`` is accepted for a uniform call
    signature and ignored (no tolerance is used).
    """
    t0 = time.perf_counter()
    net = check_net(net)
    if mode not in MODES:
        raise InvalidInput(f"mode must be one of {MODES}, got {mode!r}")
    if max_cells is not None and (isinstance(max_cells, bool) or int(max_cells) < 1):
        raise InvalidInput(f"max_cells must be a positive integer or None, got {max_cells!r}")
    budget = _memory_budget(memory_budget_mb)
    work, lo, hi, dom, homog = _domain(net, domain)
    mode = resolve_mode(mode, net, [*lo, *hi])
    # Integer products in numpy's own loop: they are small next to the geometry, which
    # multi-threaded BLAS's idle threads would slow down (arith.use_blas).
    backend = make_backend(work, mode, len(lo), blas=False)
    cx = _box_complex(lo, hi, 2 * len(lo) + work.num_relu_units)
    run = _Run(work, cx, backend, progress, max_cells, budget)
    run.run()
    labels, n_lin, n_int, n_bd = linear_regions(cx, lambda ca, cb: backend.same(run.maps, ca, cb))
    C = cx.num_cells
    if keep_patterns is None:
        keep_patterns = C <= MAX_STORED_PATTERNS
    pats = run.patterns(drop_last=homog) if keep_patterns else None
    return ExactCount(
        activation_regions=C,
        linear_regions=n_lin,
        engine="nd",
        domain=dom,
        mode=mode,
        tolerance=None,
        fingerprint=net.fingerprint,
        seconds=time.perf_counter() - t0,
        arithmetic=f"vertices: exact integers; cell maps: {backend.describe()}",
        num_vertices=cx.num_vertices,
        num_facets=n_int + n_bd,
        num_edge_tests=cx.edge_tests,
        num_cuts=cx.cuts,
        patterns=pats,
        cell_linear_region=labels if keep_patterns else None,
    )


def _memory_budget(memory_budget_mb: float | None) -> int:
    if memory_budget_mb is None:
        return physical_memory() // 2
    return int(check_positive(memory_budget_mb, "memory_budget_mb") * 2**20)


class _Run:
    """Layer by layer refinement of a complex.

    Vertex values come from a forward pass per vertex: ReLU outputs are continuous, so
    ``relu(z)`` at a vertex is the same from every cell, and the next layer's values are
    ``Z' = relu(Z) @ Wn + W_v * D * bn`` (``Z`` is the value times the vertex's homogeneous
    weight W_v and the common denominator ``D``; identity layers pass ``Z`` on). No cell map
    is needed for it; the cells' maps (``maps``, kept by ``backend``: row i < n0 the
    coefficient of x_i, row n0 the constant) serve the output comparison only.
    """

    def __init__(
        self,
        net: ReLUNet,
        cx: Complex,
        backend: Backend,
        progress: bool,
        max_cells: int | None,
        budget: int,
    ):
        self.net, self.cx, self.backend, self.max_cells = net, cx, backend, max_cells
        self.budget, self.rss_at_start = budget, peak_rss()
        self.layers = integer_layers(net)
        n0 = cx.n0
        # The maps of the inputs: x_i = e_i . x, the origin at 0 (one piece, the box).
        unit = [[int(i == j) for j in range(n0)] for i in range(n0)]
        self.maps = backend.start([*unit, [0] * n0])
        self.history: list[tuple[np.ndarray, np.ndarray]] = []
        self.bar = None
        if progress:
            self.bar = tqdm(total=net.num_relu_units, unit="unit", desc="exact n-D", leave=False)

    def run(self) -> None:
        net, cx = self.net, self.cx
        base = 2 * cx.n0
        H, D = cx.V[:, : cx.n0], 1  # layer 0 outputs: H = W_v * x (D = 1)
        try:
            for li, act in enumerate(net.activations[:-1]):
                wn, bn, k = self.layers[li]
                Z = _forward(H, cx.V[:, -1], wn, bn, D)
                D <<= k
                self.maps = self.backend.affine(self.maps, li)
                if act != "relu":
                    H = Z
                    continue
                cx.Z = Z
                width = Z.shape[1]
                src = np.arange(cx.num_cells)
                for j in range(width):
                    m = cx.cut(j, base + j)
                    if m is not None:
                        src = src[m]
                        self._check_size()
                    if self.bar is not None:
                        self.bar.update(1)
                        self.bar.set_postfix(cells=cx.num_cells, refresh=False)
                base += width
                Z = cx.Z
                # Active on a cell iff > 0 at some vertex (no cell has both signs); on bits
                # packed 8 to a byte, so the gather over all cell vertices stays small.
                st = np.concatenate([[0], np.cumsum(cx.clen)[:-1]])
                on = Z > 0
                packed = np.bitwise_or.reduceat(np.packbits(on, axis=1)[cx.cv], st, axis=0)
                active = np.unpackbits(packed, axis=1, count=width).astype(bool)
                self.maps = self.backend.select(self.maps, src, active)
                self.history.append((src, active))
                H = Z * on
                cx.Z = None
            self.maps = self.backend.affine(self.maps, len(net.activations) - 1)  # outputs
        finally:
            if self.bar is not None:
                self.bar.close()

    def _check_size(self) -> None:
        cx = self.cx
        if self.max_cells is not None and cx.num_cells > self.max_cells:
            raise TooLarge(
                f"the partition passed max_cells={self.max_cells} cells (now "
                f"{cx.num_cells}) before the last unit; raise max_cells to count it"
            )
        # What this run holds (the complex) or has needed at its peak (a cut's temporaries,
        # many times the complex in high dimension); one more unit can double it.
        used = max(cx.memory_bytes(), peak_rss() - self.rss_at_start)
        if 2 * used > self.budget:
            raise TooLarge(
                f"the enumeration needed about {human_bytes(used)} at its peak ({cx.num_cells:,} "
                f"cells, {cx.num_vertices:,} vertices in {cx.n0} dimensions) before the last "
                f"unit, and the next unit can double that, past the memory budget of "
                f"{human_bytes(self.budget)} (memory_budget_mb / --memory-budget-mb; default "
                "half this machine's memory): count on a smaller box or a 2D slice (--plane), "
                "or estimate the count (tern-jax estimate)"
            )

    def bits(self, cells: np.ndarray) -> list[np.ndarray]:
        """Active bits of every ReLU layer (in order) for the given final cells."""
        idx = cells
        out = []
        for src, active in reversed(self.history):
            out.append(active[idx])
            idx = src[idx]
        return out[::-1]

    def patterns(self, drop_last: bool) -> np.ndarray:
        """Activation pattern of every cell (the homogenising t unit dropped if asked)."""
        bits = self.bits(np.arange(self.cx.num_cells))
        if not bits:
            return np.zeros((self.cx.num_cells, 0), dtype=bool)
        return np.concatenate([b[:, :-1] if drop_last else b for b in bits], axis=1)


def _forward(H: np.ndarray, W: np.ndarray, wn: np.ndarray, bn: np.ndarray, D: int) -> np.ndarray:
    """Exact ``H @ wn + W * D * bn`` (vertex rows; W: the vertices' homogeneous weights)."""
    Z = nb.matmul(H, wn, blas=False)  # as the cells' maps (nd_regions)
    bias = nb.shrink(nb.to_object(bn) * D)
    small = not nb.any_object(Z, W, bias)
    if small and nb.maxabs(Z) + nb.maxabs(W) * nb.maxabs(bias) < nb.INT64_LIMIT:
        return Z + W[:, None] * bias[None, :]
    Z = nb.to_object(Z) + nb.to_object(W)[:, None] * nb.to_object(bias)[None, :]
    return nb.shrink(Z)
