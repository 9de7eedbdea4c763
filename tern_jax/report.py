"""Study results and the report assembled from them.

A study (one script in ``experiments/``) writes its figures and a :class:`StudyResult` into
``RUN_DIR/<study name>/``: ``study.json`` plus one CSV per table. :func:`write_report` reads
every study of a run directory and writes ``report.md`` and ``report.html`` beside them, with
the tables inline and the PNG figures embedded (relative links).
"""

from __future__ import annotations

import csv
import dataclasses
import html
import json
import os
import re
from dataclasses import dataclass, field
from typing import Any

from .errors import DamagedFile, InvalidInput, MissingFile
from .records import package_version, to_jsonable

STUDY_FILE = "study.json"


@dataclass
class Table:
    """A table of a study: ``rows`` are lists aligned with ``columns``."""

    name: str
    caption: str
    columns: list[str]
    rows: list[list[Any]]

    def __post_init__(self):
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", self.name):
            raise InvalidInput(f"table name {self.name!r} must be a plain file name")
        for i, row in enumerate(self.rows):
            if len(row) != len(self.columns):
                raise InvalidInput(
                    f"table {self.name!r}: row {i} has {len(row)} cells for "
                    f"{len(self.columns)} columns"
                )


@dataclass
class Figure:
    """A PNG figure of a study, ``path`` relative to the study's directory."""

    path: str
    caption: str


@dataclass
class StudyResult:
    """What one study contributes to the report."""

    name: str
    title: str
    setting: str
    summary: str
    tables: list[Table] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    rank: int = 100  # position in the report (then by name)
    version: str = field(default_factory=package_version)


def _cell(v: Any) -> str:
    if isinstance(v, float):
        if v != v:
            return "n/a"
        if v == int(v) and abs(v) < 1e15:
            return str(int(v))
        return f"{v:.4g}"
    if v is None:
        return "—"
    return str(v)


