"""Walks of the network at patterns' representative samples, on device in batches.

Given sample coordinates and the patterns' masks, a walk returns per row the output's affine
map ``f = c @ G + g0`` in the sampled coordinates ``c`` (:func:`walk`'s row layout: ``G``
then ``g0``) and whether a ReLU unit is a *face* there (pre-activation exactly 0 on a piece
that is not identically 0). Three ways, chosen by :mod:`.affine`:

- :func:`walk_encoded` (exact path, :func:`encoding_base` exists): recomputes the pattern
  from exact integer values and carries each piece's gradient as one base-M encoded column.
- :func:`walk_reverse` (fewer outputs than inputs + 1): values forward under the masks,
  ``df/dz`` back; its face flags are a superset (rows with any pre-activation at 0).
- :func:`walk` (forward mode): every piece in full, k gradient columns and the offset; also
  the host's walk of single rows, whose pieces the face decisions of :mod:`.faces` read.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from . import device as dev
from .keys import KeySpec, multiply_shift, pack_bits, words_to_keys
from .lattice import Arithmetic, IntegerNet, as_float, magnitude_bound

MAP_BATCH = 1024  # patterns per batch of the walk (memory: batch x coords x width)
TOLERANCE = 1e-9  # relative grid of the float maps' comparison (see :mod:`.affine`)


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


def map_bounds(inet: IntegerNet) -> tuple[float, float]:
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


def exact_pieces(arith: Arithmetic) -> bool:
    inet = arith.integer
    return arith.exact and inet is not None and max(map_bounds(inet)) < 2.0**53


def encoding_base(inet: IntegerNet, activations: tuple[str, ...], coords: int) -> int | None:
    """Base ``M`` (a power of two) of the encoded walk, or None when it would not be exact.

    An integer gradient ``G`` (k entries, each partial sum below ``B`` in magnitude) is
    encoded as ``G . (1, M, ..., M^(k-1))`` with ``M > 2B``: signed base-M digits, so the
    encoding is injective and decodes exactly. It is linear, so the walk carries one column
    per piece instead of k; every partial sum stays below ``2 B M^(k-1)``. That, the walk's
    values (output included) and the offsets ``value - t . G`` (``t < 2^(m+1)``) must stay
    below 2^53 for float64 to be exact."""
    bound = max(map_bounds(inet)[0], 1.0)
    base = 1 << math.ceil(math.log2(2 * bound + 1))
    worst = max(2 * bound * float(base) ** (coords - 1),
                magnitude_bound(inet.layers, activations, inet.m, output=True),
                coords * bound * 2.0 ** (inet.m + 1))  # fmt: skip
    return base if worst < 2.0**53 else None


def padded(rows: int) -> int:
    """The next power of two >= ``rows`` (at least 64): the row count a jitted batch of
    ``rows`` is padded to, so that a handful of compilations serve every call."""
    return 1 << max(6, (rows - 1).bit_length())


def batch_size(rows: int, size: int = MAP_BATCH) -> int:
    """``size``, or :func:`padded` for fewer rows."""
    return min(size, padded(rows))


def _masks(layers, activations, bits) -> list:
    """Each layer's slice of the pattern bits (r, n_l), None for identity layers."""
    out, off = [], 0
    for (_, b), act in zip(layers, activations):
        if act == "relu":
            out.append(bits[:, off : off + b.shape[0]])
            off += b.shape[0]
        else:
            out.append(None)
    return out


def batches(a, size: int = MAP_BATCH):
    """Row batches of ``a`` (a host or device array, batches alike), padded with zeros to
    :func:`batch_size`."""
    xp = jnp if isinstance(a, jax.Array) else np
    size = batch_size(a.shape[0], size)
    for s in range(0, max(a.shape[0], 1), size):
        part = a[s : s + size]
        pad = size - part.shape[0]
        yield xp.concatenate([part, xp.zeros((pad, *part.shape[1:]), part.dtype)]) if pad else part


