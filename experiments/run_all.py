"""Run the studies and assemble the report.

    python experiments/run_all.py --setting quick --out runs/demo        # what `make demo` runs
    python experiments/run_all.py --setting full --out runs/full         # on a GPU/TPU machine
    python experiments/run_all.py --only calibration --setting quick --out runs/x

Each study is one script beside this one (``STUDIES`` below) with a ``run(setting, out_dir)``
function returning a :class:`tern_jax.report.StudyResult`; each can also be run alone
(``python experiments/<study>.py --setting quick --out RUN_DIR``).

Progress: one status line per study as it starts and ends (with its findings), and on a
terminal one overall progress bar below them; in a log file or pipe, plain lines only.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time

from tqdm import tqdm

from tern_jax.report import write_report, write_study

HERE = os.path.dirname(os.path.abspath(__file__))
# Report order: claims first, then growth, trained models, estimator calibration.
STUDIES = (
    "constructions_vs_bounds",
    "growth_rates",
    "trained_vs_constructed",
    "calibration",
)


def load_study(name: str):
    if HERE not in sys.path:
        sys.path.insert(0, HERE)
    return importlib.import_module(name)


def status(message: str) -> None:
    """A status line on stdout, written above the progress bar when there is one."""
    tqdm.write(message, file=sys.stdout)
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--setting", choices=("smoke", "quick", "full"), default="quick")
    parser.add_argument("--out", default="runs/demo", help="run directory")
    parser.add_argument("--only", action="append", choices=STUDIES, help="run only these studies")
    args = parser.parse_args(argv)

    os.makedirs(args.out, exist_ok=True)
    names = args.only or list(STUDIES)
    t_all = time.perf_counter()
    # The bar goes to stderr and only on a terminal; status lines go to stdout above it.
    bar = tqdm(
        total=len(names),
        desc="studies",
        unit="study",
        file=sys.stderr,
        disable=not sys.stderr.isatty(),
        bar_format="{desc}: {n}/{total} |{bar}| {elapsed} elapsed",
    )
    with bar:
        for i, name in enumerate(names, 1):
            status(f"== [{i}/{len(names)}] {name} ({args.setting}): running")
            bar.set_description(f"studies ({name})")
            t0 = time.perf_counter()
            result = load_study(name).run(args.setting, os.path.join(args.out, name))
            result.seconds = time.perf_counter() - t0
            result.rank = STUDIES.index(name)
            write_study(result, args.out)
            for line in result.findings:
                status(f"   {line}")
            status(f"== [{i}/{len(names)}] {name}: done in {result.seconds:.1f} s")
            bar.update(1)
    path = write_report(args.out)
    print(
        f"report: {os.path.abspath(path)} (and report.html) "
        f"after {time.perf_counter() - t_all:.0f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
