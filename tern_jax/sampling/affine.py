"""Each distinct sampled pattern, once: is it a region's, and what is its affine map?

Both questions are answered once per *distinct* pattern after the run, never per sample, at
the pattern's representative sample (the smallest sample index the table kept for it): the
device draws that sample again (the draw only), the host recomputes its pattern in the run's
float type and checks that it gives the table's key (always, on the exact path; a pattern
that does not, by rounding, is counted but left unchecked, without a map). The host then
walks the network at that sample with the pattern's masks, layer by layer: each ReLU
pre-activation's value there and its affine *piece* ``z_u = c @ G_u + g_u`` on the pattern's
region, in the sampled coordinates ``c``.

**Regions.** Samples sit on a finite grid (:mod:`.samplers`), and a hyperplane with a rational
normal crosses such a grid, so in two or more dimensions a sample can lie exactly on a
breakpoint of an integer network. Its pattern is then that of a face, possibly of no region
at all (counting it would exceed the true count). A pattern is kept when its representative
has no *face* unit (pre-activation exactly 0 on a piece that is not identically 0: units
that are 0 throughout the region, common in ternary networks, are no faces). Otherwise a
small linear program decides: the pattern's region (strict inequalities of all its pieces,
inside the domain) must contain a ball; if it does not, the pattern is dropped and its
samples are reported as lying on breakpoints. On the exact path every value and piece is an
integer computed exactly, so this is exact up to the linear program's tolerance. Patterns
of a ``points`` law are the data's own and are all kept.

**Affine maps.** The output's piece, ``f = c @ G + g0``, compared across the kept patterns:
exact integers on the exact path (every partial sum of the products bounded below 2^53),
else float64 snapped to a grid of ``TOLERANCE`` times each entry's largest magnitude (two
maps closer than that merge; equal maps whose rounding straddles a grid line, chance about
2^-53 / TOLERANCE each, split). The coordinates are what the domain's linear regions are
about: a box's inputs up to a fixed affine change of variables, a plane's (s, t), a
segment's parameter.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
from scipy.optimize import linprog

from ..network import ReLUNet
from . import device as dev
from .keys import KeySpec, forward_words, words_to_keys
from .lattice import Arithmetic, IntegerNet, as_float
from .samplers import LATTICE, POINTS, Sampling
from .table import TableState, columns_to_words

TOLERANCE = 1e-9
LP_MARGIN = 1e-9  # inradius (in grid units, rows normalised) a region needs to count
MAP_BATCH = 1024  # patterns per batch of the walk (memory: batch x coords x width)


@dataclasses.dataclass(frozen=True)
class PatternCheck:
    """Per table row: ``valid`` (not shown to be a face's pattern; ``unverified`` rows, whose
    pattern could not be recomputed, stay valid but have no map) and the maps' summary."""

    valid: np.ndarray
    affine_distinct: int
    exact: bool
    unverified: int
    linear_programs: int
    recomputed_tiles: int

    def describe(self) -> dict:
        return {
            "exact": self.exact,
            "tolerance": None if self.exact else TOLERANCE,
            "patterns": int(self.valid.size),
            "unverified": self.unverified,
            "linear_programs": self.linear_programs,
        }