def walk(layers, activations, coords, bits, xp=np):
    """Batch walk at the representatives with the patterns' masks: (maps (r, out*(k+1)),
    face unit present (r,), per-layer pieces [(g (r, k, n), c (r, n), bits (r, n))]).
    ``xp=jnp`` under ``jit`` for batches (:func:`walk_maps`), numpy for single rows."""
    r = coords.shape[0]
    h, g, c = coords, None, None
    face = xp.zeros(r, bool)
    pieces = []
    for (w, b), on in zip(layers, _masks(layers, activations, bits)):
        z = h @ w + b
        if g is None:
            g, c = xp.broadcast_to(w, (r, *w.shape)), xp.broadcast_to(b, (r, b.shape[0]))
        else:
            k = g.shape[1]
            g, c = (g.reshape(r * k, -1) @ w).reshape(r, k, -1), c @ w + b
        if on is not None:
            nonconstant = xp.any(g != 0, axis=1) | (c != 0)
            face = face | xp.any((z == 0) & nonconstant, axis=1)
            pieces.append((g, c, on))
            g, c, h = g * on[:, None, :], c * on, z * on
        else:
            h = z
    return xp.concatenate([g.reshape(r, -1), c], axis=1), face, pieces


def walk_encoded(layers, activations, coords, base: int, xp=jnp):
    """The exact path's walk: (maps, face flags, pattern bits (r, U)) like :func:`walk`, with
    each piece's gradient carried as one encoded column (:func:`encoding_base`) beside the
    pre-activation value, and the pattern recomputed on the way (every value is an exact
    integer, so its signs are the run's pattern). A face unit is one with value 0 and a
    non-zero encoded gradient (a zero gradient and a zero value make the piece identically
    0). The output's gradients are decoded digit by digit (exact float64 integer arithmetic)
    and its offsets are its values minus ``coords . G``, giving :func:`walk`'s map rows."""
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


def zero_rows(layers, activations, coords, bits, xp=jnp):
    """Rows with a ReLU pre-activation exactly 0 under the masks (face or constant: a
    *superset* of :func:`walk`'s face flags, which the caller settles with :func:`walk`):
    the values alone, one column per unit."""
    h, zero = coords, xp.zeros(coords.shape[0], bool)
    for (w, b), on in zip(layers, _masks(layers, activations, bits)):
        z = h @ w + b
        if on is not None:
            zero = zero | xp.any(z == 0, axis=1)
            h = z * on
        else:
            h = z
    return zero


def walk_reverse(layers, activations, bits, through_first: bool = False, xp=jnp):
    """:func:`walk`'s maps by reverse mode, from the masks alone (a pattern's map does not
    depend on where in its region it is evaluated): ``v_l = df/dz_l`` (r, n_l, out) goes
    back from the output, ``G = W_1 v_1`` and ``c = b_out + sum_l b_l . v_l``. It carries
    ``out`` columns per layer where the forward walk carries k + 1, so with k inputs and one
    output it does ~(k + 2) / 2 times fewer products, and needs no coordinates. With
    ``through_first`` the rows hold ``v_1`` instead of ``G = W_1 v_1``, and ``c - b_1 . v_1``
    instead of ``c``: the same comparison when ``W_1`` (k x n_1) has full column rank (it is
    then injective), and n_1 / k as wide (:func:`first_layer_injective`)."""
    r, masks = bits.shape[0], _masks(layers, activations, bits)
    w, b = layers[-1]
    out = w.shape[1]
    # v is held as (r, out, n): each layer is one (r out, n) @ (n, n' + 1) matmul, the extra
    # column b . v giving the offset's share (a batched einsum over r, and separate dots
    # for the offsets, measured 2-5x slower on CPU with 10 outputs).
    c = xp.broadcast_to(b, (r, out))
    v = xp.broadcast_to(w.T, (r, out, w.shape[0]))  # df/dh of the last hidden layer
    for i in range(len(layers) - 2, -1, -1):
        if masks[i] is not None:
            v = v * masks[i][:, None, :]  # df/dz_i
        w, b = layers[i]
        if i == 0 and through_first:
            # Compared only with each other, so v_1 stays in (out, n_1) layout, and the offset
            # leaves out b_1 . v_1, a function of v_1 (its reduce, beside the concatenation,
            # tripled XLA:CPU's time for the whole walk).
            return xp.concatenate([v.reshape(r, -1), c], axis=1)
        y = (v.reshape(r * out, -1) @ xp.concatenate([w.T, b[:, None]], axis=1)).reshape(r, out, -1)
        v, c = y[..., :-1], c + y[..., -1]
    return xp.concatenate([v.transpose(0, 2, 1).reshape(r, -1), c], axis=1)  # (k, out) rows


