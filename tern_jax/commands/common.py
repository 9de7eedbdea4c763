"""Argument parsing helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import numpy as np


def parse_floats(text: str, what: str) -> np.ndarray:
    """Parse "1,2.5,-3" into a float64 vector, with a clear error naming ``what``."""
    try:
        values = [float(t) for t in text.split(",") if t.strip() != ""]
    except ValueError as e:
        raise argparse.ArgumentTypeError(
            f"{what}: expected comma-separated numbers, got {text!r}"
        ) from e
    if not values:
        raise argparse.ArgumentTypeError(f"{what}: no numbers in {text!r}")
    arr = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise argparse.ArgumentTypeError(f"{what}: non-finite value in {text!r}")
    return arr


def parse_ints(text: str, what: str) -> list[int]:
    """Parse "8,8,8" into a list of ints, with a clear error naming ``what``."""
    try:
        values = [int(t) for t in text.split(",") if t.strip() != ""]
    except ValueError as e:
        raise argparse.ArgumentTypeError(
            f"{what}: expected comma-separated integers, got {text!r}"
        ) from e
    if not values:
        raise argparse.ArgumentTypeError(f"{what}: no integers in {text!r}")
    return values


def emit_json(obj: Any) -> None:
    """Print one JSON object on stdout (the ``--json`` contract)."""
    from ..records import to_jsonable

    json.dump(to_jsonable(obj), sys.stdout, sort_keys=True)
    sys.stdout.write("\n")


def positive_int(text: str) -> int:
    """An argparse type: a positive whole number, also written as 1e7 or 1000000.0."""
    try:
        value = float(text) if any(c in text for c in ".eE") else int(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from e
    if isinstance(value, float):
        if not value.is_integer():
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number")
        value = int(value)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def add_sample_args(p: argparse.ArgumentParser, samples_help: str, domain_help: str) -> None:
    """``--samples/-n``, ``--domain`` (syntax: :func:`tern_jax.domains.parse_domain`) and
    ``--seed``, shared by the commands that draw inputs."""
    p.add_argument("--samples", "-n", required=True, type=positive_int, help=samples_help)
    p.add_argument("--domain", default="box:0,1", help=domain_help)
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
