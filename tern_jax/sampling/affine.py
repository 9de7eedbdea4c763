"""Each distinct sampled pattern, once: is it a region's, and what is its affine map?

Both questions are answered once per *distinct* pattern after the run, never per sample, at
the pattern's representative sample (the smallest sample index the table kept for it): the
device draws that sample again (the draw only), its pattern is recomputed and checked
against the table's key (a pattern that does not give it, by rounding, is counted but left
unchecked, without a map), and the network is walked at that sample layer by layer: each
ReLU pre-activation's value there and its affine *piece* ``z_u = c @ G_u + g_u`` on the
pattern's region, in the sampled coordinates ``c``. Two walks, on device in batches:

- **exact path** (integer form, :func:`encoding_base` exists): the walk recomputes the
  pattern itself from its exact integer values (which are the run's, whatever its float
  type) and carries each piece's gradient as one encoded number instead of k; the output's
  gradients are decoded exactly. About 2.5x fewer products than the forward walk below with
  three coordinates.
- **general walk**: the pattern recomputed by the run's forward pass in its float type, then
  walked under its masks, in *reverse mode* when the network has fewer outputs than inputs
  + 1 (values forward, ``df/dz`` back: ``out`` columns per layer; a 784-input network's
  check went from 60 s to ~2 s at 10^5 patterns) or in *forward mode* (the pieces in full,
  k gradient columns and the offset). Reverse mode flags every row with a pre-activation
  exactly 0; the forward pieces of those rows alone settle which are faces.

The distinct maps are counted by fingerprints of their rows, each tie compared in full
(:func:`_maps_distinct`), in chunks: no copy of the rows x columns maps.

**Regions.** Samples sit on a finite grid (:mod:`.samplers`), and a hyperplane with a rational
normal crosses such a grid, so in two or more dimensions a sample can lie exactly on a
breakpoint of an integer network. Its pattern is then that of a face, possibly of no region
at all (counting it would exceed the true count). A pattern is kept when its representative
has no *face* unit (pre-activation exactly 0 on a piece that is not identically 0: units
that are 0 throughout the region, common in ternary networks, are no faces). Otherwise the
region (strict inequalities of all its pieces, inside the domain) must contain a ball; if
it does not, the pattern is dropped and its samples are reported as lying on breakpoints.
On the exact path that is decided exactly from the face units' gradients
(:func:`_exact_interior`: one direction lowering them all, or two opposite ones) where it
can be, else, and always off the exact path, by a small linear program (exact up to its
tolerance). Patterns of a ``points`` law are the data's own and are all kept.

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
import math

import jax
import jax.numpy as jnp
import numpy as np
from scipy.optimize import linprog

from ..network import ReLUNet
from . import device as dev
from .keys import KeySpec, forward_words, pack_bits, splitmix64, words_to_keys
from .lattice import Arithmetic, IntegerNet, as_float, magnitude_bound
from .samplers import LATTICE, POINTS, Sampling
from .table import TableState, columns_to_words

TOLERANCE = 1e-9
LP_MARGIN = 1e-9  # inradius (in grid units, rows normalised) a region needs to count
PERTURB_MARGIN = 1e-6  # cosine :func:`_exact_interior` needs to settle a pattern
MAP_BATCH = 1024  # patterns per batch of the walk (memory: batch x coords x width)


@dataclasses.dataclass(frozen=True)
class PatternCheck:
    """Per table row: ``valid`` (not shown to be a face's pattern; ``unverified`` rows, whose
    pattern could not be recomputed, stay valid but have no map) and the maps' summary."""

    valid: np.ndarray
    affine_distinct: int
    exact: bool
    unverified: int
    face_patterns: int
    linear_programs: int
    recomputed_tiles: int

    def describe(self) -> dict:
        return {
            "exact": self.exact,
            "tolerance": None if self.exact else TOLERANCE,
            "patterns": int(self.valid.size),
            "unverified": self.unverified,
            "face_patterns": self.face_patterns,
            "linear_programs": self.linear_programs,
        }


