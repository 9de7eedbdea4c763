"""Small helpers shared by the study scripts (argument handling, figure saving)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def save(fig, out_dir: str, name: str) -> str:
    """Save a matplotlib figure as PNG into ``out_dir``; returns the file name."""
    os.makedirs(out_dir, exist_ok=True)
    fig.tight_layout()
    fig.savefig(os.path.join(out_dir, name), dpi=110)
    plt.close(fig)
    return name


def study_main(run: Callable, name: str, doc: str | None, argv: list[str] | None = None) -> int:
    """The command line of a single study script: run it and write its record and report."""
    from tern_jax.report import write_report, write_study

    parser = argparse.ArgumentParser(description=doc)
    parser.add_argument("--setting", choices=("smoke", "quick", "full"), default="quick")
    parser.add_argument("--out", default="runs/study", help="run directory")
    args = parser.parse_args(argv)
    result = run(args.setting, os.path.join(args.out, name))
    write_study(result, args.out)
    print(f"wrote {write_report(args.out)}")
    return 0
