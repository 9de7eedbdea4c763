"""count_regions: the streaming sampled count, from validation to the result record.

A run is planned once (:func:`_plan`: arguments, the domain's sampler, the arithmetic of
:mod:`.lattice`, devices and the block layout), streamed (:func:`_stream`: device steps,
each merged into the host table while the next runs), then summarised
(:func:`.summary.build_record`, each distinct pattern checked and its affine map found by
:mod:`.affine`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from typing import Any

import jax
import numpy as np
from tqdm.auto import tqdm

from ..checks import check_int, check_positive
from ..domains import Domain
from ..errors import InvalidInput, WrongType
from ..network import ReLUNet
from . import device as dev
from . import lattice
from .affine import check_patterns
from .checks import float32_check
from .distributed import Peers, allgather_tables, process_share
from .group import dedupe_method
from .keys import KeySpec, key_spec
from .record import RegionCount
from .resume import load_state, save_state, state_path
from .samplers import Sampling, resolve
from .summary import build_record
from .table import PatternTable

# Changes whenever the samples of a (seed, domain) change: saved states of other samplers
# must not be resumed.
SAMPLER = "lattice/1"

DEFAULT_CHUNK = 16 * 4096  # rows per device per step
DEFAULT_MEMORY_BUDGET_MB = 4096.0
BYTES_PER_ROW = 64  # table row (<= 16 B key, 8 B count, 8 B sample) plus a pending buffer
PRECISIONS = ("auto", "float32", "float64")


def _check_net(net: Any) -> ReLUNet:
    if not isinstance(net, ReLUNet):
        raise WrongType(f"net must be a tern_jax.ReLUNet, got {type(net).__name__}")
    for i, (w, b) in enumerate(zip(net.weights, net.biases)):
        if not (np.all(np.isfinite(np.asarray(w))) and np.all(np.isfinite(np.asarray(b)))):
            raise InvalidInput(f"network layer {i} contains NaN or infinite parameters")
    return net


@dataclasses.dataclass
class _Plan:
    """Everything a run fixes before its first step (validated arguments and layout)."""

    net: ReLUNet
    sampling: Sampling
    arith: lattice.Arithmetic
    n: int
    seed: int
    spec: KeySpec
    mesh: Any
    dedupe: str
    blocks: tuple[int, int]  # this process's block range [lo, hi)
    blocks_per_device: int
    processes: tuple[int, int]  # (index, count)
    max_table_rows: int

    @property
    def n_devices(self) -> int:
        return int(self.mesh.devices.size)

    @property
    def per_step(self) -> int:
        return self.blocks_per_device * self.n_devices

    @property
    def precision(self) -> str:
        return self.arith.precision

    def identity(self) -> dict:
        """What a saved state must match to be resumed by this run."""
        return {
            "fingerprint": self.net.fingerprint,
            "domain": self.sampling.description,
            "seed": self.seed,
            "n_samples": self.n,
            "key_kind": self.spec.kind,
            "precision": self.precision,
            "sampler": SAMPLER,
            "lattice_bits": self.arith.lattice_bits,
            "compute_network": dev.params_digest(self.arith),
            "max_table_rows": self.max_table_rows,
            "blocks": list(self.blocks),
            "processes": self.processes[1],
        }

    def rows_in(self, b0: int, b1: int) -> int:
        return max(0, min(self.n, b1 * dev.BLOCK) - b0 * dev.BLOCK)


def _table_rows(max_table_rows: int | None, memory_budget_mb: float) -> int:
    if max_table_rows is not None:
        return check_int(max_table_rows, "max_table_rows", 1)
    budget = check_positive(memory_budget_mb, "memory_budget_mb")
    return max(1, int(budget * 2**20 / BYTES_PER_ROW))


def _layout(chunk_size, blocks: tuple[int, int], n_devices: int) -> int:
    """Blocks per device per step: a multiple of the compute tile, no more than needed."""
    chunk = DEFAULT_CHUNK if chunk_size is None else check_int(chunk_size, "chunk_size", 1)
    if chunk % dev.BLOCK:
        raise InvalidInput(f"chunk_size must be a multiple of {dev.BLOCK}, got {chunk}")
    tb = dev.TILE_BLOCKS
    need = -(-(blocks[1] - blocks[0]) // n_devices)
    return max(tb, -(-min(chunk // dev.BLOCK, need) // tb) * tb)


def _check_range(arith: lattice.Arithmetic, domain_desc: dict) -> None:
    """The compute network must be finite in its float type (else: a meaningless count)."""
    top = float(np.finfo(np.float32 if arith.precision == "float32" else np.float64).max)
    big = max((float(np.max(np.abs(a), initial=0)) for layer in arith.layers for a in layer),
              default=0.0)  # fmt: skip
    if not big < top / 2**16:
        raise InvalidInput(
            f"domain {domain_desc.get('type')}: folded into the first layer, the domain's scale "
            f"gives parameters of magnitude {big:.3g}, beyond what {arith.precision} holds "
            f"(max {top:.3g}): the count would be meaningless; shrink or rescale the domain"
            + (" or use precision='float64'" if arith.precision == "float32" else "")
        )


def _plan(net, domain, n_samples, seed, chunk_size, devices, multihost, precision, dedupe,
          max_table_rows, memory_budget_mb) -> _Plan:  # fmt: skip
    net = _check_net(net)
    if not isinstance(domain, Domain):
        raise WrongType(
            f"domain must be a tern_jax domain (Box, Gaussian, Plane, Segment, Points), got "
            f"{type(domain).__name__}"
        )
    n = check_int(n_samples, "n_samples", 1)
    seed = check_int(seed, "seed", 0)
    if seed >= 2**64:
        raise InvalidInput(f"seed must be < 2^64, got {seed}")
    if precision not in PRECISIONS:
        raise InvalidInput(f"precision must be one of {PRECISIONS}, got {precision!r}")
    rows = _table_rows(max_table_rows, memory_budget_mb)
    sampling = resolve(domain, net.input_dim)
    arith = lattice.plan(net, sampling, precision)
    _check_range(arith, sampling.description)
    multi = jax.process_count() > 1 if multihost is None else bool(multihost)
    p_index, p_count = (jax.process_index(), jax.process_count()) if multi else (0, 1)
    mesh = dev.local_mesh(devices)
    total_blocks = -(-n // dev.BLOCK)
    if total_blocks >= 2**31 - 2**16:
        raise InvalidInput(f"n_samples={n} is too large (at most {(2**31 - 2**16) * dev.BLOCK})")
    share = process_share(total_blocks, p_index, p_count)
    return _Plan(
        net=net,
        sampling=sampling,
        arith=arith,
        n=n,
        seed=seed,
        spec=key_spec(net.num_relu_units),
        mesh=mesh,
        dedupe=dedupe_method(dedupe, mesh.devices.flat[0].platform),
        blocks=share,
        blocks_per_device=_layout(chunk_size, share, int(mesh.devices.size)),
        processes=(p_index, p_count),
        max_table_rows=rows,
    )


def _stream(plan: _Plan, table: PatternTable, start: int, path: str | None,
            checkpoint_every: int, progress: bool, stop_after: int | None,
            peers: Peers | None) -> int:  # fmt: skip
    """Run the steps from block ``start`` to the end of this process's share, merging each
    step's output while the next one runs on device; returns the samples processed."""
    with dev.x64_scope(plan.precision):
        return _stream_steps(plan, table, start, path, checkpoint_every, progress, stop_after,
                             peers)  # fmt: skip


