"""Monte-Carlo inclusion probabilities, for dimensions where exact volumes cost too much.

The Horvitz-Thompson total needs 1 / pi_R for every included region, pi_R = 1 - (1 - a_R)^m
with a_R the mass of the region's catchment B(R). Without volumes, 1 / pi_R has an unbiased
estimate: draw fresh uniform points in blocks of m; the number K'_R of blocks up to and
including the first one with a point in B(R) is Geometric(pi_R), so E[K'_R] = 1 / pi_R, and
for two independent such counts E[K'_R K''_R] = 1 / pi_R^2. Membership in B(R) is pattern
equality, so a draw costs one forward pass.

All regions share a stream of draws (K_R = index of the first draw in B(R), K'_R =
ceil(K_R / m)): the stream runs until every catchment is hit, so it costs about
max_R 1 / a_R draws rather than their sum. Each K'_R keeps its Geometric law, so the total
stays unbiased; but one draw resolves every catchment that holds its region, so the terms
of one stream are correlated. :func:`monte_carlo_total` therefore runs ``REPLICATES``
independent streams, averages their totals and takes the Monte-Carlo variance from their
spread. The streams also count how often each catchment region is hit, which gives plug-in
masses for the design variance's covariance terms.
"""

from __future__ import annotations

import dataclasses
import time

import jax
import jax.numpy as jnp
import numpy as np
from scipy import sparse

from ..network import ReLUNet
from ..sampling.keys import forward_words
from ..sampling.samplers import open_uniform
from .horvitz import catchment_overlaps, hansen_hurwitz, pair_terms
from .local import LocalDomain, stream_key

STREAM_CHUNK = 65536  # draws per chunk of the stream
REPLICATES = 8  # independent shared streams: their spread is the Monte-Carlo variance
# Fixed odd multipliers of the 64-bit prefilter hash of pattern words (exact comparison
# follows, so they only need to spread keys).
_HASH = np.random.default_rng(0x5EED_C0DE).integers(1, 2**63, size=256, dtype=np.uint64) | 1


@dataclasses.dataclass(frozen=True)
class Stream:
    """What the shared stream found: per catchment the index (1-based) of its first hit (0 if
    none within the budget), per catchment key its number of hits, and the draws used."""

    first_hit: np.ndarray
    key_hits: dict
    draws: int
    seconds: float


def _hash(rows: np.ndarray) -> np.ndarray:
    return (rows.astype(np.uint64) * _HASH[: rows.shape[1]]).sum(axis=1, dtype=np.uint64)


