"""count_regions: the streaming sampled count, from validation to the result record."""

from __future__ import annotations

import dataclasses
import numbers
import time
from typing import Any

import jax
import numpy as np
from tqdm.auto import tqdm

from .. import estimators
from ..domains import Domain
from ..errors import InvalidInput, WrongType
from ..network import ReLUNet
from ..records import package_version
from . import device as dev
from .distributed import allgather_tables, process_share
from .keys import KeySpec, device_params, key_spec
from .record import RegionCount
from .resume import load_state, save_state, state_path
from .samplers import Sampling, resolve
from .table import PatternTable

DEFAULT_CHUNK = 16 * 4096  # rows per device per step
DEFAULT_MEMORY_BUDGET_MB = 4096.0
BYTES_PER_ROW = 48  # table row (<= 16 B key + 8 B count) plus pending buffer of equal size
PRECISIONS = ("auto", "float32", "float64")


def _check_net(net: Any) -> ReLUNet:
    if not isinstance(net, ReLUNet):
        raise WrongType(f"net must be a tern_jax.ReLUNet, got {type(net).__name__}")
    for i, (w, b) in enumerate(zip(net.weights, net.biases)):
        if not (np.all(np.isfinite(np.asarray(w))) and np.all(np.isfinite(np.asarray(b)))):
            raise InvalidInput(f"network layer {i} contains NaN or infinite parameters")
    return net


