"""docs/math.md: every "math.md N.M" reference resolves, and its count tables are true.

The references are collected from the package (including the text the CLI prints), the
README, TPU_SETUP.md, experiments/ and benchmarks/. The tables of math.md section 4 are
checked against the closed forms in the code and against the exact engines, so the page
cannot drift from what the code computes.
"""

from __future__ import annotations

import pathlib
import re

import pytest

import tern_jax as tj
from tern_jax import constructions as C

ROOT = pathlib.Path(__file__).resolve().parents[1]
MATH = ROOT / "docs" / "math.md"
SOURCES = [
    *sorted((ROOT / "tern_jax").rglob("*.py")),
    ROOT / "README.md",
    ROOT / "TPU_SETUP.md",
    *sorted(p for p in (ROOT / "experiments").rglob("*") if p.suffix in (".py", ".ipynb", ".yaml")),
    *sorted(p for p in (ROOT / "benchmarks").rglob("*") if p.suffix in (".py", ".md")),
]
NUMBER = r"\d+(?:\.\d+)?"
# "math.md 3.2", "math.md section 5", "math.md sections 2-4", "math.md, section 1"
REFERENCE = re.compile(rf"math\.md,?\s+(?:sections?\s+)?({NUMBER})(?:\s*-\s*({NUMBER}))?")


def _sections() -> set[str]:
    """Section numbers of the headings of math.md ("### 3.2 Ternary ..." -> "3.2")."""
    found = set()
    for line in MATH.read_text().splitlines():
        m = re.match(rf"#+\s+({NUMBER})\.?\s", line)
        if m:
            found.add(m.group(1))
    return found


def references(text: str) -> list[str]:
    """Every section number cited as "math.md ..." in ``text`` (both ends of a range)."""
    # A reference may be broken over lines, also inside '#' comments.
    flat = re.sub(r"\s*\n\s*(?:#+\s*)?", " ", text)
    out = []
    for m in REFERENCE.finditer(flat):
        out += [g for g in m.groups() if g]
    return out


def test_reference_pattern():
    text = 'x  # see math.md section\n    # 4, and "math.md 3.2-3.4"; math.md 1.\nmath.md Z_3'
    assert references(text) == ["4", "3.2", "3.4", "1"]


def test_math_md_has_the_cited_sections():
    sections = _sections()
    assert {"0", "1", "2", "3", "4", "5", "3.1", "3.2", "3.3", "3.4", "3.5"} <= sections
    missing = []
    for path in SOURCES:
        for ref in references(path.read_text()):
            if ref not in sections:
                missing.append(f"{path.relative_to(ROOT)}: math.md {ref}")
    assert not missing, "references to sections math.md lacks:\n" + "\n".join(missing)


def test_cli_construction_sections_exist():
    # `tern-jax construct` prints "(math.md <section>)" from each construction's record.
    sections = _sections()
    built = [
        C.ternary_alternating(1, [2]),
        C.ternary_all_relu(1, [2]),
        C.ternary_real_bias(1, [2], 2),
        C.montufar(1, [2]),
    ]
    for c in built:
        assert c.section in sections
        assert references(c.summary()) == [c.section]


def _table(heading_start: str) -> list[list[str]]:
    """Rows (cells as text) of the first Markdown table after a line starting with the text."""
    lines = MATH.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(heading_start))
    rows = []
    for line in lines[start:]:
        if line.startswith("|"):
            rows.append([c.strip() for c in line.strip("|").split("|")])
        elif rows:
            break
    return rows[2:]  # header and rule


def _value(text: str) -> int | None:
    return None if text == "—" else int(text)


COUNT_ROWS = _table("| construction | widths |")


@pytest.mark.parametrize("row", COUNT_ROWS, ids=[r[0] for r in COUNT_ROWS])
def test_count_table_matches_code_and_engines(row):
    call, widths, lin_cube, lin_all, act_cube, act_all = row
    c = eval("C." + call.strip("`"), {"C": C})  # the table names the call that builds it
    assert c.net.widths == tuple(int(w) for w in widths.split(","))
    stated = [_value(v) for v in (lin_cube, lin_all, act_cube, act_all)]
    closed = [
        c.regions_unit_cube,
        c.regions_total,
        c.activation_regions_unit_cube,
        c.activation_regions_total,
    ]
    assert stated == closed
    # the exact engines: the unit cube, and all of R^n0 (line engine for n0 = 1; n0 = 2: the
    # plane engine on a square holding every breakpoint, which lie in [0, 2] for these
    # networks; n0 >= 3: the n-D engine, over all of R^n0 by homogenisation)
    if c.net.input_dim == 1:
        cube = tj.exact_regions_1d(c.net, 0, 1)
        whole = tj.exact_regions_1d(c.net, None, None)
    elif c.net.input_dim == 2:
        cube = tj.exact_regions_2d(c.net, [0, 0], [1, 0], [0, 1], bounds=(0, 1, 0, 1))
        whole = tj.exact_regions_2d(c.net, [0, 0], [1, 0], [0, 1], bounds=(-16, 17, -16, 17))
    else:
        cube = tj.exact_regions(c.net, tj.Box(0, 1))
        whole = tj.exact_regions(c.net, None)
    assert [cube.linear_regions, cube.activation_regions] == [stated[0], stated[2]]
    if stated[1] is not None:
        assert [whole.linear_regions, whole.activation_regions] == [stated[1], stated[3]]


def test_formula_table_matches_bounds():
    b = tj.bounds
    rows = _table("| n0, n, L |")
    assert len(rows) == 4
    for row in rows:
        n0, n, depth = (int(v) for v in row[0].split(","))
        widths = [n] * depth
        p = n // n0
        assert [int(v) for v in row[1:]] == [
            b.montufar2014(n0, widths),
            b.serra2018_lower(n0, widths),
            b.serra2018_upper(n0, widths),
            b.ternary_alternating_counts(n0, [p] * depth).linear_unit_cube,
            b.ternary_real_bias_counts(n0, [p] * (depth - 1), p).linear_unit_cube,
        ]


def test_other_domain_counts_stated_in_math_md():
    # math.md section 4: counts on [-1, 1]^2 quoted for the trained-model comparison.
    text = MATH.read_text()
    assert "289 = 17^2" in text and "have 25 and 9" in text
    square = dict(bounds=(-1, 1, -1, 1))
    for c, expected in (
        (C.ternary_alternating(2, [4, 4]), 289),
        (C.ternary_all_relu(2, [4], form="cube"), 25),
        (C.ternary_all_relu(2, [2], form="cube"), 9),
    ):
        r = tj.exact_regions_2d(c.net, [0, 0], [1, 0], [0, 1], **square)
        assert r.linear_regions == r.activation_regions == expected
    cube_line = tj.exact_regions_1d(C.ternary_all_relu(1, [2, 2], form="cube").net, None, None)
    assert cube_line.linear_regions == 6
