"""``tern-jax exact``: exact activation and linear region counts on a segment, line, plane,
box or all of R^n0."""

from __future__ import annotations

import argparse
from fractions import Fraction

from ..errors import InvalidInput, TernJaxError


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "exact",
        help="exact region counts along a segment/line, in a 2D slice or an n-D box",
        description=(
            "Exact partition of a domain by the network: counts activation regions (distinct "
            "patterns, full-dimensional) and linear regions (adjacent pieces with the same "
            "affine map merged), in exact rational arithmetic for integer/dyadic networks "
            "(auto) or float64 with a tolerance. Domains: a segment or whole line, a box of a "
            "2D slice, a full-dimensional box, or all of R^n0."
        ),
        epilog=(
            "examples:\n"
            '  tern-jax exact net.npz --segment "0;1"\n'
            '  tern-jax exact net.npz --line "0;1"            (one input: all of R)\n'
            '  tern-jax exact net.npz --plane "0,0;1,0;0,1" --bounds 0,1,0,1 --plot p.png\n'
            "  tern-jax exact net.npz --box 0,1                (the unit cube of R^n0)\n"
            "  tern-jax exact net.npz --whole                  (all of R^n0)"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("net", help="network file (.npz) or run/checkpoint directory")
    dom = p.add_mutually_exclusive_group(required=True)
    dom.add_argument(
        "--segment",
        metavar="A;B",
        help="segment from point A to point B (comma-separated coordinates; with one input "
        "an end may be inf or -inf)",
    )
    dom.add_argument(
        "--line", metavar="A;B", help="the whole line through A and B (t over all of R)"
    )
    dom.add_argument(
        "--plane",
        metavar="ORIGIN;U;V",
        help="2D slice x = ORIGIN + s U + t V; needs --bounds",
    )
    dom.add_argument(
        "--box",
        metavar="LO,HI",
        help="full-dimensional box: LO,HI (scalars, every coordinate) or LO1,..;HI1,.. "
        "(write --box=-1,1 when it starts with -)",
    )
    dom.add_argument("--whole", action="store_true", help="all of R^n0")
    p.add_argument(
        "--bounds",
        metavar="U0,U1,V0,V1",
        help="box of (s, t) for --plane (write --bounds=-1,1,-1,1 when it starts with -)",
    )
    p.add_argument(
        "--engine",
        choices=("auto", "line", "plane", "nd"),
        default="auto",
        help="which exact engine (auto: line for segments and 1 input, plane for planes and "
        "2-input boxes, n-dimensional otherwise; nd also takes --box and --whole for 1 or "
        "2 inputs, to check the engines against each other)",
    )
    p.add_argument(
        "--mode",
        choices=("auto", "exact", "float64"),
        default="auto",
        help="arithmetic: exact rationals, float64 with --tol, or auto (exact when all "
        "parameters and points are rationals with small denominators)",
    )
    p.add_argument("--tol", type=float, default=1e-9, help="float64 tolerance (1e-9)")
    p.add_argument("--plot", metavar="OUT.png", help="write a picture of the partition")
    p.add_argument(
        "--breakpoints",
        action="store_true",
        help="keep every breakpoint in the JSON record (default: only up to 10000)",
    )
    p.add_argument(
        "--max-cells",
        type=int,
        metavar="N",
        help="n-D engine: stop with an error once the partition has more than N cells "
        "(memory grows with the number of regions; default: no limit)",
    )
    p.add_argument(
        "--memory-budget-mb",
        type=float,
        metavar="MB",
        help="n-D engine: stop with an error before the enumeration's memory can pass this "
        "(default: half this machine's memory; in many dimensions the vertices fill it)",
    )
    p.add_argument("--json", action="store_true", help="print the JSON record")
    p.add_argument(
        "--quiet",
        "-q",
        action="store_true",
        help="no progress bar (the n-D engine shows one on a terminal, over the ReLU units)",
    )
    p.set_defaults(func=run)


def _points(text: str, count: int, what: str, allow_inf: bool = False) -> list[list]:
    """ "1,2;3,4" -> [[1, 2], [3, 4]] as exact Fractions (decimals are read exactly)."""
    parts = [q.strip() for q in text.split(";")]
    if len(parts) != count:
        raise InvalidInput(f"{what}: expected {count} points separated by ';', got {text!r}")
    out = []
    for q in parts:
        coords = []
        for c in q.split(","):
            c = c.strip()
            if allow_inf and c.lower() in ("inf", "+inf", "-inf", "infinity", "-infinity"):
                coords.append(float(c))
                continue
            try:
                coords.append(Fraction(c))
            except (ValueError, ZeroDivisionError) as e:
                raise InvalidInput(f"{what}: {c!r} is not a number (in {text!r})") from e
        out.append(coords)
    return out


def _domain(args: argparse.Namespace, n0: int):
    """The domain object the arguments describe (None: all of R^n0)."""
    from .. import domains as D

    if args.bounds is not None and args.plane is None:
        raise InvalidInput("--bounds applies to --plane only")
    if args.whole:
        return None
    if args.plane is not None:
        if args.bounds is None:
            raise InvalidInput("--plane needs --bounds U0,U1,V0,V1")
        origin, u, v = _points(args.plane, 3, "--plane")
        (bounds,) = _points(args.bounds, 1, "--bounds")
        if len(bounds) != 4:
            raise InvalidInput(f"--bounds: expected 4 numbers U0,U1,V0,V1, got {args.bounds!r}")
        return D.Plane(origin, u, v, tuple(bounds))
    if args.box is not None:
        if ";" in args.box:
            lo, hi = _points(args.box, 2, "--box")
        else:
            (pair,) = _points(args.box, 1, "--box")
            if len(pair) != 2:
                raise InvalidInput(f"--box: expected LO,HI or LO1,..;HI1,.., got {args.box!r}")
            lo, hi = pair
        return D.Box(lo, hi)
    text = args.segment if args.segment is not None else args.line
    what = "--segment" if args.segment is not None else "--line"
    a, b = _points(text, 2, what, allow_inf=True)
    return D.Segment(a, b) if args.segment is not None else D.Line(a, b)


def run(args: argparse.Namespace) -> int:
    import sys

    from .. import plots
    from ..exact import exact_regions
    from ..exact.regions import choose_engine
    from ..io import load_network
    from .common import emit_json

    net = load_network(args.net)
    domain = _domain(args, net.input_dim)
    engine = choose_engine(net, domain) if args.engine == "auto" else args.engine
    options: dict = {"tol": args.tol}
    if engine == "line":
        options["keep_breakpoints"] = True if (args.breakpoints or args.plot) else None
    elif engine == "plane":
        options["keep_cells"] = bool(args.plot) or None
    elif engine == "nd":
        if args.plot:
            raise InvalidInput("--plot draws line and plane partitions only, not the n-D engine's")
        options["max_cells"] = args.max_cells
        options["memory_budget_mb"] = args.memory_budget_mb
    for flag in ("max_cells", "memory_budget_mb"):
        if getattr(args, flag) is not None and engine != "nd":
            raise InvalidInput(f"--{flag.replace('_', '-')} applies to the n-D engine only")
    show = not (args.quiet or args.json) and sys.stderr.isatty()
    res = exact_regions(net, domain, engine=engine, mode=args.mode, progress=show, **options)
    plot = plot_error = None
    if args.plot:
        try:
            plot = plots.plot_exact(net, res, args.plot)
        except TernJaxError as e:  # the counts are printed all the same, then the error
            plot_error = e
    if args.json:
        d = res.to_dict()
        d["plot"] = plot
        d["network"] = net.summary()
        emit_json(d)
    else:
        print(net.summary())
        print(res.summary())
        if res.engine == "line" and res.breakpoints is not None and len(res.breakpoints) <= 20:
            if res.breakpoints:
                print("breakpoints (t): " + ", ".join(str(t) for t in res.breakpoints))
        if plot:
            print(f"wrote {plot}")
    if plot_error is not None:
        raise plot_error
    return 0
