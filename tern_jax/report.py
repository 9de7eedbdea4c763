"""Study results and the report assembled from them.

A study (one script in ``experiments/``) writes its figures and a :class:`StudyResult` into
``RUN_DIR/<study name>/``: ``study.json`` plus one CSV per table. :func:`write_report` reads
every study of a run directory and writes ``report.md`` and ``report.html`` beside them, with
the tables inline and the PNG figures embedded (relative links).

There is one renderer: the report is written as Markdown, and the HTML is that Markdown
rendered by markdown-it-py, so both carry the same preamble (what exact / sampled /
estimated mean), disclaimer, contents, version stamp, CSV links, tables and figures.
"""

from __future__ import annotations

import csv
import dataclasses
import html
import io
import json
import os
import re
from dataclasses import dataclass, field
from typing import Any

from markdown_it import MarkdownIt

from .errors import DamagedFile, InvalidInput, MissingFile
from .fileio import atomic_write_text
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
        buf = io.StringIO(newline="")
        w = csv.writer(buf)
        w.writerow(t.columns)
        w.writerows(to_jsonable(t.rows))
        atomic_write_text(os.path.join(d, f"{t.name}.csv"), buf.getvalue())
    text = json.dumps(to_jsonable(result), indent=1, sort_keys=True)
    atomic_write_text(os.path.join(d, STUDY_FILE), text)
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


PREAMBLE = (
    "Counts are labelled by kind (activation regions = distinct activation patterns; "
    "linear regions = maximal connected pieces where the output is affine), by domain, and "
    "by method: exact = the line, plane or n-dimensional engines or a proven closed form; "
    "sampled = distinct patterns among N samples (a lower bound on the activation regions "
    "with positive mass on the domain); estimated = the volume estimator (an unbiased "
    "estimate with an interval, tern-jax estimate) or Chao1 and Good-Toulmin from the "
    "sample's frequency table (lower-bound-type estimates whose intervals promise no "
    "coverage). The maths behind every count is in docs/math.md of the tern_jax repository."
)
DISCLAIMER = (
    "The ternary networks called constructions follow the claims of arXiv 2507.16079 as "
    "stated in its abstract; the paper's own theorem statements and weight matrices were not "
    "available, so they are not the paper's theorems and their counts are not its bounds."
)
# Characters that Markdown would read as markup inside plain text.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")


def _md_text(text: Any) -> str:
    """Plain text made literal in Markdown (and so in the HTML rendered from it)."""
    return _MD_SPECIAL.sub(r"\\\1", str(text))


def _anchor(title: str) -> str:
    """GitHub's heading anchor: lower case, punctuation but - and _ dropped, spaces to -."""
    return re.sub(r"[^a-z0-9 _-]", "", title.lower()).replace(" ", "-")


def render_markdown(studies: list[StudyResult], title: str = "tern_jax report") -> str:
    """The report as Markdown: preamble, disclaimer, contents, then each study's setting and
    version, summary, findings, tables (with links to their CSV files) and figures."""
    versions = sorted({s.version for s in studies})
    out = [f"# {_md_text(title)}", ""]
    out += [f"*Generated by tern_jax {_md_text(', '.join(versions))}.*", ""]
    out += [_md_text(PREAMBLE), "", _md_text(DISCLAIMER), ""]
    out += ["**Contents**", ""]
    out += [f"- [{_md_text(s.title)}](#{_anchor(s.title)})" for s in studies] + [""]
    for s in studies:
        out += [
            f"## {_md_text(s.title)}",
            "",
            f"*Setting: {_md_text(s.setting)}; {s.seconds:.1f} s; tern_jax {_md_text(s.version)}.*",
            "",
        ]
        out += [_md_text(p.strip()) + "\n" for p in s.summary.strip().split("\n\n")]
        if s.findings:
            out += ["**Findings**", ""] + [f"- {_md_text(f)}" for f in s.findings] + [""]
        for t in s.tables:
            csv_path = f"{s.name}/{t.name}.csv"
            out += [f"**{_md_text(t.caption)}** ([`{csv_path}`]({csv_path}))", ""]
            out.append("| " + " | ".join(_md_text(c) for c in t.columns) + " |")
            out.append("|" + "|".join("---" for _ in t.columns) + "|")
            for row in t.rows:
                out.append("| " + " | ".join(_md_text(_cell(v)) for v in row) + " |")
            out.append("")
        for f in s.figures:
            caption = _md_text(f.caption)
            out += [f"![{caption}]({s.name}/{f.path})", "", f"*{caption}*", ""]
    return "\n".join(out)


_STYLE = (
    "body{font-family:sans-serif;max-width:70em;margin:auto;padding:1em}"
    "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;"
    "padding:2px 6px;text-align:right}img{max-width:100%}"
)


def markdown_to_html(text: str, title: str = "tern_jax report") -> str:
    """A standalone HTML page rendered from Markdown by markdown-it-py (CommonMark with
    tables; raw HTML in the text is escaped, never passed through). Headings get the ids
    GitHub gives them, so the contents links work in both renderings."""
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    tokens = md.parse(text)
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open" and i + 1 < len(tokens):
            tok.attrSet("id", _anchor(tokens[i + 1].content.replace("\\", "")))
    body = md.renderer.render(tokens, md.options, {})
    return (
        "<!doctype html>\n<html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>\n"
        f"<body>\n{body}</body></html>\n"
    )


def render_html(studies: list[StudyResult], title: str = "tern_jax report") -> str:
    """The report as HTML: the Markdown report, rendered (one renderer for both)."""
    return markdown_to_html(render_markdown(studies, title), title)


def write_report(run_dir: str | os.PathLike, title: str = "tern_jax report") -> str:
    """Assemble ``report.md`` (and ``report.html``) from the studies in ``run_dir``."""
    run_dir = os.fspath(run_dir)
    studies = load_studies(run_dir)
    path = os.path.join(run_dir, "report.md")
    atomic_write_text(path, render_markdown(studies, title))
    atomic_write_text(os.path.join(run_dir, "report.html"), render_html(studies, title))
    return path
