"""``tern-jax report RUN_DIR``: assemble report.md / report.html from a run's studies."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "report",
        help="assemble report.md and report.html from the studies in a run directory",
        description="Read RUN_DIR/*/study.json (written by the scripts in experiments/) and "
        "write RUN_DIR/report.md and RUN_DIR/report.html with tables and embedded plots.",
    )
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--title", default="tern_jax report")
    p.add_argument("--json", action="store_true", help="print {report, html, studies} as JSON")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    import os

    from ..report import load_studies, write_report
    from .common import emit_json

    path = write_report(args.run_dir, title=args.title)
    studies = [s.name for s in load_studies(args.run_dir)]
    html_path = os.path.join(args.run_dir, "report.html")
    if args.json:
        emit_json({"report": path, "html": html_path, "studies": studies})
    else:
        print(f"wrote {path} and {html_path} ({len(studies)} studies: {', '.join(studies)})")
    return 0
