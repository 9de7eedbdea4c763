"""``tern-jax bounds --n0 N --widths 8,8,8``: bounds and matching ternary architectures."""

from __future__ import annotations

import argparse

from .common import parse_ints


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "bounds",
        help="region-count bounds of a general ReLU network and the matching ternary ones",
        description="Print the exact-integer bounds on the maximal number of linear regions of "
        "a general ReLU network (Montufar 2014, Serra 2018 lower/upper, Montufar 2017 upper, "
        "the exact 1D maximum), and next to them the ternary architectures the paper's claim "
        "points to (double width + double depth, double width + square width; alternating "
        "and all-ReLU), with widths, depth, parameters, memory (2 bits per ternary "
        "parameter, 32 per float) and the exact linear-region count of each construction on "
        "the open unit cube.",
        epilog="example:\n  tern-jax bounds --n0 2 --widths 8,8 --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--n0", type=int, required=True, help="input dimension")
    p.add_argument(
        "--widths",
        type=lambda s: parse_ints(s, "--widths"),
        required=True,
        help="hidden widths of the general network, e.g. 8,8,8",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from ..bounds import matching_architectures
    from .common import emit_json

    comp = matching_architectures(args.n0, args.widths)
    if args.json:
        emit_json(comp.to_dict())
    else:
        print(comp.table())
    return 0