def _check_int(value: Any, what: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidInput(f"{what} must be an integer, got {value!r}")
    if int(value) < minimum:
        raise InvalidInput(f"{what} must be >= {minimum}, got {value}")
    return int(value)


@dataclasses.dataclass
class _Plan:
    """Everything a run fixes before its first step (validated arguments and layout)."""

    net: ReLUNet
    sampling: Sampling
    n: int
    seed: int
    precision: str
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

    def identity(self) -> dict:
        """What a saved state must match to be resumed by this run."""
        return {
            "fingerprint": self.net.fingerprint,
            "domain": self.sampling.description,
            "seed": self.seed,
            "n_samples": self.n,
            "key_kind": self.spec.kind,
            "precision": self.precision,
            "max_table_rows": self.max_table_rows,
            "blocks": list(self.blocks),
            "processes": self.processes[1],
        }

    def rows_in(self, b0: int, b1: int) -> int:
        return max(0, min(self.n, b1 * dev.BLOCK) - b0 * dev.BLOCK)


def _table_rows(max_table_rows: int | None, memory_budget_mb: float) -> int:
    if max_table_rows is not None:
        return _check_int(max_table_rows, "max_table_rows", 1)
    if not (isinstance(memory_budget_mb, (int, float)) and memory_budget_mb > 0):
        raise InvalidInput(f"memory_budget_mb must be > 0, got {memory_budget_mb!r}")
    return max(1, int(memory_budget_mb * 2**20 / BYTES_PER_ROW))


def _plan(net, domain, n_samples, seed, chunk_size, devices, multihost, precision, dedupe,
          max_table_rows, memory_budget_mb) -> _Plan:  # fmt: skip
    net = _check_net(net)
    if not isinstance(domain, Domain):
        raise WrongType(
            f"domain must be a tern_jax domain (Box, Gaussian, Plane, Segment, Points), got "
            f"{type(domain).__name__}"
        )
    n = _check_int(n_samples, "n_samples", 1)
    seed = _check_int(seed, "seed", 0)
    if seed >= 2**64:
        raise InvalidInput(f"seed must be < 2^64, got {seed}")
    chunk = DEFAULT_CHUNK if chunk_size is None else _check_int(chunk_size, "chunk_size", 1)
    if chunk % dev.BLOCK:
        raise InvalidInput(f"chunk_size must be a multiple of {dev.BLOCK}, got {chunk}")
    if precision not in PRECISIONS:
        raise InvalidInput(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision == "auto":
        precision = "float64" if net.is_integer() else "float32"
    rows = _table_rows(max_table_rows, memory_budget_mb)
    sampling = resolve(domain, net.input_dim)
    multi = jax.process_count() > 1 if multihost is None else bool(multihost)
    p_index, p_count = (jax.process_index(), jax.process_count()) if multi else (0, 1)
    mesh = dev.local_mesh(devices)
    total_blocks = -(-n // dev.BLOCK)
    if total_blocks >= 2**31:
        raise InvalidInput(f"n_samples={n} is too large (at most {(2**31 - 1) * dev.BLOCK})")
    lo, hi = process_share(total_blocks, p_index, p_count)
    bpd = max(1, min(chunk // dev.BLOCK, -(-(hi - lo) // int(mesh.devices.size))))
    return _Plan(
        net=net,
        sampling=sampling,
        n=n,
        seed=seed,
        precision=precision,
        spec=key_spec(net.num_relu_units),
        mesh=mesh,
        dedupe=dev.dedupe_method(dedupe, mesh.devices.flat[0].platform),
        blocks=(lo, hi),
        blocks_per_device=bpd,
        processes=(p_index, p_count),
        max_table_rows=rows,
    )


def _stream(plan: _Plan, table: PatternTable, start: int, path: str | None,
            checkpoint_every: int, progress: bool, stop_after: int | None) -> int:  # fmt: skip
    """Run the steps from block ``start`` to the end of this process's share, merging each
    step's output while the next one runs on device; returns the samples processed."""
    lo, hi = plan.blocks
    step = None
    if start < hi:
        fp = plan.net.fingerprint if plan.precision == "float64" else ""
        step = dev.build_step(plan.net, plan.sampling, plan.spec, plan.blocks_per_device,
                              plan.mesh, plan.precision, fp, plan.dedupe)  # fmt: skip
    params = device_params(plan.net)
    base_key = dev.seed_key(plan.seed)
    bounds = np.array([plan.n // dev.BLOCK, plan.n % dev.BLOCK, hi], dtype=np.int32)
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
                firsts = dev.first_blocks_array(plan.mesh, b, plan.blocks_per_device)
                nxt = (step(params, base_key, firsts, bounds), b, min(b + plan.per_step, hi))
                b = nxt[2]
                steps_done += 1
            if in_flight is not None:
                (keys, counts), b0, b1 = in_flight
                merging = True
                table.add_words(np.asarray(keys), np.asarray(counts))
                merging, merged_upto = False, b1
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


def _record(plan: _Plan, table: PatternTable, processed: int, seconds: float,
            resumed_from: int | None) -> RegionCount:  # fmt: skip
    fof = table.freq_of_freq()
    sketch = table.sketch_summary()
    warnings = []
    if sketch is not None:
        fof_est = {k: v * 2**table.level for k, v in fof.items()}
        distinct = round(sketch["distinct_estimate"])
        warnings.append(
            f"the pattern table exceeded its budget of {plan.max_table_rows:,} patterns: "
            f"distinct and the frequency table are estimated from a hash-sampled "
            f"2^-{table.level} subset of patterns (relative std error "
            f"{sketch['relative_std_error']:.2%})"
        )
        est = estimators.estimate(fof_est)
    else:
        fof_est = fof
        distinct = sum(fof.values())
        est = estimators.estimate(fof, plan.n)
    warnings.extend(est.warnings)
    coll = plan.spec.collision_probability(distinct)
    if coll > 1e-6:
        warnings.append(f"hash collisions are possible (probability {coll:.2g})")
    net = plan.net
    return RegionCount(
        n_samples=plan.n,
        distinct=distinct,
        freq_of_freq=dict(sorted(fof_est.items())),
        coverage=est.coverage,
        chao1=est.chao1,
        chao1_ci=est.chao1_ci,
        good_toulmin_2x=est.good_toulmin_2x,
        saturated=est.saturated,
        collision_probability=coll,
        seconds=seconds,
        throughput=processed / max(seconds, 1e-9),
        seed=plan.seed,
        domain=plan.sampling.description,
        fingerprint=net.fingerprint,
        network={
            "input_dim": net.input_dim,
            "widths": list(net.widths),
            "activations": list(net.activations),
            "num_relu_units": net.num_relu_units,
            "ternary": net.is_ternary(),
        },
        key_kind=plan.spec.kind,
        key_bits=plan.spec.key_bits if plan.spec.hashed else plan.spec.num_bits,
        warnings=tuple(warnings),
        sketch=sketch,
        execution={
            "devices": plan.n_devices,
            "processes": plan.processes[1],
            "platform": plan.mesh.devices.flat[0].platform,
            "chunk_size": plan.blocks_per_device * dev.BLOCK,
            "dedupe": plan.dedupe,
            "resumed_from_block": resumed_from,
            "samples_this_run": processed,  # all processes together
        },
        package_version=package_version(),
        precision=plan.precision,
    )


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

    ``precision``: "float32" (the accelerators' native type), "float64" (x64 enabled only
    inside the compiled step) or "auto" (default: float64 for integer, e.g. ternary,
    networks, whose ties and cancellations are the norm; float32 otherwise). In float32, a
    sample within ~1e-7 of a breakpoint where the network's sums cancel (e.g. a zigzag's
    zeros) can be assigned a pattern that exists only through rounding; float64 pushes this
    below 1e-15, far under the 2^-24 spacing of the samples.

    ``dedupe``: how each device groups equal patterns before they cross to the host:
    "slots" (a scratch hash table, linear work), "sort", or "auto" (default: slots on CPU,
    sort on GPU/TPU). The counts are exact and the record identical either way; only the
    speed differs.
    """
    plan = _plan(net, domain, n_samples, seed, chunk_size, devices, multihost, precision,
                 dedupe, max_table_rows, memory_budget_mb)  # fmt: skip
    checkpoint_every = _check_int(checkpoint_every, "checkpoint_every", 1)
    t0 = time.perf_counter()
    table = PatternTable(two_columns=plan.spec.words > 2, max_rows=plan.max_table_rows)
    path = state_path(state_dir, *plan.processes) if state_dir else None
    start, resumed_from = plan.blocks[0], None
    if path:
        loaded = load_state(path, plan.identity())
        if loaded is not None:
            start, saved = loaded
            resumed_from = start
            table.merge_state(saved)
    processed = _stream(plan, table, start, path, checkpoint_every, progress, _stop_after_steps)
    if plan.processes[1] > 1:
        merged = PatternTable(two_columns=plan.spec.words > 2, max_rows=plan.max_table_rows)
        table, processed = allgather_tables(table.state(), merged, processed)
    return _record(plan, table, processed, time.perf_counter() - t0, resumed_from)


class _Stopped(RuntimeError):
    """Raised by the test hook ``_stop_after_steps`` to simulate an interrupted run."""

    def __init__(self, block: int):
        super().__init__(f"stopped before block {block}")
        self.block = block
