"""``tern-jax construct NAME ... --out net.npz``: build a construction (math.md section 3)."""

from __future__ import annotations

import argparse
import os

from ..errors import InvalidInput
from .common import parse_ints

NAMES = ("ternary-alternating", "ternary-all-relu", "ternary-real-bias", "montufar")
OPTIONS = ("n0", "ps", "form", "ks", "m", "widths")


def _ints(what: str):
    return lambda text: parse_ints(text, what)


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "construct",
        help="build a network following the paper's claims (math.md section 3)",
        description="Build one of the constructions following the paper's claims, print its "
        "exact region counts (linear and activation; open unit cube and all of R^n0) and "
        "optionally write it to a network file for the other commands.",
        epilog="examples:\n"
        "  tern-jax construct ternary-alternating --n0 1 --ps 3,3 --out net.npz\n"
        "  tern-jax construct ternary-all-relu --n0 2 --ps 2,2 --form generic --out net.npz\n"
        "  tern-jax construct ternary-real-bias --n0 1 --ks 3,3 --m 3 --out net.npz\n"
        "  tern-jax construct montufar --n0 1 --widths 4,4 --out net.npz",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("name", metavar="NAME", choices=NAMES, help=f"one of {', '.join(NAMES)}")
    p.add_argument("--n0", type=int, default=None, help="input dimension (default 1)")
    p.add_argument(
        "--ps",
        type=_ints("--ps"),
        default=None,
        help="zigzag pieces per block, e.g. 3,3 (ternary-alternating/-all-relu)",
    )
    p.add_argument(
        "--form",
        choices=("generic", "cube"),
        default=None,
        help="ternary-all-relu form (default generic)",
    )
    p.add_argument(
        "--ks",
        type=_ints("--ks"),
        default=None,
        help="folds per layer, e.g. 3,3 (ternary-real-bias; default none)",
    )
    p.add_argument("--m", type=int, default=None, help="last-layer cuts (ternary-real-bias)")
    p.add_argument(
        "--widths", type=_ints("--widths"), default=None, help="hidden widths, e.g. 4,4 (montufar)"
    )
    p.add_argument("--out", default=None, help="write the network here (.npz)")
    p.add_argument(
        "--force", action="store_true", help="replace --out when it exists (never by default)"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from ..constructions import build
    from ..netfile import save_network
    from ..records import package_version
    from .common import emit_json

    given = {k: getattr(args, k) for k in OPTIONS if getattr(args, k) is not None}
    if args.out and os.path.exists(args.out) and not args.force:
        raise InvalidInput(f"{args.out!r} exists; pass --force to replace it")
    c = build(args.name, **given)
    record = c.to_dict()
    record["package_version"] = package_version()
    record["out"] = None
    if args.out:
        record["out"] = save_network(c.net, args.out, metadata={"construction": c.to_dict()})
    if args.json:
        emit_json(record)
    else:
        print(c.summary())
        print(f"  wrote {record['out']}" if record["out"] else "  (not saved: give --out)")
    return 0
