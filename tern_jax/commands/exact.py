"""``tern-jax exact``: exact activation and linear region counts on a segment, line or plane."""

from __future__ import annotations

import argparse


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "exact",
        help="exact region counts along a segment/line or in a 2D slice",
        description=(
            "Exact partition of a segment, a whole line or a box of a 2D input slice by the "
            "network: counts activation regions (distinct patterns) and linear regions "
            "(adjacent pieces with the same affine map merged), in exact rational arithmetic "
            "for integer/dyadic networks (auto) or float64 with a tolerance."
        ),
        epilog=(
            'examples:  tern-jax exact net.npz --segment "0;1"   '
            'tern-jax exact net.npz --line "0;1"  (one input: all of R)   '
            'tern-jax exact net.npz --plane "0,0;1,0;0,1" --bounds 0,1,0,1 --plot p.png'
        ),
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
    p.add_argument(
        "--bounds",
        metavar="U0,U1,V0,V1",
        help="box of (s, t) for --plane (write --bounds=-1,1,-1,1 when it starts with -)",
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
    p.add_argument("--json", action="store_true", help="print the JSON record")
    p.set_defaults(func=run)


def _points(text: str, count: int, what: str, allow_inf: bool = False) -> list[list]:
    """ "1,2;3,4" -> [[1, 2], [3, 4]] as exact Fractions (decimals are read exactly)."""
    from fractions import Fraction

    parts = [q.strip() for q in text.split(";")]
    if len(parts) != count:
        raise ValueError(f"{what}: expected {count} points separated by ';', got {text!r}")
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
            except (ValueError, ZeroDivisionError):
                raise ValueError(f"{what}: {c!r} is not a number (in {text!r})") from None
        out.append(coords)
    return out


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from ..exact import exact_regions_1d, exact_regions_2d
    from ..network import load_network
    from .common import emit_json

    net = load_network(args.net)
    keep = True if args.breakpoints else None
    if args.plane is not None:
        if args.bounds is None:
            raise ValueError("--plane needs --bounds U0,U1,V0,V1")
        origin, u, v = _points(args.plane, 3, "--plane")
        (bounds,) = _points(args.bounds, 1, "--bounds")
        if len(bounds) != 4:
            raise ValueError(f"--bounds: expected 4 numbers U0,U1,V0,V1, got {args.bounds!r}")
        res = exact_regions_2d(
            net,
            origin,
            u,
            v,
            tuple(bounds),
            mode=args.mode,
            tol=args.tol,
            keep_cells=bool(args.plot) or None,
        )
    else:
        if args.bounds is not None:
            raise ValueError("--bounds applies to --plane only")
        text = args.segment if args.segment is not None else args.line
        a, b = _points(text, 2, "--segment" if args.segment is not None else "--line", True)
        a = a[0] if net.input_dim == 1 and len(a) == 1 else a
        b = b[0] if net.input_dim == 1 and len(b) == 1 else b
        res = exact_regions_1d(
            net,
            a,
            b,
            line=args.line is not None,
            mode=args.mode,
            tol=args.tol,
            keep_breakpoints=keep if not args.plot else True,
        )
    plot = None
    if args.plot:
        plot = _plot(net, res, args.plot)
    if args.json:
        d = res.to_dict()
        d["plot"] = plot
        d["network"] = net.summary()
        emit_json(d)
        return 0
    print(net.summary())
    print(res.summary())
    if res.engine == "line" and res.breakpoints is not None and 0 < len(res.breakpoints) <= 20:
        print("breakpoints (t): " + ", ".join(str(t) for t in res.breakpoints))
    if plot:
        print(f"wrote {plot}")
    del np
    return 0


def _plot(net, res, path: str) -> str:
    import numpy as np

    from .. import plots

    kind = f"{res.activation_regions} activation / {res.linear_regions} linear regions (exact)"
    if res.engine == "plane":
        if res.cells is None:
            raise ValueError("too many cells to draw")
        return plots.plot_plane_partition(
            res.cells,
            res.patterns,
            path,
            linear_boundaries=res.linear_boundaries,
            title=kind,
        )
    from ..exact.line import line_values

    bps = np.array([float(t) for t in res.breakpoints])
    lbps = np.array([float(t) for t in res.linear_breakpoints])
    lo, hi = (float(x) for x in (_num(res.domain["t_range"][0]), _num(res.domain["t_range"][1])))
    if not np.isfinite(lo) or not np.isfinite(hi):
        span = (bps.max() - bps.min()) if bps.size else 1.0
        span = max(span, 1.0)
        lo = lo if np.isfinite(lo) else (bps.min() if bps.size else 0.0) - 0.25 * span
        hi = hi if np.isfinite(hi) else (bps.max() if bps.size else 0.0) + 0.25 * span
    ts = np.union1d(np.linspace(lo, hi, 2001), bps[(bps >= lo) & (bps <= hi)])
    return plots.plot_line_function(
        ts,
        line_values(net, res, ts),
        path,
        breakpoints=bps,
        breakpoint_values=line_values(net, res, bps) if bps.size else None,
        linear_breakpoints=lbps,
        linear_breakpoint_values=line_values(net, res, lbps) if lbps.size else None,
        title=f"{res.domain['description']}: {kind}",
        xlabel="x" if res.domain["input_dim"] == 1 else "t",
    )


def _num(text: str) -> float:
    from fractions import Fraction

    return float(text) if "inf" in text else float(Fraction(text))
