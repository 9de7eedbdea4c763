"""``tern-jax train CONFIG --out RUN_DIR``: quantisation-aware training with region tracking."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "train",
        help="train a ternary model and its float twin, tracking region counts",
        description="Train the ternary AlternatingMLP described by CONFIG (YAML, see "
        "experiments/configs/) and its full-precision twin with AdamW, checkpointing with "
        "orbax into RUN_DIR/checkpoints/. Rerunning the same command resumes from the last "
        "checkpoint and ends with the same parameters as an uninterrupted run. Writes "
        "network.npz (ternary model as a folded ReLUNet), network_float.npz, codes.npz (int8 "
        "codes + scales), regions.json/.csv/.png (activation regions: sampled over the data "
        "box and around training points; activation and linear regions: exact on a line and "
        "a plane through data points) and summary.json.",
        epilog="examples:\n  tern-jax train experiments/configs/quick.yaml --out runs/quick\n"
        "  tern-jax count runs/quick/checkpoints/ternary --samples 100000\n"
        "  tern-jax train experiments/configs/quick.yaml --out runs/q2 --set steps=500",
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
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the run summary as JSON")
    p.set_defaults(func=run)
    return p


def _overrides(items: list[str]) -> dict:
    import yaml

    out = {}
    for item in items:
        if "=" not in item:
            raise ValueError(f"--set expects FIELD=VALUE, got {item!r}")
        key, value = item.split("=", 1)
        try:
            out[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError as e:
            raise ValueError(f"--set {key}: cannot parse {value!r} ({e})") from None
    return out


def run(args: argparse.Namespace) -> int:
    import dataclasses
    import sys

    from ..train import config_from_dict, load_config
    from ..train import run as train_run
    from .common import emit_json

    cfg = load_config(args.config)
    if args.set:
        cfg = config_from_dict({**dataclasses.asdict(cfg), **_overrides(args.set)})

    def echo(msg: str) -> None:
        print(msg, file=sys.stderr if args.json else sys.stdout, flush=True)

    summary = train_run(cfg, args.out, progress=not args.quiet, echo=echo)
    if args.json:
        emit_json(summary)
    else:
        base = summary["constant_baseline_test_mse"]
        for kind, m in summary["models"].items():
            print(f"{kind:8s} test MSE {m['test_mse']:.4g}  (constant predictor {base:.4g})")
        print(f"run directory: {args.out} (regions.csv: region counts against step)")
    return 0