def _representatives(first_block: int, blocks_per_device: int, rows: np.ndarray):
    """Global sample index of each kept output row (see :func:`device.build_step`)."""
    per_device = blocks_per_device * dev.BLOCK

    def reps(keep: np.ndarray) -> np.ndarray:
        d = keep // per_device
        return (first_block + d * blocks_per_device) * dev.BLOCK + rows.take(keep)

    return reps


def _stream_steps(plan, table, start, path, checkpoint_every, progress, stop_after,
                  peers) -> int:  # fmt: skip
    lo, hi = plan.blocks
    step = None
    if start < hi:
        step = dev.build_step(plan.net, plan.sampling, plan.arith, plan.spec,
                              plan.blocks_per_device, plan.mesh, plan.dedupe)  # fmt: skip
    params = dev.device_params(plan.arith)
    data = dev.replicated(plan.sampling.device_data(dev.DTYPES[plan.arith.precision]), plan.mesh)
    base_key = dev.seed_key(plan.seed)
    bar = tqdm(total=plan.rows_in(lo, hi), initial=plan.rows_in(lo, start), unit="samples",
               unit_scale=True, disable=not progress, leave=False)  # fmt: skip
    processed = steps_done = merged = 0
    in_flight = None  # (outputs, first block, last block) of the step not yet merged
    b = merged_upto = start
    merging = False
    try:
        while b < hi or in_flight is not None:
            nxt = None
            if b < hi and (stop_after is None or steps_done < stop_after):
                bounds = dev.step_bounds(plan.n, hi, b)
                nxt = (step(params, base_key, bounds, data), b, min(b + plan.per_step, hi))
                b = nxt[2]
                steps_done += 1
            if in_flight is not None:
                (keys, counts, rows), b0, b1 = in_flight
                merging = True
                reps = _representatives(b0, plan.blocks_per_device, np.asarray(rows))
                table.add_words(np.asarray(keys), np.asarray(counts), reps)
                merging, merged_upto = False, b1
                if peers is not None:
                    peers.at(b1)
                processed += plan.rows_in(b0, b1)
                bar.update(plan.rows_in(b0, b1))
                merged += 1
                if path and (b1 == hi or merged % checkpoint_every == 0):
                    save_state(path, plan.identity(), b1, table.state())
            in_flight = nxt
            if nxt is None and b < hi:
                raise _Stopped(b)
    except KeyboardInterrupt:
        # Keep what was merged (a table caught mid-merge is not saved: the last periodic
        # state stays, and the rerun repeats a few steps).
        if path and not merging and merged_upto > start:
            save_state(path, plan.identity(), merged_upto, table.state())
        raise
    finally:
        bar.close()
    return processed