def unpack_bits(words: np.ndarray, num_bits: int) -> np.ndarray:
    """(n, W) uint32 pattern words -> (n, num_bits) bool (bit i: word i mod W, position i // W)."""
    w = words.shape[1]
    i = np.arange(num_bits)
    return ((words[:, i % w] >> (i // w).astype(np.uint32)) & np.uint32(1)).astype(bool)


def _map_bound(inet: IntegerNet) -> float:
    """Bound on every partial sum of the pieces' products (absolute values throughout)."""
    g = np.abs(as_float(inet.layers[0][0]))
    c = np.abs(as_float(inet.layers[0][1]))
    worst = max(float(np.max(g, initial=0)), float(np.max(c, initial=0)))
    for w, b in inet.layers[1:]:
        wa = np.abs(as_float(w))
        g, c = g @ wa, c @ wa + np.abs(as_float(b))
        worst = max(worst, float(np.max(g, initial=0)), float(np.max(c, initial=0)))
    return worst


def _exact_pieces(arith: Arithmetic) -> bool:
    inet = arith.integer
    return arith.exact and inet is not None and _map_bound(inet) < 2.0**53


@functools.partial(jax.jit, static_argnums=(1,))
def _words_at(params, activations, coords):
    return forward_words(params, activations, coords)


def _device_words(arith: Arithmetic, coords: np.ndarray) -> np.ndarray:
    """Pattern words at ``coords`` by the run's forward pass in its float type (batches
    padded to ``MAP_BATCH`` rows: one compilation)."""
    out = []
    with dev.x64_scope(arith.precision):
        params = dev.device_params(arith)
        dt = dev.DTYPES[arith.precision]
        with jax.default_matmul_precision("highest"):
            for part in _batches(coords):
                w = _words_at(params, arith.activations, jnp.asarray(part, dt))
                out.append(np.asarray(w))
    return np.concatenate(out)[: coords.shape[0]]


def _batches(a: np.ndarray):
    for s in range(0, max(a.shape[0], 1), MAP_BATCH):
        part = a[s : s + MAP_BATCH]
        pad = MAP_BATCH - part.shape[0]
        yield np.concatenate([part, np.zeros((pad, *part.shape[1:]), part.dtype)]) if pad else part


def _at_representatives(net, sampling, arith, spec, state, seed):
    """(coordinates (R, coords) float64, pattern words (R, W), recomputed key equal to the
    table's (R,), tiles drawn): the representatives' samples are drawn again on device and
    their patterns recomputed by the run's forward pass."""
    reps = state.reps
    keys = columns_to_words(state.hi, state.lo, spec.words)
    if reps.size == 0:
        return np.zeros((0, sampling.coords)), keys, np.ones(0, bool), 0
    tiles, inverse = np.unique(reps // dev.TILE, return_inverse=True)
    fn = dev.build_tiles(net, sampling, arith, False)
    coords = []
    with dev.x64_scope(arith.precision):
        params, key = dev.device_params(arith), dev.seed_key(seed)
        for s in range(0, tiles.size, dev.TILES_BATCH):
            part = tiles[s : s + dev.TILES_BATCH]
            firsts = np.zeros(dev.TILES_BATCH, np.int32)  # fixed batch: one compilation
            firsts[: part.size] = part * dev.TILE_BLOCKS
            coords.append(np.asarray(fn(params, key, jnp.asarray(firsts))[0])[: part.size])
    coords = np.concatenate(coords)[inverse, reps % dev.TILE].astype(np.float64)
    words = _device_words(arith, coords)
    again = words_to_keys(spec, words, xp=np)
    return coords, words, np.all(again == keys, axis=1), int(tiles.size)


def _walk(layers, activations, coords, bits, xp=np):
    """Batch walk at the representatives with the patterns' masks: (maps (r, out*(k+1)),
    face unit present (r,), per-layer pieces [(g (r, k, n), c (r, n), bits (r, n))]).
    ``xp=jnp`` under ``jit`` for batches (:func:`_walk_maps`), numpy for single rows."""
    r = coords.shape[0]
    h, g, c = coords, None, None
    face = xp.zeros(r, bool)
    pieces = []
    off = 0
    for (w, b), act in zip(layers, activations):
        z = h @ w + b
        if g is None:
            g, c = xp.broadcast_to(w, (r, *w.shape)), xp.broadcast_to(b, (r, b.shape[0]))
        else:
            k = g.shape[1]
            g, c = (g.reshape(r * k, -1) @ w).reshape(r, k, -1), c @ w + b
        if act == "relu":
            on = bits[:, off : off + b.shape[0]]
            off += b.shape[0]
            nonconstant = xp.any(g != 0, axis=1) | (c != 0)
            face = face | xp.any((z == 0) & nonconstant, axis=1)
            pieces.append((g, c, on))
            g, c, h = g * on[:, None, :], c * on, z * on
        else:
            h = z
    return xp.concatenate([g.reshape(r, -1), c], axis=1), face, pieces


@functools.partial(jax.jit, static_argnums=(1,))
def _walk_jit(layers, activations, coords, bits):
    maps, face, _ = _walk(layers, activations, coords, bits, xp=jnp)
    return maps, face


def _walk_maps(layers, activations, coords, bits) -> tuple[np.ndarray, np.ndarray]:
    """Maps and face flags of all rows, in float64 on device (XLA's dots share JAX's thread
    pool; numpy's multithreaded BLAS measured 10-30x slower beside a busy JAX)."""
    maps, face = [], []
    with dev.x64_scope("float64"), jax.default_matmul_precision("highest"):
        lay = [(jnp.asarray(w, jnp.float64), jnp.asarray(b, jnp.float64)) for w, b in layers]
        for cp, bp in zip(_batches(coords), _batches(bits)):
            m, f = _walk_jit(lay, tuple(activations), jnp.asarray(cp), jnp.asarray(bp))
            maps.append(np.asarray(m))
            face.append(np.asarray(f))
    n = coords.shape[0]
    return np.concatenate(maps)[:n], np.concatenate(face)[:n]


def _has_interior(pieces, row: int, box) -> bool:
    """Linear program: does the pattern's region (inside ``box``) contain a ball?"""
    rows, rhs = [], []
    for g, c, on in pieces:
        gr, cr, onr = g[row].T, c[row], on[row]  # (n, k), (n,), (n,)
        keep = onr | np.any(gr != 0, axis=1) | (cr != 0)
        sign = np.where(onr, -1.0, 1.0)[keep]  # active: -(g y + c) + s <= 0
        norm = np.maximum(np.linalg.norm(gr[keep], axis=1), 1.0)
        rows.append(np.column_stack([sign[:, None] * gr[keep], np.ones(keep.sum()) * norm])
                    / norm[:, None])  # fmt: skip
        rhs.append(-sign * cr[keep] / norm)
    a_ub, b_ub = np.concatenate(rows), np.concatenate(rhs)
    k = a_ub.shape[1] - 1
    cost = np.zeros(k + 1)
    cost[-1] = -1.0  # maximise s
    res = linprog(cost, A_ub=a_ub, b_ub=b_ub, bounds=[*([box] * k), (None, 1.0)],
                  method="highs")  # fmt: skip
    return bool(res.status == 0 and -res.fun > LP_MARGIN)


def _maps_distinct(maps: np.ndarray, exact: bool) -> int:
    if maps.shape[0] == 0:
        return 0
    if not exact:
        scale = np.max(np.abs(maps), axis=0)
        maps = np.round(maps / np.where(scale > 0, scale * TOLERANCE, 1.0))
    return int(np.unique(maps, axis=0).shape[0])


def check_patterns(net: ReLUNet, sampling: Sampling, arith: Arithmetic, spec: KeySpec,
                   state: TableState, seed: int) -> PatternCheck:  # fmt: skip
    """Regions and affine maps of the table's patterns (see module docstring)."""
    exact = _exact_pieces(arith)
    if exact:  # the integer form layer by layer
        layers = [(as_float(w), as_float(b)) for w, b in arith.integer.layers]
        acts = net.activations
    else:  # the network the device evaluated
        layers, acts = list(arith.layers), arith.activations
    coords, words, verified, tiles = _at_representatives(net, sampling, arith, spec, state, seed)
    bits = unpack_bits(words, spec.num_bits)
    box = (0.0, 2.0 ** (arith.lattice_bits + 1)) if sampling.law == LATTICE else (None, None)
    valid = np.ones(verified.size, bool)
    maps, face = _walk_maps(layers, acts, coords, bits)
    lps = 0
    if sampling.law != POINTS:
        for j in np.flatnonzero(face & verified):
            lps += 1
            _, _, pieces = _walk(layers, acts, coords[j : j + 1], bits[j : j + 1])
            valid[j] = _has_interior(pieces, 0, box)
    distinct = _maps_distinct(maps[valid & verified], exact)
    return PatternCheck(valid, distinct, exact, int(np.count_nonzero(~verified)), lps, tiles)