def key_words(keys: list[bytes], units: int) -> np.ndarray:
    """Packed-bit keys (:func:`.local.pattern_keys`) as the uint32 pattern words of
    :func:`tern_jax.sampling.keys.pack_bits` (bit i in word i mod W at position i // W)."""
    words = max(1, -(-units // 32))
    bits = np.unpackbits(np.frombuffer(b"".join(keys), np.uint8).reshape(len(keys), -1), axis=1)
    bits = np.pad(bits[:, :units], ((0, 0), (0, 32 * words - units))).astype(np.uint64)
    shifts = np.arange(32, dtype=np.uint64)[:, None]
    return (bits.reshape(len(keys), 32, words) << shifts).sum(axis=1).astype(np.uint32)


_COMPILED: dict = {}  # (network, domain, chunk size) -> compiled chunk, the last few


def _compile_stream(net: ReLUNet, local: LocalDomain, size: int):
    """A compiled chunk of the stream: ``(key, index) -> pattern words (size, W)``, uniform
    draws as :func:`.local.uniform_block` and the network in float64 (as on the host)."""
    ident = (net.fingerprint, repr(local.description), size)
    if ident not in _COMPILED:
        if len(_COMPILED) >= 4:
            _COMPILED.pop(next(iter(_COMPILED)))
        _COMPILED[ident] = _build_stream(net, local, size)
    return _COMPILED[ident]


def _build_stream(net: ReLUNet, local: LocalDomain, size: int):
    consts = [(np.asarray(w), np.asarray(b)) for w, b in zip(net.weights, net.biases)]
    acts = net.activations
    lo32, span32 = np.float32(local.lo), np.float32(local.span)

    def chunk(key, index):
        u = open_uniform(jax.random.fold_in(key, index), (size, local.dim))
        y = jnp.asarray(lo32) + jnp.asarray(span32) * u
        with jax.enable_x64(True):
            p64 = tuple((jnp.asarray(w), jnp.asarray(b)) for w, b in consts)
            x = jnp.asarray(local.origin) + y.astype(jnp.float64) @ jnp.asarray(local.basis)
            return forward_words(p64, acts, x)

    jitted = jax.jit(chunk)
    return lambda key, index: np.asarray(jitted(key, np.uint32(index)))


def first_hits(
    net: ReLUNet,
    local: LocalDomain,
    catchments: list[list[bytes]],
    seed: int,
    max_draws: int,
    stream: int = 1,
) -> Stream:
    """Run shared stream number ``stream`` until every catchment has a hit or ``max_draws``
    are used."""
    t0 = time.perf_counter()
    keys = list(dict.fromkeys(k for c in catchments for k in c))
    index = {k: i for i, k in enumerate(keys)}
    key_rows = key_words(keys, net.num_relu_units)
    hashes = _hash(key_rows)
    order = np.argsort(hashes)
    sorted_hash = hashes[order]
    rows = np.repeat(np.arange(len(catchments)), [len(c) for c in catchments])
    member = sparse.csr_matrix(
        (np.ones(len(rows)), (rows, [index[k] for c in catchments for k in c])),
        (len(catchments), len(keys)),
    )
    first_key = np.zeros(len(keys), np.int64)  # 1-based index of a key's first hit
    hits = np.zeros(len(keys), np.int64)
    key = stream_key(seed, stream)
    run = _compile_stream(net, local, STREAM_CHUNK)
    draws = 0
    while draws < max_draws and len(keys):
        size = min(STREAM_CHUNK, max_draws - draws)
        words = run(key, draws // STREAM_CHUNK)[:size]
        h = _hash(words)
        pos = np.minimum(np.searchsorted(sorted_hash, h), len(keys) - 1)
        cand = np.nonzero(sorted_hash[pos] == h)[0]
        kidx = order[pos[cand]]
        same = np.all(key_rows[kidx] == words[cand], axis=1)
        cand, kidx = cand[same], kidx[same]
        np.add.at(hits, kidx, 1)
        uk, first = np.unique(kidx, return_index=True)
        fresh = first_key[uk] == 0
        first_key[uk[fresh]] = draws + cand[first[fresh]] + 1
        draws += size
        if np.all(member @ (first_key > 0) > 0):
            break
    # A catchment's first hit is the earliest first hit among its keys.
    big = np.where(first_key > 0, first_key, np.iinfo(np.int64).max)
    first_hit = np.array(
        [big[[index[k] for k in c]].min() if c else 0 for c in catchments], np.int64
    )
    first_hit[first_hit == np.iinfo(np.int64).max] = 0
    return Stream(
        first_hit, {k: int(hits[i]) for k, i in index.items()}, draws, time.perf_counter() - t0
    )


def monte_carlo_total(net, local, keys, catch, m: int, method: str, seed: int, max_draws: int):
    """(estimate, variance, costs, warnings) of a Horvitz-Thompson total over the catchments
    ``catch`` (or, for "hansen-hurwitz", the mean over the draws ``keys`` of the single-draw
    first-hit index, an unbiased 1 / p), from ``REPLICATES`` independent shared streams.

    Estimate: the mean over the streams of sum_R K'_R. Variance: design + Monte-Carlo.
    Monte-Carlo: the spread of the streams' totals / REPLICATES (this holds the covariances
    that sharing a stream creates: one draw in a region resolves every catchment holding
    it). Design, diagonal: sum_R of K'_R K''_R - (K'_R + K''_R)/2 over two independent
    streams, unbiased for (1 - pi_R) / pi_R^2 (E[K' K''] = 1 / pi^2); design, overlapping
    catchments: the pair terms with plug-in masses (hit frequencies over all streams).
    """
    streams = [first_hits(net, local, catch, seed, max_draws, j + 1) for j in range(REPLICATES)]
    draws = sum(st.draws for st in streams)
    costs = {"monte_carlo_draws": draws, "seconds_monte_carlo": sum(s.seconds for s in streams)}
    warnings = []
    unresolved = int(sum((st.first_hit == 0).sum() for st in streams))
    if unresolved:
        warnings.append(
            f"{unresolved} first hit(s) of included regions were not found within "
            f"{max_draws:,} further draws per stream: their terms are lower bounds and the "
            "estimate is biased low (raise max_draws)"
        )
    # K_R per stream: the index of the first draw in B(R) (censored at the stream's end).
    fh = np.stack([np.where(st.first_hit > 0, st.first_hit, st.draws + 1) for st in streams])
    fh = fh.astype(np.float64)
    if method == "hansen-hurwitz":
        where = {c[0]: i for i, c in enumerate(catch)}
        return (*hansen_hurwitz(fh.mean(axis=0)[[where[k] for k in keys]]), costs, warnings)
    k = np.ceil(fh / m)  # blocks of m draws up to the first hit: Geometric(pi_R)
    totals = k.sum(axis=1)
    var = float(np.var(totals, ddof=1) / REPLICATES)  # Monte-Carlo, of the mean
    var += float(np.sum(k[0] * k[1] - (k[0] + k[1]) / 2))  # design, diagonal
    if any(len(c) > 1 for c in catch):
        hits = {key: sum(st.key_hits[key] for st in streams) for key in streams[0].key_hits}
        a, pairs = catchment_overlaps(catch, {key: h / max(draws, 1) for key, h in hits.items()})
        var += pair_terms(a, m, pairs)  # design, overlapping catchments
    return float(totals.mean()), max(var, 0.0), costs, warnings
