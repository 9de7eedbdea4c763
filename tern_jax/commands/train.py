"""``tern-jax train CONFIG --out RUN_DIR``: quantisation-aware training with region tracking."""

from __future__ import annotations

import argparse
import sys
import textwrap

INTERRUPTED = "interrupted; rerun the same command to resume"


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "train",
        help="train a ternary model and its float twin, tracking region counts",
        description=textwrap.fill(
            "Train the ternary AlternatingMLP described by CONFIG (YAML, see "
            "experiments/configs/; fields not listed take the defaults of TrainConfig) and its "
            "full-precision twin with AdamW, checkpointing with orbax into RUN_DIR/checkpoints/. "
            "Rerunning the same command resumes from the last checkpoint and ends with the same "
            "parameters as an uninterrupted run; a larger --set steps=N extends a run. Writes "
            "network.npz (ternary model as a folded ReLUNet), network_float.npz, codes.npz (int8 "
            "codes + scales), regions.json/.csv/.png (activation regions: sampled over the data "
            "box and around training points; activation and linear regions: exact on a line and "
            "a plane through data points), TensorBoard scalars in RUN_DIR/tensorboard/ and "
            "summary.json. Progress: a bar on a terminal, one line per log interval otherwise. "
            "Ctrl-C saves a checkpoint and exits with code 130.",
            width=88,
        ),
        epilog="examples:\n  tern-jax train experiments/configs/quick.yaml --out runs/quick\n"
        "  tern-jax train experiments/configs/quick.yaml --out runs/quick --set steps=3000\n"
        "  tern-jax count runs/quick/checkpoints/ternary --samples 100000\n"
        "  tensorboard --logdir runs/quick/tensorboard",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("config", metavar="CONFIG", help="run config (YAML)")
    p.add_argument("--out", required=True, metavar="RUN_DIR", help="run directory")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override a config field (YAML value), e.g. --set steps=500; repeatable",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="write into RUN_DIR even when it is a non-empty directory that holds no run",
    )
    p.add_argument("--quiet", "-q", action="store_true", help="no progress output")
    p.add_argument("--json", action="store_true", help="print the run summary as JSON")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    # Imported here so that `tern-jax --help` does not load JAX and the training stack.
    from ..plots import plot_region_series
    from ..train import describe, load_config, parse_overrides
    from ..train import run as train_run
    from .common import emit_json

    cfg = load_config(args.config, parse_overrides(args.set))

    def echo(msg: str) -> None:
        print(msg, file=sys.stderr if args.json else sys.stdout, flush=True)

    try:
        summary = train_run(
            cfg,
            args.out,
            progress=not args.quiet,
            echo=echo,
            force=args.force,
            plot=plot_region_series,
        )
    except KeyboardInterrupt:
        print(INTERRUPTED, file=sys.stderr, flush=True)
        return 130
    if args.json:
        emit_json(summary)
        return 0
    base = summary["constant_baseline_test_mse"]
    for kind, m in summary["models"].items():
        print(f"{kind:8s} test MSE {m['test_mse']:.4g}  (constant predictor {base:.4g})")
        if m.get("regions"):
            print(f"         at step {m['regions']['step']}:")
            for line in describe(m["regions"]):
                print(f"         {line}")
    print(
        f"run directory: {args.out} (regions.csv: region counts against step; "
        f"tensorboard --logdir {args.out}/tensorboard)"
    )
    return 0
