"""Each distinct sampled pattern, once: is it a region's, and what is its affine map?

Both questions are answered once per *distinct* pattern after the run, never per sample, at
the pattern's representative sample (the smallest sample index the table kept for it). Its
pattern bits are the key itself when the key is the packed bits (<= 128 ReLU units);
otherwise the run's own compiled program recomputes them there (and the recomputed key is
checked against the table's). The host then walks the network at that sample with the
pattern's masks, layer by layer: each ReLU pre-activation's value there and its affine
*piece* ``z_u = c @ G_u + g_u`` on the pattern's region, in the sampled coordinates ``c``.

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

import jax
import jax.numpy as jnp
import numpy as np
from scipy.optimize import linprog

from ..network import ReLUNet
from . import device as dev
from .keys import KeySpec, words_to_keys
from .lattice import Arithmetic, IntegerNet, as_float
from .samplers import LATTICE, POINTS, Sampling
from .table import TableState, columns_to_words

TOLERANCE = 1e-9
LP_MARGIN = 1e-9  # inradius (in grid units, rows normalised) a region needs to count
MAP_BATCH = 1024  # patterns per batch of host products (memory: batch x coords x width)
TILES_BATCH = 8  # tiles recomputed per call


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


def _at_representatives(net, sampling, arith, spec, state, seed):
    """(coordinates (R, coords) float64, pattern words (R, W), key verified (R,), tiles)."""
    reps = state.reps
    keys = columns_to_words(state.hi, state.lo, spec.words)
    if reps.size == 0:
        return np.zeros((0, sampling.coords)), keys, np.ones(0, bool), 0
    tiles, inverse = np.unique(reps // dev.TILE, return_inverse=True)
    fn = dev.build_tiles(net, sampling, arith, spec.hashed)
    coords, words = [], []
    with dev.x64_scope(arith.precision):
        params, key = dev.device_params(arith), dev.seed_key(seed)
        for s in range(0, tiles.size, TILES_BATCH):
            part = tiles[s : s + TILES_BATCH]
            firsts = np.zeros(TILES_BATCH, np.int32)  # fixed batch: one compilation
            firsts[: part.size] = part * dev.TILE_BLOCKS
            c, w = fn(params, key, jnp.asarray(firsts))
            coords.append(np.asarray(c, np.float64)[: part.size])
            words.append(np.asarray(w)[: part.size])
    row = reps % dev.TILE
    coords = np.concatenate(coords)[inverse, row]
    if not spec.hashed:
        return coords, keys, np.ones(reps.size, bool), int(tiles.size)
    words = np.concatenate(words)[inverse, row]
    with jax.enable_x64(False):
        again = np.asarray(words_to_keys(spec, jnp.asarray(words)))
    return coords, words, np.all(again == keys, axis=1), int(tiles.size)


def _walk(layers, activations, coords, bits):
    """Batch walk at the representatives with the patterns' masks: (maps (r, out*(k+1)),
    face unit present (r,), per-layer pieces [(g (r, k, n), c (r, n), bits (r, n))])."""
    r = coords.shape[0]
    h, g, c = coords, None, None
    face = np.zeros(r, bool)
    pieces = []
    off = 0
    for (w, b), act in zip(layers, activations):
        z = h @ w + b
        if g is None:
            g, c = np.broadcast_to(w, (r, *w.shape)), np.broadcast_to(b, (r, b.size))
        else:
            k = g.shape[1]
            g, c = (g.reshape(r * k, -1) @ w).reshape(r, k, -1), c @ w + b
        if act == "relu":
            on = bits[:, off : off + b.size]
            off += b.size
            nonconstant = np.any(g != 0, axis=1) | (c != 0)
            face |= np.any((z == 0) & nonconstant, axis=1)
            pieces.append((g, c, on))
            g, c, h = g * on[:, None, :], c * on, z * on
        else:
            h = z
    return np.concatenate([g.reshape(r, -1), c], axis=1), face, pieces


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
    layers = ([(as_float(w), as_float(b)) for w, b in arith.integer.layers] if exact
              else list(arith.layers))  # fmt: skip
    coords, words, verified, tiles = _at_representatives(net, sampling, arith, spec, state, seed)
    bits = unpack_bits(words, spec.num_bits)
    box = (0.0, 2.0 ** (arith.lattice_bits + 1)) if sampling.law == LATTICE else (None, None)
    valid = np.ones(verified.size, bool)
    maps, lps = [], 0
    for s in range(0, coords.shape[0], MAP_BATCH):
        sl = slice(s, s + MAP_BATCH)
        m, face, pieces = _walk(layers, net.activations, coords[sl], bits[sl])
        if sampling.law != POINTS:
            for j in np.flatnonzero(face & verified[sl]):
                lps += 1
                valid[s + j] = _has_interior(pieces, j, box)
        maps.append(m[valid[sl] & verified[sl]])
    distinct = _maps_distinct(np.concatenate(maps) if maps else np.zeros((0, 1)), exact)
    return PatternCheck(valid, distinct, exact, int(np.count_nonzero(~verified)), lps, tiles)