def count_regions(
    net: ReLUNet,
    domain: Domain,
    n_samples: int,
    seed: int = 0,
    *,
    chunk_size: int | None = None,
    devices=None,
    progress: bool = False,
    state_dir: str | None = None,
    checkpoint_every: int = 16,
    max_table_rows: int | None = None,
    memory_budget_mb: float = DEFAULT_MEMORY_BUDGET_MB,
    multihost: bool | None = None,
    precision: str = "auto",
    dedupe: str = "auto",
    _stop_after_steps: int | None = None,
) -> RegionCount:
    """Count distinct activation patterns of ``net`` among ``n_samples`` inputs from ``domain``.

    Sample i depends only on (seed, i), so the record (timings and execution details aside,
    see :meth:`RegionCount.figures`) does not depend on ``chunk_size`` (rows per device per
    step, a multiple of 4096), the number of ``devices`` (default: all local devices, used
    data-parallel) or the number of processes.

    ``state_dir``: save the position and the partial table there every ``checkpoint_every``
    steps and resume from it when it exists. ``max_table_rows`` (default: from
    ``memory_budget_mb``) bounds the pattern table; beyond it the count switches to a
    hash-sampled sketch and says so in ``record.sketch``. ``multihost`` (default: when
    ``jax.process_count() > 1``) splits the blocks between processes and all-gathers tables.

    ``precision``: "auto" (default), "float32" or "float64" (x64 enabled only around the
    compiled step). Box, Plane and Segment domains are sampled at the centres of a grid of
    2^m cells per coordinate and the domain's offset and scale are folded exactly into the
    first layer (:mod:`tern_jax.sampling.lattice`). "auto" takes float32 when that makes the
    forward pass provably exact (integer or dyadic networks whose pre-activations stay below
    2^24 grid units; then m is the finest grid with this property, at least 14 bits) and
    float64 otherwise (m = 23; exact too when the bound stays below 2^53). Forcing float64
    keeps the same grid, hence the same record. Forced float32 that is not proven exact
    carries a warning with a measured check against float64. ``record.arithmetic`` says
    what ran and why.

    ``dedupe``: how each device groups equal patterns before they cross to the host:
    "slots" (a scratch hash table, linear work), "sort", or "auto" (default: slots on CPU,
    sort on GPU/TPU). The counts are exact and the record identical either way; only the
    speed differs.
    """
    plan = _plan(net, domain, n_samples, seed, chunk_size, devices, multihost, precision,
                 dedupe, max_table_rows, memory_budget_mb)  # fmt: skip
    checkpoint_every = check_int(checkpoint_every, "checkpoint_every", 1)
    t0 = time.perf_counter()
    check = None
    if plan.precision == "float32" and not plan.arith.exact:
        check = float32_check(plan.net, plan.sampling, plan.arith)
    table = PatternTable(plan.spec.words > 2, plan.max_table_rows, reps=True)
    path = state_path(state_dir, *plan.processes) if state_dir else None
    start, resumed_from = plan.blocks[0], None
    if path:
        loaded = load_state(path, plan.identity())
        if loaded is not None:
            start, saved = loaded
            resumed_from = start
            table.merge_state(saved)
    multi = plan.processes[1] > 1
    peers = Peers(plan.identity(), *plan.processes, plan.blocks) if multi else None
    with peers or contextlib.nullcontext():
        processed = _stream(plan, table, start, path, checkpoint_every, progress,
                            _stop_after_steps, peers)  # fmt: skip
        if multi:
            peers.wait(show=progress, saved=path)
            merged = PatternTable(plan.spec.words > 2, plan.max_table_rows, reps=True)
            table, processed = allgather_tables(table.state(), merged, processed)
    state = table.state()
    t1 = time.perf_counter()
    patterns = check_patterns(plan.net, plan.sampling, plan.arith, plan.spec, state, plan.seed)
    run = {
        "devices": plan.n_devices,
        "processes": plan.processes[1],
        "platform": plan.mesh.devices.flat[0].platform,
        "chunk_size": plan.blocks_per_device * dev.BLOCK,
        "dedupe": plan.dedupe,
        "resumed_from_block": resumed_from,
        "samples_this_run": processed,  # all processes together
        "affine_recomputed_tiles": patterns.recomputed_tiles,
        "pattern_seconds": time.perf_counter() - t1,  # checks and maps, once per pattern
    }
    return build_record(plan, state, patterns, check, run, time.perf_counter() - t0)


class _Stopped(RuntimeError):
    """Raised by the test hook ``_stop_after_steps`` to simulate an interrupted run."""

    def __init__(self, block: int):
        super().__init__(f"stopped before block {block}")
        self.block = block
