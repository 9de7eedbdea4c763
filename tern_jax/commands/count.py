"""``tern-jax count``: sampled count of activation regions (distinct activation patterns)."""

from __future__ import annotations

from ..errors import InvalidInput
from .common import add_sample_args

DOMAIN_HELP = (
    "sampling domain: box:LO,HI (scalars) | box:LO1,LO2;HI1,HI2 (per dimension) | "
    "gaussian | gaussian:MEAN,STD | plane:ORIGIN;U;V;U0,U1,V0,V1 | segment:A;B | "
    "points:FILE.npy[,RADIUS]  (vectors are comma-separated; default box:0,1, the unit cube)"
)  # the syntax parse_domain (tern_jax.domains) reads


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "count",
        help="sampled count of activation regions, with estimates",
        description=(
            "Draw N inputs from a domain, count the distinct activation patterns (activation "
            "regions met by the sample: a sampled count, a lower bound on the regions with "
            "positive mass there) and estimate the unseen ones (Chao1, Good-Toulmin)."
        ),
    )
    p.add_argument("net", help="network file (.npz) or run/checkpoint directory")
    add_sample_args(p, "N, e.g. 1000000 or 1e7", DOMAIN_HELP)
    p.add_argument(
        "--chunk-size", type=int, default=None, help="rows per device per step (multiple of 4096)"
    )
    p.add_argument("--resume", metavar="STATE_DIR", help="save state here and resume from it")
    p.add_argument(
        "--checkpoint-every", type=int, default=16, help="steps between saved states (16)"
    )
    p.add_argument(
        "--memory-budget-mb",
        type=float,
        default=4096.0,
        help="pattern-table budget; beyond it a hash-sampled sketch estimates the count",
    )
    p.add_argument(
        "--max-table-rows", type=int, default=None, help="table budget in patterns (overrides)"
    )
    p.add_argument(
        "--precision",
        choices=("auto", "float32", "float64"),
        default="auto",
        help="forward-pass float type; auto = float32 where integer lattice arithmetic makes it "
        "provably exact (integer/dyadic networks of moderate size), float64 otherwise",
    )
    p.add_argument(
        "--dedupe",
        choices=("auto", "slots", "sort"),
        default="auto",
        help="on-device grouping of equal patterns (speed only, counts are identical); "
        "auto = hash slots on CPU, sort on GPU/TPU",
    )
    p.add_argument(
        "--distributed",
        action="store_true",
        help="initialise jax.distributed (auto-detected on TPU pods / Slurm, or give "
        "--coordinator, --num-processes and --process-id)",
    )
    p.add_argument("--coordinator", help="host:port of process 0 (with --distributed)")
    p.add_argument("--num-processes", type=int)
    p.add_argument("--process-id", type=int)
    p.add_argument(
        "--peer-timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="with --distributed: a process whose share is done ends with exit code 75 when a "
        "peer sends no heartbeat this long (60); its state is kept with --resume",
    )
    p.add_argument("--json", action="store_true", help="print the JSON record")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args) -> int:
    import sys

    from ..domains import parse_domain
    from ..io import load_network
    from ..sampling import count_regions
    from .common import emit_json

    if args.distributed:
        from ..sampling.distributed import initialize

        initialize(args.coordinator, args.num_processes, args.process_id,
                   peer_timeout_s=args.peer_timeout)  # fmt: skip
    elif args.coordinator:
        raise InvalidInput("--coordinator needs --distributed")
    if args.resume:
        args.resume_hint = f"the state in {args.resume!r} is kept; rerun the same command to resume"
    net = load_network(args.net)
    domain = parse_domain(args.domain)
    show = not (args.quiet or args.json) and sys.stderr.isatty()
    rec = count_regions(
        net,
        domain,
        args.samples,
        seed=args.seed,
        chunk_size=args.chunk_size,
        progress=show,
        state_dir=args.resume,
        checkpoint_every=args.checkpoint_every,
        max_table_rows=args.max_table_rows,
        memory_budget_mb=args.memory_budget_mb,
        precision=args.precision,
        dedupe=args.dedupe,
    )
    if args.distributed:
        import jax

        if jax.process_index() != 0:
            return 0  # every process holds the same record; process 0 reports it
    if args.json:
        emit_json(rec)
        for w in rec.warnings:  # the summary shows them; with --json say them on stderr too
            print(f"tern-jax count: warning: {w}", file=sys.stderr)
    else:
        print(rec.summary())
    return 0
