"""The ``tern-jax`` command. Each subcommand lives in ``tern_jax/commands/<name>.py`` and
provides ``add_parser(subparsers)``, which registers its parser and sets ``func`` to a
function ``run(args) -> int``. Heavy imports (JAX, Flax, the engines) happen inside ``run``,
so ``--help`` is fast.

Exit codes: 0 success; 2 bad input, a missing or damaged file, or any other error the package
raises on purpose (:class:`~tern_jax.errors.TernJaxError`: one line on stderr, no traceback);
75 a peer process of a multi-process count was lost (:class:`~tern_jax.errors.PeerLost`: this
process's state is saved, rerun the same command on every process to resume); 130
interrupted (Ctrl-C; a command that can resume sets ``args.resume_hint``, printed then).
A closed output pipe (``tern-jax count ... | head``) ends quietly. Any other exception is a
bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from ._version import __version__
from .errors import TernJaxError

COMMANDS = ("construct", "bounds", "count", "estimate", "exact", "train", "report")
DESCRIPTION = (
    "Count the activation regions and linear regions of ReLU networks, ternary ones first:\n"
    "exactly (along a line, in a plane), by sampling (distinct activation patterns among N\n"
    "inputs of a domain) and by estimation (the volume estimator with an interval; Chao1,\n"
    "Good-Toulmin as lower-bound-type estimates). Every count printed says\n"
    "its kind, its domain and how it was obtained."
)
EPILOG = (
    "start here:\n"
    "  tern-jax construct ternary-alternating --n0 2 --ps 3,3 --out net.npz\n"
    '  tern-jax exact net.npz --plane "0,0;1,0;0,1" --bounds 0,1,0,1\n'
    "  tern-jax count net.npz --samples 1e6 --domain box:0,1\n"
    "  tern-jax estimate net.npz --samples 1000 --domain box:0,1\n"
    "  tern-jax bounds --n0 2 --widths 8,8\n"
    "\n"
    "Each command has its own --help; --json prints one JSON object on stdout.\n"
    "The maths (regions, bounds, constructions, estimators): docs/math.md."
)
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tern-jax",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"tern-jax {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        module = importlib.import_module(f".commands.{name}", __package__)
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except TernJaxError as e:
        print(f"tern-jax {args.command}: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        hint = getattr(args, "resume_hint", None)
        print(f"tern-jax {args.command}: interrupted{'; ' + hint if hint else ''}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, and keep Python from
        # complaining again when it flushes stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