def first_layer_injective(layers) -> bool:
    """Does the first layer's weight matrix (k x n_1) have full column rank n_1 <= k? Then
    ``G = W_1 v_1`` determines ``v_1`` and maps can be compared through ``v_1`` (784-input
    networks: n_1 / k of the width). Numerical rank with a margin: singular values above
    1e-8 times the largest."""
    w = np.asarray(layers[0][0], np.float64)
    if w.shape[1] > w.shape[0] or w.size == 0:
        return False
    sv = np.linalg.svd(w, compute_uv=False)
    return bool(sv[-1] > 1e-8 * sv[0])


def map_keys(maps, denom=None, xp=jnp):
    """128-bit keys (r, 4) uint32 of map rows (:func:`.keys.multiply_shift`, so two
    different rows share a key with probability 2^-128, math.md 5.6). With ``denom`` the
    rows are snapped to its grid first; the snapped values (|q| <= 1 / ``TOLERANCE``) are
    hashed as int32 words, exact integer maps as their float64 words."""
    if denom is not None:
        q = xp.clip(xp.round(maps / denom), -(2.0**31), 2.0**31 - 1).astype(jnp.int32)
        words = jax.lax.bitcast_convert_type(q, jnp.uint32)
    else:
        words = jax.lax.bitcast_convert_type(maps + 0.0, jnp.uint32)  # -0.0 -> 0.0 first
    return multiply_shift(words.reshape(maps.shape[0], -1), xp=xp)


@functools.partial(jax.jit, static_argnums=(1, 3, 4))
def _walk_jit(layers, activations, coords, spec, mode, words):
    """One batch: (maps, face flags, pattern words, keys). ``mode``: ``("encoded", base)``,
    the exact encoded walk, whose recomputed pattern's keys the caller checks; else
    ``"forward"`` (:func:`walk`), ``"reverse"`` (:func:`walk_reverse`) or ``"reverse-keys"``
    (no maps here: their keys come from :func:`reverse_maps`) under the masks of ``words``
    (checked before); both reverse modes' face flags are a superset (:func:`zero_rows`)."""
    if isinstance(mode, tuple):
        maps, face, bits = walk_encoded(layers, activations, coords, mode[1])
        words = pack_bits(bits)
        return maps, face, words, words_to_keys(spec, words)
    bits = unpack_bits(words, spec.num_bits, xp=jnp)
    if mode in ("reverse", "reverse-keys"):
        face = zero_rows(layers, activations, coords, bits)
        if mode == "reverse":
            return walk_reverse(layers, activations, bits), face, words, words
        return jnp.zeros((coords.shape[0], 0)), face, words, words
    maps, face, _ = walk(layers, activations, coords, bits, xp=jnp)
    return maps, face, words, words


def walk_maps(layers, activations, coords, spec: KeySpec, mode, words=None):
    """Maps, face flags, pattern words and keys of all rows, batch by batch in float64 on
    device (XLA's dots share JAX's thread pool; numpy's multithreaded BLAS measured 10-30x
    slower beside a busy JAX); ``mode`` as in :func:`_walk_jit`. ``coords`` (exact in
    float64) and ``words`` (the patterns' masks, except in the encoded mode) may be device
    arrays; the results are on the host."""
    out = []
    if words is None:
        words = np.zeros((coords.shape[0], 1), np.uint32)
    with dev.x64_scope("float64"), jax.default_matmul_precision("highest"):
        lay = _device_layers(layers)
        size = walk_rows(layers, coords.shape[1], mode)
        for cp, wp in zip(batches(coords, size), batches(words, size)):
            cp = jnp.asarray(cp, jnp.float64)
            res = _walk_jit(lay, tuple(activations), cp, spec, mode, jnp.asarray(wp))
            out.append([np.asarray(a) for a in res])
    n = coords.shape[0]
    return tuple(np.concatenate(parts)[:n] for parts in zip(*out))


def _device_layers(layers) -> list:
    return [(jnp.asarray(w, jnp.float64), jnp.asarray(b, jnp.float64)) for w, b in layers]