def write_study(result: StudyResult, run_dir: str | os.PathLike) -> str:
    """Write ``study.json`` and the tables' CSV files into ``run_dir/<name>/``; returns it."""
    d = os.path.join(os.fspath(run_dir), result.name)
    os.makedirs(d, exist_ok=True)
    for fig in result.figures:
        if not os.path.isfile(os.path.join(d, fig.path)):
            raise InvalidInput(f"study {result.name!r}: figure {fig.path!r} was not written")
    for t in result.tables:
        with open(os.path.join(d, f"{t.name}.csv"), "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(t.columns)
            w.writerows(to_jsonable(t.rows))
    with open(os.path.join(d, STUDY_FILE), "w") as fh:
        json.dump(to_jsonable(result), fh, indent=1, sort_keys=True)
    return d


def load_study(study_dir: str | os.PathLike) -> StudyResult:
    path = os.path.join(os.fspath(study_dir), STUDY_FILE)
    try:
        with open(path) as fh:
            raw = json.load(fh)
        raw["tables"] = [Table(**t) for t in raw.get("tables", [])]
        raw["figures"] = [Figure(**f) for f in raw.get("figures", [])]
        names = {f.name for f in dataclasses.fields(StudyResult)}
        return StudyResult(**{k: v for k, v in raw.items() if k in names})
    except (OSError, json.JSONDecodeError, TypeError, KeyError) as e:
        raise DamagedFile(f"{path!r} is not a readable study record ({e})") from e


def load_studies(run_dir: str | os.PathLike) -> list[StudyResult]:
    """Every study under ``run_dir``, ordered by rank, then by name."""
    run_dir = os.fspath(run_dir)
    if not os.path.isdir(run_dir):
        raise MissingFile(f"no run directory at {run_dir!r}")
    studies = []
    for name in sorted(os.listdir(run_dir)):
        if os.path.isfile(os.path.join(run_dir, name, STUDY_FILE)):
            studies.append(load_study(os.path.join(run_dir, name)))
    if not studies:
        raise InvalidInput(f"{run_dir!r} holds no study results (no */{STUDY_FILE})")
    return sorted(studies, key=lambda s: (s.rank, s.name))


def render_markdown(studies: list[StudyResult], title: str = "tern_jax report") -> str:
    out = [f"# {title}", ""]
    out.append(
        "Counts are labelled by kind (activation regions = distinct activation patterns; "
        "linear regions = maximal connected pieces where the output is affine), by domain, and "
        "by method (exact = line/plane engines or closed form; sampled = distinct patterns "
        "among N samples; estimated = Chao1 from the sample's frequency table). The ternary "
        "networks called constructions follow the claims of arXiv 2507.16079 (whose own weight "
        "matrices were not available); they are not the paper's theorems."
    )
    out.append("")
    out.append("Contents: " + ", ".join(f"[{s.title}](#{_anchor(s.title)})" for s in studies))
    out.append("")
    for s in studies:
        out += [
            f"## {s.title}",
            "",
            f"*Setting: {s.setting}; {s.seconds:.1f} s; tern_jax {s.version}.*",
            "",
        ]
        out += [s.summary.strip(), ""]
        if s.findings:
            out += ["**Findings**", ""] + [f"- {f}" for f in s.findings] + [""]
        for t in s.tables:
            out += [f"**{t.caption}** (`{s.name}/{t.name}.csv`)", ""]
            out.append("| " + " | ".join(t.columns) + " |")
            out.append("|" + "|".join("---" for _ in t.columns) + "|")
            for row in t.rows:
                out.append("| " + " | ".join(_cell(v) for v in row) + " |")
            out.append("")
        for f in s.figures:
            out += [f"![{f.caption}]({s.name}/{f.path})", "", f"*{f.caption}*", ""]
    return "\n".join(out)


def _anchor(title: str) -> str:
    return re.sub(r"[^a-z0-9 -]", "", title.lower()).replace(" ", "-")


def render_html(studies: list[StudyResult], title: str = "tern_jax report") -> str:
    e = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{e(title)}</title>",
        "<style>body{font-family:sans-serif;max-width:70em;margin:auto;padding:1em}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;"
        "padding:2px 6px;text-align:right}img{max-width:100%}</style></head><body>",
        f"<h1>{e(title)}</h1>",
    ]
    for s in studies:
        parts.append(
            f"<h2>{e(s.title)}</h2><p><i>Setting: {e(s.setting)}; {s.seconds:.1f} s</i></p>"
        )
        parts += [f"<p>{e(p)}</p>" for p in s.summary.strip().split("\n\n")]
        if s.findings:
            parts.append("<ul>" + "".join(f"<li>{e(f)}</li>" for f in s.findings) + "</ul>")
        for t in s.tables:
            head = "".join(f"<th>{e(c)}</th>" for c in t.columns)
            body = "".join(
                "<tr>" + "".join(f"<td>{e(_cell(v))}</td>" for v in row) + "</tr>" for row in t.rows
            )
            parts.append(f"<p><b>{e(t.caption)}</b></p><table><tr>{head}</tr>{body}</table>")
        for f in s.figures:
            parts.append(
                f"<figure><img src='{e(s.name)}/{e(f.path)}' alt='{e(f.caption)}'>"
                f"<figcaption>{e(f.caption)}</figcaption></figure>"
            )
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(run_dir: str | os.PathLike, title: str = "tern_jax report") -> str:
    """Assemble ``report.md`` (and ``report.html``) from the studies in ``run_dir``."""
    run_dir = os.fspath(run_dir)
    studies = load_studies(run_dir)
    path = os.path.join(run_dir, "report.md")
    with open(path, "w") as fh:
        fh.write(render_markdown(studies, title))
    with open(os.path.join(run_dir, "report.html"), "w") as fh:
        fh.write(render_html(studies, title))
    return path
