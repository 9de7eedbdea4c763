"""``tern-jax estimate``: estimated number of activation regions in a bounded domain, from
the volumes of sampled regions (:func:`tern_jax.estimate_regions`)."""

from __future__ import annotations

import argparse

from .common import add_sample_args, positive_int

METHODS = ("volume", "horvitz-thompson", "hansen-hurwitz", "chao1")
DOMAIN_HELP = (
    "bounded domain with a uniform law: box:LO,HI (scalars) | box:LO1,LO2;HI1,HI2 (per "
    "dimension) | plane:ORIGIN;U;V;U0,U1,V0,V1 | segment:A;B  (vectors are comma-separated; "
    "default box:0,1, the unit cube)"
)


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "estimate",
        help="estimated number of activation (or linear) regions, with an interval",
        description=(
            "Estimate how many activation regions of the network have positive volume in a "
            "bounded domain. M uniform draws (the same as `count` with the same seed) land in "
            "regions whose exact volumes (or, in high dimension, Monte-Carlo inclusion "
            "probabilities) and neighbours are computed; the Horvitz-Thompson total over them "
            "is unbiased and its interval holds its level unless whole clusters of regions "
            "have masses far below 1/M. The distinct patterns and the regions found are "
            "reported too: they are certain lower bounds."
        ),
        epilog=(
            "examples:\n"
            "  tern-jax estimate net.npz --domain box:-2,2 --samples 1000\n"
            '  tern-jax estimate net.npz --domain "plane:0,0,0;1,0,0;0,1,0;-1,1,-1,1" -n 2000\n'
            "  tern-jax estimate net.npz --domain box:0,1 -n 500 --method chao1 --json"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("net", help="network file (.npz) or run/checkpoint directory")
    add_sample_args(p, "M, e.g. 1000 or 1e4", DOMAIN_HELP)
    p.add_argument(
        "--level", type=_level, default=0.95, help="confidence level of the interval (0.95)"
    )
    p.add_argument(
        "--method",
        choices=METHODS,
        default="volume",
        help="volume (Horvitz-Thompson with neighbours, default) | horvitz-thompson | "
        "hansen-hurwitz | chao1 (lower-bound-type, for comparison)",
    )
    p.add_argument(
        "--kind",
        choices=("activation", "linear"),
        default="activation",
        help="count activation regions (default) or linear regions (connected unions of "
        "neighbouring regions with one affine output map; exact volumes only)",
    )
    p.add_argument(
        "--volumes",
        choices=("auto", "exact", "monte-carlo"),
        default="auto",
        help="region volumes: exact (interval, polygon, qhull), monte-carlo, or auto (exact "
        "up to 6 dimensions)",
    )
    p.add_argument(
        "--max-draws",
        type=positive_int,
        default=10**8,
        help="budget of further draws for Monte-Carlo inclusion probabilities (1e8)",
    )
    p.add_argument("--json", action="store_true", help="print the JSON record")
    p.set_defaults(func=run)


def _level(text: str) -> float:
    try:
        value = float(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"--level: expected a number, got {text!r}") from e
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"--level must be in (0, 1), got {text}")
    return value


def run(args) -> int:
    from ..domains import parse_domain
    from ..estimators import estimate_regions
    from ..io import load_network
    from .common import emit_json

    net = load_network(args.net)
    rec = estimate_regions(
        net,
        parse_domain(args.domain),
        args.samples,
        seed=args.seed,
        method=args.method,
        level=args.level,
        kind=args.kind,
        volumes=args.volumes,
        max_draws=args.max_draws,
    )
    if args.json:
        emit_json(rec)
    else:
        print(rec.summary())
    return 0