def unpack_bits(words, num_bits: int, xp=np):
    """(n, W) uint32 pattern words -> (n, num_bits) bool (bit i: word i mod W, position i // W).

    ``xp=jnp`` inside a jitted walk (static gathers and shifts); on the host, numpy's
    ``unpackbits`` (a per-bit gather there measured ~4x slower at 400k x 512 bits)."""
    n, w = words.shape
    if xp is not np:
        i = np.arange(num_bits)
        return ((words[:, i % w] >> (i // w).astype(np.uint32)) & np.uint32(1)).astype(bool)
    # Little-endian bytes of each word, least significant bit first: column 32 j + p holds
    # word j's bit p, which is pattern bit p * W + j.
    flat = np.unpackbits(np.ascontiguousarray(words, "<u4").view(np.uint8), axis=1,
                         bitorder="little")  # fmt: skip
    return flat.reshape(n, w, 32).transpose(0, 2, 1).reshape(n, 32 * w)[:, :num_bits].view(bool)


def _map_bounds(inet: IntegerNet) -> tuple[float, float]:
    """Bounds on every partial sum of the pieces' products (absolute values throughout):
    (gradients ``G``, offsets ``c``)."""
    g = np.abs(as_float(inet.layers[0][0]))
    c = np.abs(as_float(inet.layers[0][1]))
    worst_g, worst_c = float(np.max(g, initial=0)), float(np.max(c, initial=0))
    for w, b in inet.layers[1:]:
        wa = np.abs(as_float(w))
        g, c = g @ wa, c @ wa + np.abs(as_float(b))
        worst_g = max(worst_g, float(np.max(g, initial=0)))
        worst_c = max(worst_c, float(np.max(c, initial=0)))
    return worst_g, worst_c


def _exact_pieces(arith: Arithmetic) -> bool:
    inet = arith.integer
    return arith.exact and inet is not None and max(_map_bounds(inet)) < 2.0**53


def encoding_base(inet: IntegerNet, activations: tuple[str, ...], coords: int) -> int | None:
    """Base ``M`` (a power of two) of the encoded walk, or None when it would not be exact.

    An integer gradient ``G`` (k entries, each partial sum below ``B`` in magnitude) is
    encoded as ``G . (1, M, ..., M^(k-1))`` with ``M > 2B``: signed base-M digits, so the
    encoding is injective and decodes exactly. It is linear, so the walk carries one column
    per piece instead of k; every partial sum stays below ``2 B M^(k-1)``. That, the walk's
    values (output included) and the offsets ``value - t . G`` (``t < 2^(m+1)``) must stay
    below 2^53 for float64 to be exact."""
    bound = max(_map_bounds(inet)[0], 1.0)
    base = 1 << math.ceil(math.log2(2 * bound + 1))
    worst = max(2 * bound * float(base) ** (coords - 1),
                magnitude_bound(inet.layers, activations, inet.m, output=True),
                coords * bound * 2.0 ** (inet.m + 1))  # fmt: skip
    return base if worst < 2.0**53 else None


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
            for part in _batches(coords, _walk_rows(arith.layers, coords.shape[1], "reverse")):
                w = _words_at(params, arith.activations, jnp.asarray(part, dt))
                out.append(np.asarray(w))
    return np.concatenate(out)[: coords.shape[0]]


def _batches(a: np.ndarray, size: int = MAP_BATCH):
    for s in range(0, max(a.shape[0], 1), size):
        part = a[s : s + size]
        pad = size - part.shape[0]
        yield np.concatenate([part, np.zeros((pad, *part.shape[1:]), part.dtype)]) if pad else part


def _representatives(net, sampling, arith, state, seed) -> tuple[np.ndarray, int]:
    """(coordinates (R, coords) float64, tiles drawn): the representatives' samples, drawn
    again on device."""
    reps = state.reps
    if reps.size == 0:
        return np.zeros((0, sampling.coords)), 0
    tiles, inverse = np.unique(reps // dev.TILE, return_inverse=True)
    by_tile = np.argsort(inverse, kind="stable")
    edges = np.searchsorted(inverse[by_tile], np.arange(0, tiles.size + dev.TILES_BATCH,
                                                        dev.TILES_BATCH))  # fmt: skip
    fn = dev.build_tiles(net, sampling, arith, False)
    coords = np.zeros((reps.size, sampling.coords))
    with dev.x64_scope(arith.precision):
        params, key = dev.device_params(arith), dev.seed_key(seed)
        for i, s in enumerate(range(0, tiles.size, dev.TILES_BATCH)):
            part = tiles[s : s + dev.TILES_BATCH]
            firsts = np.zeros(dev.TILES_BATCH, np.int32)  # fixed batch: one compilation
            firsts[: part.size] = part * dev.TILE_BLOCKS
            drawn = fn(params, key, jnp.asarray(firsts))[0]
            sel = by_tile[edges[i] : edges[i + 1]]  # the reps in these tiles, gathered now
            size = 1 << max(6, (sel.size - 1).bit_length())  # padded: few compilations
            t, r = np.zeros((2, size), np.int32)
            t[: sel.size], r[: sel.size] = inverse[sel] - s, reps[sel] % dev.TILE
            coords[sel] = np.asarray(_gather_rows(drawn, t, r))[: sel.size]
    return coords, int(tiles.size)


@jax.jit
def _gather_rows(drawn, tile, row):
    """Rows of drawn tiles, on device (a batch of tiles of many coordinates is hundreds of
    MB; only the representatives' rows come back to the host)."""
    return drawn[tile, row]


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


def _walk_encoded(layers, activations, coords, base: int, xp=jnp):
    """The exact path's walk: (maps, face flags, pattern bits (r, U)) like :func:`_walk`, with
    each piece's gradient carried as one encoded column (:func:`encoding_base`) beside the
    pre-activation value, and the pattern recomputed on the way (every value is an exact
    integer, so its signs are the run's pattern). A face unit is one with value 0 and a
    non-zero encoded gradient (a zero gradient and a zero value make the piece identically
    0). The output's gradients are decoded digit by digit (exact float64 integer arithmetic)
    and its offsets are its values minus ``coords . G``, giving :func:`_walk`'s map rows."""
    r, k = coords.shape
    powers = xp.asarray(float(base) ** np.arange(k))
    h, t = coords, None
    face = xp.zeros(r, bool)
    bits = []
    for (w, b), act in zip(layers, activations):
        z = h @ w + b
        s = xp.broadcast_to(powers @ w, z.shape) if t is None else t @ w
        if act == "relu":
            on = z > 0
            bits.append(on)
            face = face | xp.any((z == 0) & (s != 0), axis=1)
            h, t = z * on, s * on
        else:
            h, t = z, s
    digits, rest = [], s
    for _ in range(k):
        d = rest - base * xp.round(rest / base)
        digits.append(d)
        rest = (rest - d) / base
    g = xp.stack(digits, axis=1)  # (r, k, out)
    c = z - xp.einsum("rk,rko->ro", coords, g)
    bits = xp.concatenate(bits, axis=1) if bits else xp.zeros((r, 0), bool)
    return xp.concatenate([g.reshape(r, -1), c], axis=1), face, bits


def _walk_reverse(layers, activations, coords, bits, xp=jnp):
    """:func:`_walk`'s maps by reverse mode, and a *superset* of its face flags (rows with a
    ReLU pre-activation exactly 0, face or constant: the caller settles them with
    :func:`_walk`). The values go forward under the masks, then ``v_l = df/dz_l`` (r, n_l,
    out) goes back: ``G = W_1 v_1`` and ``c = b_out + sum_l b_l . v_l``. It carries ``out``
    columns per layer where the forward walk carries k + 1, so with k inputs and one output
    it does ~(k + 2) / 2 times fewer products, and its memory does not grow with k per
    unit."""
    r = coords.shape[0]
    h, zero, masks, off = coords, xp.zeros(r, bool), [], 0
    for (w, b), act in zip(layers, activations):
        z = h @ w + b
        if act == "relu":
            on = bits[:, off : off + b.shape[0]]
            off += b.shape[0]
            zero = zero | xp.any(z == 0, axis=1)
            masks.append(on)
            h = z * on
        else:
            masks.append(None)
            h = z
    out = layers[-1][0].shape[1]
    v = xp.broadcast_to(xp.eye(out, dtype=h.dtype), (r, out, out))
    c = xp.broadcast_to(layers[-1][1], (r, out))
    for i in range(len(layers) - 1, 0, -1):
        v = xp.einsum("ij,rjo->rio", layers[i][0], v)
        if masks[i - 1] is not None:
            v = v * masks[i - 1][:, :, None]
        c = c + xp.einsum("i,rio->ro", layers[i - 1][1], v)
    g = xp.einsum("ki,rio->rko", layers[0][0], v)  # (r, k, out)
    return xp.concatenate([g.reshape(r, -1), c], axis=1), zero


@functools.partial(jax.jit, static_argnums=(1, 3, 4))
def _walk_jit(layers, activations, coords, spec, mode, words):
    """One batch: (maps, face flags, pattern words, keys). ``mode``: ``("encoded", base)``,
    the exact encoded walk, whose recomputed pattern's keys the caller checks; else
    ``"forward"`` (:func:`_walk`) or ``"reverse"`` (:func:`_walk_reverse`, face flags a
    superset) under the masks of ``words`` (checked before)."""
    if isinstance(mode, tuple):
        maps, face, bits = _walk_encoded(layers, activations, coords, mode[1])
        words = pack_bits(bits)
        return maps, face, words, words_to_keys(spec, words)
    bits = unpack_bits(words, spec.num_bits, xp=jnp)
    if mode == "reverse":
        maps, face = _walk_reverse(layers, activations, coords, bits)
    else:
        maps, face, _ = _walk(layers, activations, coords, bits, xp=jnp)
    return maps, face, words, words


def _walk_maps(layers, activations, coords, spec: KeySpec, mode, words=None):
    """Maps, face flags, pattern words and keys of all rows, batch by batch in float64 on
    device (XLA's dots share JAX's thread pool; numpy's multithreaded BLAS measured 10-30x
    slower beside a busy JAX); ``mode`` as in :func:`_walk_jit`. ``words`` (the patterns'
    masks) except in the encoded mode."""
    out = []
    if words is None:
        words = np.zeros((coords.shape[0], 1), np.uint32)
    with dev.x64_scope("float64"), jax.default_matmul_precision("highest"):
        lay = [(jnp.asarray(w, jnp.float64), jnp.asarray(b, jnp.float64)) for w, b in layers]
        size = _walk_rows(layers, coords.shape[1], mode)
        for cp, wp in zip(_batches(coords, size), _batches(words, size)):
            res = _walk_jit(lay, tuple(activations), jnp.asarray(cp), spec, mode, jnp.asarray(wp))
            out.append([np.asarray(a) for a in res])
    n = coords.shape[0]
    return tuple(np.concatenate(parts)[:n] for parts in zip(*out))


def _walk_mode(layers, coords: int, exact: bool) -> str:
    """The general walk's mode: reverse when it carries fewer columns (``out`` against
    ``k + 1``) and, on the exact path, keeps every partial sum of its products below 2^53
    (:func:`_reverse_bound`); else forward."""
    out = layers[-1][0].shape[1]
    if out >= coords + 1 or (exact and not _reverse_bound(layers) < 2.0**53):
        return "forward"
    return "reverse"


def _reverse_bound(layers) -> float:
    """Bound on every partial sum of :func:`_walk_reverse`'s backward products and offsets
    (absolute values throughout, from the output back; outputs summed)."""
    v = np.ones(layers[-1][0].shape[1])
    offset = float(np.sum(np.abs(layers[-1][1])))
    worst = offset
    for i in range(len(layers) - 1, -1, -1):
        v = np.abs(layers[i][0]) @ v  # bounds df/dh of layer i's input
        worst = max(worst, float(np.max(v, initial=0)))
        if i:
            offset += float(np.abs(layers[i - 1][1]) @ v)
    return max(worst, offset)


def _walk_rows(layers, coords: int, mode) -> int:
    """Rows per batch of a device walk: ``MAP_BATCH`` where it carries k columns per unit
    (forward) or is matmul-bound (encoded: 1,024 measured best on 3-256-256); up to 4,096
    for the narrow reverse walk and the forward words (about 2x less per-batch overhead on
    a 32-64-64-1 network; 16,384 was slower again), fewer with very many coordinates."""
    if mode != "reverse":
        return MAP_BATCH
    width = max([coords] + [int(w.shape[1]) for w, _ in layers])
    return max(MAP_BATCH, min(4 * MAP_BATCH, (1 << 22) // width))


def _piece_rows(layers, coords: int) -> int:
    """Rows per batch of the host's full pieces (rows x coords x width floats: ~32 MB)."""
    width = max(int(w.shape[1]) for w, _ in layers)
    return max(1, min(MAP_BATCH, (1 << 22) // max(1, coords * width)))


def _face_normals(pieces, row: int, point: np.ndarray) -> np.ndarray:
    """(f, k) pieces' gradients of the face units at ``point``: pre-activation exactly 0 on
    a piece that is not constant (row ``row`` of :func:`_walk`'s pieces)."""
    normals = []
    for g, c, _ in pieces:
        g0 = g[row]  # (k, n)
        face = (point @ g0 + c[row] == 0) & np.any(g0 != 0, axis=0)
        normals.append(g0[:, face].T)
    return np.concatenate(normals)


def _exact_interior(normals: np.ndarray) -> bool | None:
    """Does the region of a pattern whose representative has these integer face normals
    have interior? Exact where it answers; None leaves it to the linear program.

    Every unit that is not a face has slack at the representative, a face unit's bit is 0,
    and the representative is a cell centre inside the open box; so the region has interior
    iff some direction ``d`` has ``n . d < 0`` for every face normal ``n`` (then
    ``point + eps d`` and a small ball around it lie inside). Yes when ``d`` = minus the sum
    of the unit normals does it (cosines below ``-PERTURB_MARGIN``, far beyond float64
    rounding); no when two normals point in exactly opposite directions (Gordan: a unit and
    its negation, common in ternary networks, meet only on their common hyperplane).
    """
    if normals.shape[0] == 0:
        return True
    unit = normals / np.linalg.norm(normals, axis=1, keepdims=True)
    d = -unit.sum(axis=0)
    size = np.linalg.norm(d)
    if size > 0 and np.max(unit @ d) / size < -PERTURB_MARGIN:
        return True
    ints = normals.astype(np.int64)  # integers below 2^53 (the exact walk's bound)
    prim = ints // np.gcd.reduce(ints, axis=1, keepdims=True)
    seen = {tuple(v) for v in prim}
    if any(tuple(-v) in seen for v in prim):
        return False
    return None


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


ROW_CHUNK = 1 << 22  # map entries per chunk of the distinct count (memory ~32 MB)


@functools.cache
def _row_multipliers(cols: int) -> np.ndarray:
    """Fixed odd uint64 multipliers (splitmix64 stream) of :func:`_maps_distinct`'s fingerprint."""
    out, state = np.zeros(cols, np.uint64), 0x5EED
    for j in range(cols):
        state, out[j] = splitmix64(state)
    out |= np.uint64(1)
    out.setflags(write=False)
    return out


def _maps_distinct(maps: np.ndarray, keep: np.ndarray, exact: bool) -> int:
    """Distinct rows among ``maps[keep]``: exact integers on the exact path, else snapped to
    a grid of ``TOLERANCE`` times each column's largest magnitude.

    Each (snapped) row gets a 64-bit fingerprint, a sum of its words times fixed odd
    multipliers mod 2^64 (a function of the row alone, whatever the order); rows are sorted
    by it, and rows sharing one are compared in full, so the count is exact whatever the
    fingerprint's collisions. Processed by chunks of rows: memory stays ~linear in the
    rows, not in rows x columns copies (maps of 784-input networks are 785 columns wide).
    """
    rows = np.flatnonzero(keep)
    if rows.size == 0:
        return 0
    step = max(1, ROW_CHUNK // maps.shape[1])
    denom = None
    if not exact:
        scale = np.zeros(maps.shape[1])
        for s in range(0, rows.size, step):
            scale = np.maximum(scale, np.max(np.abs(maps[rows[s : s + step]]), axis=0))
        denom = np.where(scale > 0, scale * TOLERANCE, 1.0)

    def snapped(idx: np.ndarray) -> np.ndarray:
        part = maps[idx] if denom is None else np.round(maps[idx] / denom)
        return np.ascontiguousarray(part + 0.0)  # -0.0 -> 0.0: equal values, equal words

    mult = _row_multipliers(maps.shape[1])
    fp = np.concatenate([np.sum(snapped(rows[s : s + step]).view(np.uint64) * mult, axis=1,
                                dtype=np.uint64) for s in range(0, rows.size, step)])  # fmt: skip
    order = np.argsort(fp, kind="stable")
    sfp = fp[order]
    tied = np.flatnonzero(sfp[1:] == sfp[:-1])  # neighbours sharing a fingerprint
    distinct = rows.size - tied.size
    for s in range(0, tied.size, step):
        t = tied[s : s + step]
        differ = np.any(snapped(rows[order[t]]) != snapped(rows[order[t + 1]]), axis=1)
        if np.any(differ):  # a fingerprint collision: count its groups in full
            return int(np.unique(snapped(rows), axis=0).shape[0])
    return distinct


def check_patterns(net: ReLUNet, sampling: Sampling, arith: Arithmetic, spec: KeySpec,
                   state: TableState, seed: int) -> PatternCheck:  # fmt: skip
    """Regions and affine maps of the table's patterns (see module docstring)."""
    exact = _exact_pieces(arith)
    if exact:  # the integer form layer by layer
        layers = [(as_float(w), as_float(b)) for w, b in arith.integer.layers]
        acts = net.activations
    else:  # the network the device evaluated
        layers, acts = list(arith.layers), arith.activations
    coords, tiles = _representatives(net, sampling, arith, state, seed)
    keys = columns_to_words(state.hi, state.lo, spec.words)
    base = encoding_base(arith.integer, tuple(acts), coords.shape[1]) if exact else None
    if base is None:  # patterns recomputed by the run's forward pass, then walked
        words = _device_words(arith, coords)
        mode = _walk_mode(layers, coords.shape[1], exact)
        maps, face, _, _ = _walk_maps(layers, acts, coords, spec, mode, words)
        again = words_to_keys(spec, words, xp=np)
    else:
        maps, face, words, again = _walk_maps(layers, acts, coords, spec, ("encoded", base))
    verified = np.all(again == keys, axis=1)
    box = (0.0, 2.0 ** (arith.lattice_bits + 1)) if sampling.law == LATTICE else (None, None)
    valid = np.ones(verified.size, bool)
    lps = faces = 0
    todo = np.flatnonzero(face & verified) if sampling.law != POINTS else np.zeros(0, int)
    step = _piece_rows(layers, coords.shape[1])
    for s in range(0, todo.size, step):  # the pieces of a batch of rows at once
        rows = todo[s : s + step]
        bits = unpack_bits(words[rows], spec.num_bits)
        _, is_face, pieces = _walk(layers, acts, coords[rows], bits)
        for i, j in enumerate(rows):
            if not is_face[i]:  # a unit at 0 whose piece is constant: no face
                continue
            faces += 1
            decided = _exact_interior(_face_normals(pieces, i, coords[j])) if exact else None
            if decided is None:
                lps += 1
                decided = _has_interior(pieces, i, box)
            valid[j] = decided
    distinct = _maps_distinct(maps, valid & verified, exact)
    unverified = int(np.count_nonzero(~verified))
    return PatternCheck(valid, distinct, exact, unverified, faces, lps, tiles)
