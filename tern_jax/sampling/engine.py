"""count_regions: the streaming sampled count, from validation to the result record."""

from __future__ import annotations

import numbers
import time

import numpy as np

from .domains import Domain
from .record import RegionCount

DEFAULT_CHUNK = 16 * 4096  # rows per device per step
DEFAULT_MEMORY_BUDGET_MB = 4096.0
BYTES_PER_ROW = 48  # table row (<= 16 B key + 8 B count) plus pending buffer of equal size


def _check_net(net) -> None:
    from ..network import ReLUNet

    if not isinstance(net, ReLUNet):
        raise ValueError(f"net must be a tern_jax.ReLUNet, got {type(net).__name__}")
    for i, (w, b) in enumerate(zip(net.weights, net.biases)):
        if not (np.all(np.isfinite(np.asarray(w))) and np.all(np.isfinite(np.asarray(b)))):
            raise ValueError(f"network layer {i} contains NaN or infinite parameters")


def _check_int(value, what: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{what} must be an integer, got {value!r}")
    if int(value) < minimum:
        raise ValueError(f"{what} must be >= {minimum}, got {value}")
    return int(value)


def count_regions(
    net,
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
    import jax
    from tqdm.auto import tqdm

    from .. import estimators
    from ..records import package_version
    from . import device as dev
    from .distributed import allgather_tables, process_share
    from .keys import device_params, key_spec
    from .resume import load_state, save_state, state_path
    from .table import PatternTable

    _check_net(net)
    if not isinstance(domain, Domain):
        raise ValueError(
            f"domain must be a tern_jax domain (Box, Gaussian, Plane, Segment, Points), got "
            f"{type(domain).__name__}"
        )
    n = _check_int(n_samples, "n_samples", 1)
    seed = _check_int(seed, "seed", 0)
    if seed >= 2**64:
        raise ValueError(f"seed must be < 2^64, got {seed}")
    chunk = DEFAULT_CHUNK if chunk_size is None else _check_int(chunk_size, "chunk_size", 1)
    if chunk % dev.BLOCK:
        raise ValueError(f"chunk_size must be a multiple of {dev.BLOCK}, got {chunk}")
    checkpoint_every = _check_int(checkpoint_every, "checkpoint_every", 1)
    if max_table_rows is None:
        if not (isinstance(memory_budget_mb, (int, float)) and memory_budget_mb > 0):
            raise ValueError(f"memory_budget_mb must be > 0, got {memory_budget_mb!r}")
        max_table_rows = max(1, int(memory_budget_mb * 2**20 / BYTES_PER_ROW))
    else:
        max_table_rows = _check_int(max_table_rows, "max_table_rows", 1)
    if precision == "auto":
        precision = "float64" if net.is_integer() else "float32"
    if precision not in ("float32", "float64"):
        raise ValueError(f"precision must be 'auto', 'float32' or 'float64', got {precision!r}")
    resolved = domain.resolve(net.input_dim)
    spec = key_spec(net.num_relu_units)

    t0 = time.perf_counter()
    multi = jax.process_count() > 1 if multihost is None else bool(multihost)
    p_index, p_count = (jax.process_index(), jax.process_count()) if multi else (0, 1)
    mesh = dev.local_mesh(devices)
    n_dev = int(mesh.devices.size)
    dedupe = dev.dedupe_method(dedupe, mesh.devices.flat[0].platform)
    total_blocks = -(-n // dev.BLOCK)
    if total_blocks >= 2**31:
        raise ValueError(f"n_samples={n} is too large (at most {(2**31 - 1) * dev.BLOCK})")
    block_lo, block_hi = process_share(total_blocks, p_index, p_count)
    my_blocks = block_hi - block_lo
    bpd = max(1, min(chunk // dev.BLOCK, -(-my_blocks // n_dev)))
    per_step = bpd * n_dev

    table = PatternTable(two_columns=spec.words > 2, max_rows=max_table_rows)
    identity = {
        "fingerprint": net.fingerprint,
        "domain": resolved.description,
        "seed": seed,
        "n_samples": n,
        "key_kind": spec.kind,
        "precision": precision,
        "max_table_rows": max_table_rows,
        "blocks": [block_lo, block_hi],
        "processes": p_count,
    }
    path = state_path(state_dir, p_index, p_count) if state_dir else None
    start = block_lo
    resumed_from = None
    if path:
        loaded = load_state(path, identity)
        if loaded is not None:
            start, saved = loaded
            resumed_from = start
            table.merge_state(saved)

    params = device_params(net)
    base_key = dev.seed_key(seed)
    bounds = np.array([n // dev.BLOCK, n % dev.BLOCK, block_hi], dtype=np.int32)
    step = None
    if start < block_hi:
        fp = net.fingerprint if precision == "float64" else ""
        step = dev.build_step(net, resolved, spec, bpd, mesh, precision, fp, dedupe)

    def rows_in(b0: int, b1: int) -> int:
        return max(0, min(n, b1 * dev.BLOCK) - b0 * dev.BLOCK)

    bar = tqdm(
        total=rows_in(block_lo, block_hi),
        initial=rows_in(block_lo, start),
        unit="samples",
        unit_scale=True,
        disable=not progress,
        leave=False,
    )
    processed = 0
    steps_done = 0
    merged_steps = 0
    in_flight = None  # (outputs, first block, last block) of the step not yet merged
    b = start
    try:
        while b < block_hi or in_flight is not None:
            nxt = None
            if b < block_hi and (_stop_after_steps is None or steps_done < _stop_after_steps):
                firsts = dev.first_blocks_array(mesh, b, bpd)
                nxt = (step(params, base_key, firsts, bounds), b, min(b + per_step, block_hi))
                b = nxt[2]
                steps_done += 1
            if in_flight is not None:
                (keys, counts), b0, b1 = in_flight
                table.add_words(np.asarray(keys), np.asarray(counts))
                rows = rows_in(b0, b1)
                processed += rows
                bar.update(rows)
                merged_steps += 1
                if path and (b1 == block_hi or merged_steps % checkpoint_every == 0):
                    save_state(path, identity, b1, table.state())
            in_flight = nxt
            if nxt is None and b < block_hi:
                raise _Stopped(b)
    finally:
        bar.close()

    if multi:
        merged = PatternTable(two_columns=spec.words > 2, max_rows=max_table_rows)
        table, processed = allgather_tables(table.state(), merged, processed)

    seconds = time.perf_counter() - t0
    fof = table.freq_of_freq()
    sketch = table.sketch_summary()
    warnings = []
    if sketch is not None:
        scale = 2**table.level
        fof_est = {k: v * scale for k, v in fof.items()}
        distinct = round(sketch["distinct_estimate"])
        warnings.append(
            f"the pattern table exceeded its budget of {max_table_rows:,} patterns: distinct "
            f"and the frequency table are estimated from a hash-sampled 2^-{table.level} subset "
            f"of patterns (relative std error {sketch['relative_std_error']:.2%})"
        )
        est = estimators.estimate(fof_est)
    else:
        fof_est = fof
        distinct = sum(fof.values())
        est = estimators.estimate(fof, n)
    warnings.extend(est.warnings)
    coll = spec.collision_probability(distinct)
    if coll > 1e-6:
        warnings.append(f"hash collisions are possible (probability {coll:.2g})")
    return RegionCount(
        n_samples=n,
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
        seed=seed,
        domain=resolved.description,
        fingerprint=net.fingerprint,
        network={
            "input_dim": net.input_dim,
            "widths": list(net.widths),
            "activations": list(net.activations),
            "num_relu_units": net.num_relu_units,
            "ternary": net.is_ternary(),
        },
        key_kind=spec.kind,
        key_bits=spec.key_bits if spec.hashed else spec.num_bits,
        warnings=tuple(warnings),
        sketch=sketch,
        execution={
            "devices": n_dev,
            "processes": p_count,
            "platform": mesh.devices.flat[0].platform,
            "chunk_size": bpd * dev.BLOCK,
            "dedupe": dedupe,
            "resumed_from_block": resumed_from,
            "samples_this_run": processed,  # all processes together
        },
        package_version=package_version(),
        precision=precision,
    )


class _Stopped(RuntimeError):
    """Raised by the test hook ``_stop_after_steps`` to simulate an interrupted run."""

    def __init__(self, block: int):
        super().__init__(f"stopped before block {block}")
        self.block = block
