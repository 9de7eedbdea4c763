"""Small helpers shared by the study scripts (argument handling, figure saving, status lines)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.ticker import (
    FixedLocator,
    FuncFormatter,
    LogLocator,
    NullFormatter,
    ScalarFormatter,
)
from tqdm import tqdm

from tern_jax.plots import save_figure
from tern_jax.report import write_report, write_study

__all__ = ["log_ticks", "plt", "save", "status", "study_main"]


def save(fig, out_dir: str, name: str, rect=(0, 0, 1, 1)) -> str:
    """Save a matplotlib figure as PNG into ``out_dir``; returns the file name. ``rect``: the
    part of the figure the axes may fill (leave room for a figure legend)."""
    fig.tight_layout(rect=rect)
    save_figure(fig, os.path.join(out_dir, name), dpi=110)
    return name


def log_ticks(axis, values=None) -> None:
    """Label a log axis with plain numbers, at ``values`` or else at 1, 2, 5 times powers of
    10: the default minor labels of a log axis spanning about a decade ("2x10^0", "3x10^0",
    ...) overlap."""
    if values is None:
        axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    else:
        axis.set_major_locator(FixedLocator(sorted(set(values))))
        axis.set_major_formatter(ScalarFormatter())
    axis.set_minor_formatter(NullFormatter())


def status(message: str) -> None:
    """One status line for long work; written above a progress bar when one is shown."""
    tqdm.write(message)


def study_main(run: Callable, name: str, doc: str | None, argv: list[str] | None = None) -> int:
    """The command line of a single study script: run it and write its record and report."""
    parser = argparse.ArgumentParser(description=doc)
    parser.add_argument("--setting", choices=("smoke", "quick", "full"), default="quick")
    parser.add_argument("--out", default="runs/study", help="run directory")
    args = parser.parse_args(argv)
    result = run(args.setting, os.path.join(args.out, name))
    write_study(result, args.out)
    print(f"wrote {write_report(args.out)}")
    return 0
