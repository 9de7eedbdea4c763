"""Each distinct sampled pattern, once: is it a region's, and what is its affine map?

Both questions are answered once per *distinct* pattern after the run, never per sample, at
the pattern's representative sample (the smallest sample index the table kept for it): the
device draws that sample again (the draw only), its pattern is recomputed and checked
against the table's key (a pattern that does not give it, by rounding, is counted but left
unchecked, without a map), and the network is walked at that sample layer by layer: each
ReLU pre-activation's value there and its affine *piece* ``z_u = c @ G_u + g_u`` on the
pattern's region, in the sampled coordinates ``c``. Two walks, on device in batches:

- **exact path** (integer form, :func:`.walks.encoding_base` exists): the walk recomputes the
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

The check runs chunk by chunk of representatives (their coordinates are never all in
memory). Maps wider than ``NARROW_MAPS`` columns in reverse mode are not kept: each kept
map becomes a 128-bit multiply-shift key of its snapped row (:func:`.walks.reverse_maps`:
two different maps share one with probability 2^-128; ``maps_compared`` in the record
says so), so memory stays linear in the patterns whatever the maps' width. Otherwise the
maps are kept and their distinct rows counted exactly (:func:`_maps_distinct`).

**Regions.** Samples sit on a finite grid (:mod:`.samplers`), and a hyperplane with a rational
normal crosses such a grid, so in two or more dimensions a sample can lie exactly on a
breakpoint of an integer network. Its pattern is then that of a face, possibly of no region
at all (counting it would exceed the true count). A pattern is kept when its representative
has no *face* unit (pre-activation exactly 0 on a piece that is not identically 0: units
that are 0 throughout the region, common in ternary networks, are no faces). Otherwise the
region (strict inequalities of all its pieces, inside the domain) must contain a ball; if
it does not, the pattern is dropped and its samples are reported as lying on breakpoints.
On the exact path that is decided exactly from the face units' gradients
(:func:`.faces.exact_interior`: one direction lowering them all, or two opposite ones) where it
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

import jax
import jax.numpy as jnp
import numpy as np

from ..network import ReLUNet
from . import device as dev
from . import faces, samplers, walks
from .keys import HASH_NAME, KeySpec, forward_words, words_to_keys
from .lattice import Arithmetic, as_float
from .samplers import LATTICE, POINTS, Sampling
from .table import TableState, columns_to_words, sort_two, words_to_columns


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
    maps_compared: str = "rows"

    def describe(self) -> dict:
        return {
            "exact": self.exact,
            "tolerance": None if self.exact else walks.TOLERANCE,
            "patterns": int(self.valid.size),
            "unverified": self.unverified,
            "face_patterns": self.face_patterns,
            "linear_programs": self.linear_programs,
            "maps_compared": self.maps_compared,
        }


@functools.partial(jax.jit, static_argnums=(1,))
def _words_at(params, activations, coords):
    return forward_words(params, activations, coords, zeros=True)


def _representatives(net, sampling, arith, seed, reps, rows: int, words: bool):
    """The representatives' samples (global indices ``reps``) drawn again on device, in
    chunks of about ``rows``: yields (table row indices, coordinates (len, coords) in the
    run's float type, and with ``words`` their pattern words by the run's forward pass and
    whether it met a ReLU pre-activation exactly 0, else None twice), all on device: only
    what the check needs of them crosses to the host (a 784-input network's coordinates are
    6 KB a row). Lattice draws are redrawn row by row (:func:`.device.build_rows`), others
    tile by tile (:func:`_from_tiles`)."""
    if not samplers.rows_drawable(sampling, dev.BLOCK):
        yield from _from_tiles(net, sampling, arith, seed, reps, rows, words)
        return
    fn = dev.build_rows(net, sampling, arith, words)
    with dev.x64_scope(arith.precision):
        params, key = dev.device_params(arith), dev.seed_key(seed)
        data = sampling.device_data(dev.DTYPES[arith.precision])
        for s in range(0, reps.size, rows):
            sel = np.arange(s, min(s + rows, reps.size))
            blocks, at = np.zeros((2, walks.padded(sel.size)), np.int32)  # few compilations
            blocks[: sel.size], at[: sel.size] = np.divmod(reps[sel], dev.BLOCK)
            c, w, z = fn(params, key, jnp.asarray(blocks), jnp.asarray(at), data)
            n = sel.size
            yield (sel, c[:n], w[:n], z[:n]) if words else (sel, c[:n], None, None)


def _from_tiles(net, sampling, arith, seed, reps, rows: int, words: bool):
    """:func:`_representatives` for draws that are not row-addressable: the tiles holding
    representatives are drawn again, a batch at a time, and their rows gathered on device;
    chunks of ``rows`` to ``2 rows`` in tile order."""
    tiles, inverse = np.unique(reps // dev.TILE, return_inverse=True)
    by_tile = np.argsort(inverse, kind="stable")
    edges = np.searchsorted(inverse[by_tile], np.arange(0, tiles.size + dev.TILES_BATCH,
                                                        dev.TILES_BATCH))  # fmt: skip
    fn = dev.build_tiles(net, sampling, arith, False)
    pending, held = [], 0

    def chunk():
        sel, got, w, z = zip(*pending)
        if not words:
            return np.concatenate(sel), jnp.concatenate(got), None, None
        return np.concatenate(sel), jnp.concatenate(got), jnp.concatenate(w), jnp.concatenate(z)

    with dev.x64_scope(arith.precision), jax.default_matmul_precision("highest"):
        params, key = dev.device_params(arith), dev.seed_key(seed)
        data = sampling.device_data(dev.DTYPES[arith.precision])
        for i, s in enumerate(range(0, tiles.size, dev.TILES_BATCH)):
            part = tiles[s : s + dev.TILES_BATCH]
            firsts = np.zeros(dev.TILES_BATCH, np.int32)  # fixed batch: one compilation
            firsts[: part.size] = part * dev.TILE_BLOCKS
            drawn = fn(params, key, jnp.asarray(firsts), data)[0]
            in_batch = by_tile[edges[i] : edges[i + 1]]  # the reps in these tiles
            for c in range(0, in_batch.size, rows):
                sel = in_batch[c : c + rows]
                t, r = np.zeros((2, walks.padded(sel.size)), np.int32)  # few compilations
                t[: sel.size], r[: sel.size] = inverse[sel] - s, reps[sel] % dev.TILE
                got = _gather_rows(drawn, t, r)
                w, z = _words_at(params, arith.activations, got) if words else (None, None)
                n = sel.size
                pending.append((sel, got[:n], *((w[:n], z[:n]) if words else (None, None))))
                held += sel.size
                if held >= rows:  # whole chunks, however the tiles split them
                    yield chunk()
                    pending, held = [], 0
        if pending:
            yield chunk()


@jax.jit
def _gather_rows(drawn, tile, row):
    """Rows of drawn tiles, on device (a batch of tiles of many coordinates is hundreds of
    MB; only the representatives' rows are kept)."""
    return drawn[tile, row]


def _rows_at(coords: jax.Array, at: np.ndarray) -> np.ndarray:
    """Some rows of device coordinates, as float64 on the host (the face rows only)."""
    with dev.x64_scope("float64"):
        return np.asarray(coords[jnp.asarray(at)], np.float64)


NARROW_MAPS = 32  # map columns up to which the reverse walk keeps rows (beyond: keys)


def _maps_distinct(maps: np.ndarray, keep: np.ndarray, exact: bool) -> int:
    """Distinct rows among ``maps[keep]``: exact integers on the exact path, else snapped to
    a grid of ``TOLERANCE`` times each column's largest magnitude; sorted, then changes
    between neighbours counted (~2x faster than ``np.unique(axis=0)``)."""
    q = maps[keep]
    if q.shape[0] == 0:
        return 0
    if not exact:
        scale = np.max(np.abs(q), axis=0)
        q = np.round(q / np.where(scale > 0, scale * walks.TOLERANCE, 1.0))
    q = q[np.lexsort(q.T[::-1])]
    return 1 + int(np.count_nonzero(np.any(q[1:] != q[:-1], axis=1)))


CHUNK_BYTES = 1 << 27  # a chunk of representatives' coordinates or activations: 128 MB


def check_patterns(net: ReLUNet, sampling: Sampling, arith: Arithmetic, spec: KeySpec,
                   state: TableState, seed: int) -> PatternCheck:  # fmt: skip
    """Regions and affine maps of the table's patterns (see module docstring), chunk by
    chunk of representatives: memory stays linear in the patterns whatever the number of
    inputs (the reverse walk keeps only each pattern's words and its map's key)."""
    exact = walks.exact_pieces(arith)
    if exact:  # the integer form layer by layer
        layers = [(as_float(w), as_float(b)) for w, b in arith.integer.layers]
        acts = net.activations
    else:  # the network the device evaluated
        layers, acts = list(arith.layers), arith.activations
    keys = columns_to_words(state.hi, state.lo, spec.words)
    k, n = sampling.coords, keys.shape[0]
    base = walks.encoding_base(arith.integer, tuple(acts), k) if exact else None
    mode = ("encoded", base) if base is not None else walks.walk_mode(layers, k, exact)
    width = (k + 1) * layers[-1][0].shape[1]
    if mode == "reverse" and width > NARROW_MAPS:  # wide maps: keys, not rows, kept
        mode = "reverse-keys"
    maps = np.zeros((n, 0 if mode == "reverse-keys" else width))
    words = np.zeros((n, max(1, -(-spec.num_bits // 32))), np.uint32)
    verified = np.zeros(n, bool)
    box = (0.0, 2.0 ** (arith.lattice_bits + 1)) if sampling.law == LATTICE else (None, None)
    valid = np.ones(n, bool)
    lps = n_faces = 0
    # Chunks of 2^j rows (no padding) whose coordinates, and whose activations in the forward
    # pass at them, stay within CHUNK_BYTES: few compilations, bounded memory.
    widest = max(k, *(int(w.shape[1]) for w, _ in arith.layers))
    rows = max(walks.MAP_BATCH, 1 << max(0, (CHUNK_BYTES // (8 * widest)).bit_length() - 1))
    step = walks.piece_rows(layers, k)
    tiles = 0  # tiles drawn again (none when rows are drawn alone)
    if not samplers.rows_drawable(sampling, dev.BLOCK):
        tiles = np.unique(state.reps // dev.TILE).size
    chunks = _representatives(net, sampling, arith, seed, state.reps, rows, base is None)
    # A float64 run off the exact path evaluates what the reverse walk's zero check does (the
    # same layers and type), so its own zero flags serve, and wide maps need nothing else here.
    own = mode == "reverse-keys" and not exact and arith.precision == "float64"
    for idx, coords, w, zeros in chunks if n else ():
        if base is None:  # patterns recomputed by the run's forward pass, then walked
            if own:
                m, f = maps[idx], np.asarray(zeros)
            else:
                m, f, _, _ = walks.walk_maps(layers, acts, coords, spec, mode, w)
            w = np.asarray(w)
            again = words_to_keys(spec, w, xp=np)
        else:
            m, f, w, again = walks.walk_maps(layers, acts, coords, spec, mode)
        maps[idx], words[idx] = m, w
        verified[idx] = np.all(again == keys[idx], axis=1)
        todo = np.flatnonzero(f & verified[idx]) if sampling.law != POINTS else idx[:0]
        for s in range(0, todo.size, step):  # the pieces of a batch of rows at once
            at = todo[s : s + step]  # positions in the chunk
            part, pts = idx[at], _rows_at(coords, at)
            bits = walks.unpack_bits(words[part], spec.num_bits)
            _, is_face, pieces = walks.walk(layers, acts, pts, bits)
            for i, j in enumerate(part):
                if not is_face[i]:  # a unit at 0 whose piece is constant: no face
                    continue
                n_faces += 1
                normals = faces.face_normals(pieces, i, pts[i])
                decided = faces.exact_interior(normals) if exact else None
                if decided is None:
                    lps += 1
                    decided = faces.has_interior(pieces, i, box)
                valid[j] = decided
    kept = valid & verified
    if mode == "reverse-keys":  # each kept map's 128-bit key, from the words alone
        keys = walks.reverse_maps(layers, acts, words, kept, spec, exact)
        distinct = int(np.count_nonzero(sort_two(*words_to_columns(keys))[1]))
    else:
        distinct = _maps_distinct(maps, kept, exact)
    unverified = int(np.count_nonzero(~verified))
    compared = f"hash:{HASH_NAME}" if mode == "reverse-keys" else "rows"
    return PatternCheck(valid, distinct, exact, unverified, n_faces, lps, tiles, compared)