@functools.partial(jax.jit, static_argnums=(1, 3, 4))
def _reverse_jit(layers, activations, words, num_bits, through_first):
    """A batch's maps by :func:`walk_reverse`, from its pattern words."""
    return walk_reverse(layers, activations, unpack_bits(words, num_bits, xp=jnp), through_first)


@jax.jit
def _column_max(maps, live):
    """Each column's largest magnitude over the first ``live`` rows (not the padding)."""
    real = jnp.arange(maps.shape[0]) < live
    return jnp.max(jnp.where(real[:, None], jnp.abs(maps), 0.0), axis=0)


_keys_jit = jax.jit(map_keys)
KEEP_BYTES = 1 << 29  # maps kept on device between the two passes, up to 512 MB


def reverse_maps(layers, activations, words: np.ndarray, keep: np.ndarray, spec: KeySpec,
                 exact: bool) -> np.ndarray:  # fmt: skip
    """Keys (kept rows, 4) of the kept rows' maps by reverse mode, from their words alone:
    exact integers as they are; else snapped to a grid of ``tolerance`` times each column's
    largest magnitude among the kept rows (a first pass finds it; the maps it computed are
    kept for the second up to ``KEEP_BYTES``, the rest walked again). Batches of rows:
    memory stays bounded whatever the maps' width (784 inputs x 10 outputs: 7,850
    columns)."""
    rows = words[keep]
    if rows.shape[0] == 0:
        return np.zeros((0, 4), np.uint32)
    size = batch_size(rows.shape[0], walk_rows(layers, 1, "reverse"))
    first = first_layer_injective(layers)
    with dev.x64_scope("float64"), jax.default_matmul_precision("highest"):
        lay, acts, bits = _device_layers(layers), tuple(activations), spec.num_bits
        parts = [jnp.asarray(p) for p in batches(rows, size)]

        def walked(part):
            return _reverse_jit(lay, acts, part, bits, first)

        if exact:  # exact integer maps: hashed as they are, one pass
            keys = [np.asarray(_keys_jit(walked(p), None)) for p in parts]
            return np.concatenate(keys)[: rows.shape[0]]
        held, top, total = [], None, 0
        for n, part in zip(range(0, rows.shape[0], size), parts):
            maps = walked(part)
            col = _column_max(maps, rows.shape[0] - n)
            top = col if top is None else jnp.maximum(top, col)
            total += maps.nbytes
            held.append(maps if total <= KEEP_BYTES else None)
        denom = jnp.where(top > 0, top * TOLERANCE, 1.0)
        keys = [np.asarray(_keys_jit(m if m is not None else walked(p), denom))
                for m, p in zip(held, parts)]  # fmt: skip
    return np.concatenate(keys)[: rows.shape[0]]


def walk_mode(layers, coords: int, exact: bool) -> str:
    """The general walk's mode: reverse when it carries fewer columns (``out`` against
    ``k + 1``) and, on the exact path, keeps every partial sum of its products below 2^53
    (:func:`reverse_bound`); else forward."""
    out = layers[-1][0].shape[1]
    if out >= coords + 1 or (exact and not reverse_bound(layers) < 2.0**53):
        return "forward"
    return "reverse"


def reverse_bound(layers) -> float:
    """Bound on every partial sum of :func:`walk_reverse`'s backward products and offsets
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


def walk_rows(layers, coords: int, mode) -> int:
    """Rows per batch of a device walk: ``MAP_BATCH`` where it carries k columns per unit
    (forward) or is matmul-bound (encoded: 1,024 measured best on 3-256-256); up to 4,096
    for the narrow reverse walk and the forward words (about 2x less per-batch overhead on
    a 32-64-64-1 network; 16,384 was slower again), fewer with very many coordinates."""
    if mode not in ("reverse", "reverse-keys"):
        return MAP_BATCH
    width = max([coords] + [int(w.shape[1]) for w, _ in layers])
    return max(MAP_BATCH, min(4 * MAP_BATCH, (1 << 22) // width))


def piece_rows(layers, coords: int) -> int:
    """Rows per batch of the host's full pieces (rows x coords x width floats: ~32 MB)."""
    width = max(int(w.shape[1]) for w, _ in layers)
    return max(1, min(MAP_BATCH, (1 << 22) // max(1, coords * width)))
