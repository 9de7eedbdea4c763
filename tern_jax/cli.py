"""The ``tern-jax`` command. Each subcommand lives in ``tern_jax/commands/<name>.py`` and
provides ``add_parser(subparsers)``, which registers its parser and sets ``func`` to a
function ``run(args) -> int``. Heavy imports happen inside ``run``, so ``--help`` is fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from . import __version__

COMMANDS = ("construct", "bounds", "count", "exact", "train", "report")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tern-jax",
        description="Count the linear regions of ternary ReLU networks.",
    )
    parser.add_argument("--version", action="version", version=f"tern-jax {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        try:
            module = importlib.import_module(f".commands.{name}", __package__)
        except ModuleNotFoundError as e:
            if e.name != f"{__package__}.commands.{name}":
                raise
            continue  # a subcommand not installed in this build
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError) as e:
        # Bad input: one clear line, no traceback.
        print(f"tern-jax {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
