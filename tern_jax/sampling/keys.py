"""Activation patterns to fixed-width keys, on device.

A pattern of U ReLU bits (unit active iff pre-activation > 0) is packed into ceil(U / 32)
uint32 words (bit i to word i mod W, position i // W: see :func:`pack_bits`). When
U <= 128 those words *are* the key (exact, no hashing). Otherwise the words go through
MurmurHash3_x86_128 (the 128-bit variant with cross-lane mixing, applied to the
zero-padded words; the pattern length is fixed per network, so the padding is injective)
and the key is the 4-word digest. Two distinct patterns then share a key with probability
about 2^-128; for S distinct patterns the chance of any collision is about S^2 / 2^129
(math.md section 5), which the result record reports.

x64 is disabled in JAX, so every key is a tuple of uint32 words.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

EXACT_MAX_BITS = 128
HASH_NAME = "murmur3_x86_128"


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


def device_params(net) -> tuple:
    """The network's parameters as float32 device arrays (ternary codes are exact in f32)."""
    return tuple(
        (jnp.asarray(w, jnp.float32), jnp.asarray(b, jnp.float32))
        for w, b in zip(net.weights, net.biases)
    )


def forward_bits(params: tuple, activations: tuple[str, ...], x: jax.Array) -> jax.Array:
    """ReLU bits (n, U) bool for inputs x (n, d); U may be 0."""
    h = x
    bits = []
    for (w, b), act in zip(params[:-1], activations[:-1]):
        z = h @ w + b
        if act == "relu":
            bits.append(z > 0)
            h = jnp.maximum(z, 0)
        else:
            h = z
    if not bits:
        return jnp.zeros((x.shape[0], 0), dtype=bool)
    return jnp.concatenate(bits, axis=1)


def forward_outputs(params: tuple, activations: tuple[str, ...], x: jax.Array) -> jax.Array:
    """Network outputs (n, out) computed exactly as :func:`forward_bits` walks the layers."""
    h = x
    for (w, b), act in zip(params, activations):
        z = h @ w + b
        h = jnp.maximum(z, 0) if act == "relu" else z
    return h


def pack_bits(bits: jax.Array) -> jax.Array:
    """Pack (n, U) bools into (n, W) uint32 words, W = max(1, ceil(U/32)).

    Pattern bit i goes to word i mod W, bit position i // W (zero-padded to 32 W bits). This
    interleaved layout is as injective as the plain one but lets XLA reduce over a middle
    axis with the words contiguous, which is ~1.7x faster on CPU.
    """
    n, u = bits.shape
    words = max(1, -(-u // 32))
    pad = words * 32 - u
    if pad:
        bits = jnp.concatenate([bits, jnp.zeros((n, pad), dtype=bool)], axis=1)
    b = bits.reshape(n, 32, words).astype(jnp.uint32)
    shifts = jnp.arange(32, dtype=jnp.uint32)[:, None]
    # Bits are disjoint, so the sum is an OR.
    return jnp.sum(b << shifts, axis=1, dtype=jnp.uint32)


def _pack_layer(bits: jax.Array, offset: int, words: int) -> jax.Array:
    """One layer's bits (n, m), pattern bits offset..offset+m-1, as their share of the
    :func:`pack_bits` words (n, words): zero-pad so that the layer starts and ends on word
    boundaries, then the same middle-axis shift-sum as :func:`pack_bits`."""
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


def forward_words(params: tuple, activations: tuple[str, ...], x: jax.Array) -> jax.Array:
    """``pack_bits(forward_bits(params, activations, x))``, packed layer by layer.

    Packing each layer's bits right after its matmul never materialises the (n, U) bit
    matrix; the words are bitwise identical (measured ~5-8% of the forward pass cheaper).
    """
    units = sum(w.shape[1] for (w, _), a in zip(params[:-1], activations[:-1]) if a == "relu")
    words = max(1, -(-units // 32))
    h = x
    out = jnp.zeros((x.shape[0], words), jnp.uint32)
    offset = 0
    for (w, b), act in zip(params[:-1], activations[:-1]):
        z = h @ w + b
        if act == "relu":
            # Layers' bits occupy disjoint positions, so OR combines them.
            out = out | _pack_layer(z > 0, offset, words)
            offset += z.shape[1]
            h = jnp.maximum(z, 0)
        else:
            h = z
    return out


def _rotl(x: jax.Array, r: int) -> jax.Array:
    return (x << np.uint32(r)) | (x >> np.uint32(32 - r))


def fmix32(h: jax.Array) -> jax.Array:
    """MurmurHash3's 32-bit finaliser: a bijection on uint32 with full avalanche."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def murmur3_x86_128(words: jax.Array, seed: int = 0) -> jax.Array:
    """MurmurHash3_x86_128 of each row of uint32 words (n, W), zero-padded to 4-word blocks.

    Returns (n, 4) uint32: (h1, h2, h3, h4). Equals the reference C function applied to the
    little-endian bytes of the padded row.
    """
    n, w = words.shape
    nblocks = -(-w // 4)
    pad = nblocks * 4 - w
    if pad:
        words = jnp.concatenate([words, jnp.zeros((n, pad), jnp.uint32)], axis=1)
    c1, c2 = np.uint32(0x239B961B), np.uint32(0xAB0E9789)
    c3, c4 = np.uint32(0x38B34AE5), np.uint32(0xA1E38B93)
    five = np.uint32(5)
    s = jnp.full((n,), np.uint32(seed), jnp.uint32)
    h1, h2, h3, h4 = s, s, s, s
    for i in range(nblocks):
        k1, k2, k3, k4 = (words[:, 4 * i + j] for j in range(4))
        k1 = _rotl(k1 * c1, 15) * c2
        h1 = h1 ^ k1
        h1 = (_rotl(h1, 19) + h2) * five + np.uint32(0x561CCD1B)
        k2 = _rotl(k2 * c2, 16) * c3
        h2 = h2 ^ k2
        h2 = (_rotl(h2, 17) + h3) * five + np.uint32(0x0BCAA747)
        k3 = _rotl(k3 * c3, 17) * c4
        h3 = h3 ^ k3
        h3 = (_rotl(h3, 15) + h4) * five + np.uint32(0x96CD1C35)
        k4 = _rotl(k4 * c4, 18) * c1
        h4 = h4 ^ k4
        h4 = (_rotl(h4, 13) + h1) * five + np.uint32(0x32AC3B17)
    length = np.uint32((nblocks * 16) & 0xFFFFFFFF)
    h1, h2, h3, h4 = h1 ^ length, h2 ^ length, h3 ^ length, h4 ^ length
    h1 = h1 + h2 + h3 + h4
    h2, h3, h4 = h2 + h1, h3 + h1, h4 + h1
    h1, h2, h3, h4 = fmix32(h1), fmix32(h2), fmix32(h3), fmix32(h4)
    h1 = h1 + h2 + h3 + h4
    h2, h3, h4 = h2 + h1, h3 + h1, h4 + h1
    return jnp.stack([h1, h2, h3, h4], axis=1)


def pattern_keys(spec: KeySpec, bits: jax.Array) -> jax.Array:
    """Keys (n, spec.words) uint32 for pattern bits (n, U)."""
    return words_to_keys(spec, pack_bits(bits))


def words_to_keys(spec: KeySpec, words: jax.Array) -> jax.Array:
    """Keys (n, spec.words) uint32 for packed pattern words (see :func:`pack_bits`)."""
    return murmur3_x86_128(words) if spec.hashed else words
