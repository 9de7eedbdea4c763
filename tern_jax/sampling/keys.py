"""Activation patterns to fixed-width keys, on device.

A pattern of U ReLU bits (unit active iff pre-activation > 0) is packed into ceil(U / 32)
uint32 words (bit i to word i mod W, position i // W: see :func:`pack_bits`). When
U <= 128 those words *are* the key (exact, no hashing). Otherwise the key is a 128-bit
hash of the words: four lanes of vector multiply-shift hashing (:func:`multiply_shift`),
lane j = ((b_j + sum_i a_ij x_i) mod 2^64) >> 32 with fixed 64-bit coefficients. Each lane is
a strongly universal hash of the word vector (Dietzfelbinger 1996; Thorup, "High speed
hashing for integers and strings", 2015, section on vectors), so over the choice of
coefficients two distinct patterns share a lane with probability exactly 2^-32 and a key
with probability 2^-128; for S distinct patterns the chance of any collision is at most
S^2 / 2^129 (math.md section 5), which the result record reports. The coefficients come
from a fixed splitmix64 stream (:func:`hash_coefficients`), the same on every platform and
release, and are independent of the networks hashed.

x64 is disabled in JAX, so every key is a tuple of uint32 words; the hash enables 64-bit
integers only inside its own computation.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ..errors import InvalidInput
from ..forward import outputs, pattern_bits

EXACT_MAX_BITS = 128
HASH_NAME = "multiply_shift_4x32"
HASH_SEED = 0x7E51A5C0DE  # splitmix64 seed of the hash coefficients: never change it


@dataclasses.dataclass(frozen=True)
class KeySpec:
    """How patterns of a network become keys: ``words`` uint32 words, exact or hashed."""

    num_bits: int
    words: int
    hashed: bool

    @property
    def kind(self) -> str:
        return f"hash:{HASH_NAME}" if self.hashed else "exact-bits"

    @property
    def key_bits(self) -> int:
        return 32 * self.words

    def collision_probability(self, distinct: int) -> float:
        """Chance that two of ``distinct`` different patterns share a key (0 when exact)."""
        if not self.hashed:
            return 0.0
        return float(min(1.0, distinct * distinct / 2.0 ** (self.key_bits + 1)))


def key_spec(num_relu_units: int) -> KeySpec:
    """The key layout for a network with this many ReLU units."""
    if num_relu_units <= EXACT_MAX_BITS:
        return KeySpec(num_relu_units, max(1, -(-num_relu_units // 32)), False)
    return KeySpec(num_relu_units, 4, True)


def forward_bits(params: tuple, activations: tuple[str, ...], x: jax.Array) -> jax.Array:
    """ReLU bits (n, U) bool for inputs x (n, d); U may be 0."""
    return pattern_bits(params, activations, x, xp=jnp)


def forward_outputs(params: tuple, activations: tuple[str, ...], x: jax.Array) -> jax.Array:
    """Network outputs (n, out), the same walk as :func:`forward_bits`."""
    return outputs(params, activations, x, xp=jnp)


def pack_bits(bits, xp=jnp):
    """Pack (n, U) bools into (n, W) uint32 words, W = max(1, ceil(U/32)).

    Pattern bit i goes to word i mod W, bit position i // W (zero-padded to 32 W bits). This
    interleaved layout is as injective as the plain one but keeps a layer's bits in
    contiguous columns of the words (:func:`_pack_layer`). ``xp=np`` on the host.
    """
    n, u = bits.shape
    words = max(1, -(-u // 32))
    pad = words * 32 - u
    if pad:
        bits = xp.concatenate([bits, xp.zeros((n, pad), dtype=bool)], axis=1)
    b = bits.reshape(n, 32, words).astype(xp.uint32)
    shifts = xp.arange(32, dtype=xp.uint32)[:, None]
    # Bits are disjoint, so the sum is an OR.
    return xp.sum(b << shifts, axis=1, dtype=xp.uint32)


def _pack_layer(bits: jax.Array, offset: int, words: int) -> jax.Array:
    """One layer's bits (n, m), pattern bits offset..offset+m-1, as their share of the
    :func:`pack_bits` words (n, words): zero-pad so that the layer starts and ends on word
    boundaries, then the same middle-axis shift-sum as :func:`pack_bits`. (Measured in the
    compiled step: ~3x cheaper at 256 bits than shifting and ORing column slices, although
    the slices win in a standalone program.)"""
    n, m = bits.shape
    left = offset % words
    right = -(left + m) % words
    if left or right:
        parts = [jnp.zeros((n, left), bool), bits, jnp.zeros((n, right), bool)]
        bits = jnp.concatenate([p for p in parts if p.shape[1]], axis=1)
    k = bits.shape[1] // words
    b = bits.reshape(n, k, words).astype(jnp.uint32)
    shifts = (offset // words + jnp.arange(k, dtype=jnp.uint32))[:, None]
    return jnp.sum(b << shifts, axis=1, dtype=jnp.uint32)


def _runs(params: tuple, activations: tuple[str, ...], words: int) -> list[tuple[int, int]]:
    """Split the hidden layers into runs [i, j) that one ``lax.scan`` can evaluate: equal
    square weight shapes, one activation, and (ReLU) bits that fill whole positions of the
    :func:`pack_bits` layout. Other layers form runs of one."""
    out, i, off, n = [], 0, 0, len(params) - 1
    while i < n:
        w, act = params[i][0], activations[i]
        j = i + 1
        square = w.shape[0] == w.shape[1] and (act != "relu" or w.shape[1] % words == 0)
        aligned = act != "relu" or off % words == 0
        while square and aligned and j < n and activations[j] == act:
            if params[j][0].shape != w.shape:
                break
            j += 1
        out.append((i, j))
        off += (j - i) * w.shape[1] if act == "relu" else 0
        i = j
    return out


ELEMENTWISE_MAX_INPUTS = 4


def _affine(h: jax.Array, w: jax.Array, b: jax.Array) -> jax.Array:
    """``h @ w + b``; with few inputs (the first layer on low-dimensional domains) as a sum of
    broadcast products, which XLA fuses with what follows instead of calling a matmul whose
    inner dimension is 1 or 2 (the sum runs in the same order, input by input)."""
    if h.shape[1] > ELEMENTWISE_MAX_INPUTS:
        return h @ w + b
    z = b + h[:, 0:1] * w[0]
    for j in range(1, h.shape[1]):
        z = z + h[:, j : j + 1] * w[j]
    return z


def forward_words(params: tuple, activations: tuple[str, ...], x: jax.Array, zeros: bool = False):
    """``pack_bits(forward_bits(params, activations, x))``: the walk of :mod:`tern_jax.forward`
    with each layer's bits packed as soon as it is computed. With ``zeros``, also whether
    each row has a ReLU pre-activation exactly 0 (a (n,) bool; -0.0 counts).

    Runs of equal layers go through a ``lax.scan`` whose body packs before the next layer:
    XLA:CPU otherwise packs every layer at the end, keeping all pre-activations alive (tens of
    MB per tile), which measured ~1.7x slower on the all-ReLU reference network.
    """
    units = sum(int(p[0].shape[1]) for p, a in zip(params[:-1], activations) if a == "relu")
    words = max(1, -(-units // 32))
    out = jnp.zeros((x.shape[0], words), jnp.uint32)
    zero = jnp.zeros(x.shape[0], bool)
    h, off = x, 0
    for i, j in _runs(params, activations, words):
        relu = activations[i] == "relu"
        if j - i == 1:
            ((w, b),) = params[i : i + 1]
            z = _affine(h, w, b)
            if relu:
                out = out | _pack_layer(z > 0, off, words)
                zero = (zero | jnp.any(z == 0, axis=1)) if zeros else zero
                off += z.shape[1]
            h = jnp.maximum(z, 0) if relu else z
            continue
        ws = jnp.stack([params[k][0] for k in range(i, j)])
        bs = jnp.stack([params[k][1] for k in range(i, j)])
        m = int(ws.shape[2])
        firsts = jnp.asarray([(off + (k - i) * m) // words for k in range(i, j)], jnp.uint32)

        def body(carry, layer, relu=relu, m=m):
            h, out, *zero = carry  # the zero flags are carried only when asked for
            w, b, first = layer
            z = h @ w + b
            if not relu:
                return (z, out, *zero), None
            bits = (z > 0).reshape(z.shape[0], m // words, words).astype(jnp.uint32)
            shifts = (first + jnp.arange(m // words, dtype=jnp.uint32))[:, None]
            out = out | jnp.sum(bits << shifts, axis=1, dtype=jnp.uint32)
            zero = [zero[0] | jnp.any(z == 0, axis=1)] if zeros else []
            return (jnp.maximum(z, 0), out, *zero), None

        (h, out, *rest), _ = lax.scan(body, (h, out, *([zero] if zeros else [])), (ws, bs, firsts))
        zero = rest[0] if zeros else zero
        off += (j - i) * m if relu else 0
    return (out, zero) if zeros else out


def _splitmix64(state: int) -> tuple[int, int]:
    """One step of splitmix64 (Steele, Lea, Flood 2014): (next state, output)."""
    m = (1 << 64) - 1
    state = (state + 0x9E3779B97F4A7C15) & m
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & m
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & m
    return state, z ^ (z >> 31)


@functools.cache
def hash_coefficients(words: int, lanes: int = 4) -> np.ndarray:
    """(words + 1, lanes) uint64: row 0 the offsets b_j, row 1 + i the multipliers a_ij.

    Drawn from the splitmix64 stream seeded with ``HASH_SEED``, lane-major per row, so a
    table for more words or lanes extends, and never changes, a smaller one's entries.
    """
    if words < 1 or not 1 <= lanes <= 4:
        raise InvalidInput(f"need words >= 1 and 1 <= lanes <= 4, got {words}, {lanes}")
    out = np.zeros((words + 1, 4), dtype=np.uint64)
    state = HASH_SEED
    for i in range(words + 1):
        for j in range(4):
            state, out[i, j] = _splitmix64(state)
    out.setflags(write=False)
    return out[:, :lanes]


WIDE_WORDS = 64  # beyond this many words a row is hashed by one product and sum per lane


def multiply_shift(words, lanes: int = 4, xp=jnp):
    """Vector multiply-shift hash of each row of uint32 words (n, W) -> (n, lanes) uint32.

    Lane j = ((b_j + sum_i a_ij x_i) mod 2^64) >> 32 (see the module docstring for its
    collision bound). Pure elementwise integer arithmetic, which XLA:CPU vectorises even
    inside the per-tile loop, unlike a byte-oriented hash's serial mixing chain; beyond
    ``WIDE_WORDS`` words, on CPU, one uint64 dot (~7x faster at 650 words; accelerators
    keep the elementwise form, their integer dots being less certain). ``xp=np`` computes
    the same on the host (numpy's uint64 arithmetic wraps modulo 2^64 too).
    """
    n, w = words.shape
    coef = hash_coefficients(max(1, w), lanes)
    with jax.enable_x64(True):
        x = words.astype(xp.uint64)
        if w > WIDE_WORDS and xp is jnp:
            a = jnp.asarray(coef[1:])

            def dot(x):  # one integer dot for all lanes (XLA:CPU's wraps modulo 2^64)
                return lax.dot_general(x, a, (((1,), (0,)), ((), ())),
                                       preferred_element_type=jnp.uint64)  # fmt: skip

            def products(x):  # elsewhere: elementwise products and a sum, as on the host
                return jnp.sum(x[:, :, None] * a, axis=1, dtype=jnp.uint64)

            acc = jnp.asarray(coef[0]) + lax.platform_dependent(x, cpu=dot, default=products)
            return (acc >> np.uint64(32)).astype(jnp.uint32)
        out = []
        for j in range(lanes):
            if w > WIDE_WORDS:  # one product and sum per lane, not a traced op per word
                acc = coef[0, j] + xp.sum(x * coef[1 : w + 1, j], axis=1, dtype=xp.uint64)
            else:
                acc = xp.full((n,), coef[0, j], xp.uint64)
                for i in range(w):
                    acc = acc + x[:, i] * coef[i + 1, j]
            out.append((acc >> np.uint64(32)).astype(xp.uint32))
        return xp.stack(out, axis=1)


def pattern_keys(spec: KeySpec, bits: jax.Array) -> jax.Array:
    """Keys (n, spec.words) uint32 for pattern bits (n, U)."""
    return words_to_keys(spec, pack_bits(bits))


def words_to_keys(spec: KeySpec, words, xp=jnp):
    """Keys (n, spec.words) uint32 for packed pattern words (see :func:`pack_bits`)."""
    return multiply_shift(words, xp=xp) if spec.hashed else words
