"""The studies in experiments/ run end to end (tiny "smoke" settings), agree with math.md, and
every number their findings print comes from their own tables."""

import csv
import math
import os
import re
import subprocess
import sys

import pytest

from tern_jax.report import StudyResult, Table, load_study

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "experiments"))


def _rows(path):
    with open(path) as fh:
        return list(csv.DictReader(fh))


# -- findings against tables -------------------------------------------------------------------
# A number in prose: 1,000,000 | 0.667 | 66% | 2.78e-06. Digits inside names (n0, x1, f_1) and
# section references ("math.md 3.4") are not numbers of the finding.
_NUMBER = re.compile(
    r"(?<![A-Za-z_\d.])(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?(?:e[+-]?\d+)?)(%?)"
)


def prose_numbers(text: str) -> list[tuple[str, bool]]:
    """(number as printed, is a percentage) for every number in ``text``."""
    text = re.sub(r"math\.md,?\s+(?:sections?\s+)?[\d.]+(?:-[\d.]+)?", "", text)
    return [(m.group(1).replace(",", ""), bool(m.group(2))) for m in _NUMBER.finditer(text)]


def _table_values(study: StudyResult) -> list[float]:
    """Every number the study's tables hold: cells, numbers inside text cells, captions and
    column names (which state domains and N), and the setting."""
    values = []
    texts = [study.setting]
    for t in study.tables:
        texts += [t.caption, *t.columns]
        for row in t.rows:
            for v in row:
                if isinstance(v, bool) or v is None:
                    continue
                if isinstance(v, (int, float)):
                    values.append(float(v))
                else:
                    texts.append(str(v))
    for text in texts:
        values += [float(n) for n, _ in prose_numbers(text)]
    return values


def _shown_as(value: float, printed: str, percent: bool) -> bool:
    """Would ``value`` print as ``printed`` (same rounding; percentages times 100)?"""
    v = abs(value) * (100 if percent else 1)
    if "e" in printed:
        mantissa = printed.split("e")[0]
        digits = len(mantissa.replace(".", "")) - 1
        return f"{v:.{digits}e}" == f"{float(printed):.{digits}e}"
    decimals = len(printed.split(".")[1]) if "." in printed else 0
    if decimals == 0 and not float(v).is_integer() and not percent:
        return False  # an integer in prose must be an integer in the table
    return math.isclose(round(v, decimals), float(printed), abs_tol=1e-9)


def unbacked_numbers(study: StudyResult) -> list[str]:
    """Numbers printed in the findings that no table of the study holds."""
    values = _table_values(study)
    missing = []
    for finding in study.findings:
        for printed, percent in prose_numbers(finding):
            if not any(_shown_as(v, printed, percent) for v in values):
                missing.append(f"{printed}{'%' if percent else ''} in: {finding}")
    return missing


def test_prose_numbers_and_the_check():
    assert prose_numbers("n0=2, 1,000,000 samples: 66% (x1 math.md 3.4) 2.78e-06 and 0.667") == [
        ("2", False),
        ("1000000", False),
        ("66", True),
        ("2.78e-06", False),
        ("0.667", False),
    ]
    table = Table("t", "N = 1,000 samples", ["ratio", "share"], [[2 / 3, 0.5]])
    ok = StudyResult("s", "S", "smoke", "", tables=[table], findings=["0.667 and 50% of 1,000"])
    assert unbacked_numbers(ok) == []
    ok.findings.append("a ratio of 0.668, and 3 rows")
    assert unbacked_numbers(ok) == [
        "0.668 in: a ratio of 0.668, and 3 rows",
        "3 in: a ratio of 0.668, and 3 rows",
    ]


# -- the studies ---------------------------------------------------------------------------------


def test_run_all_smoke_writes_report(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.run(
        [
            sys.executable,
            os.path.join(ROOT, "experiments", "run_all.py"),
            "--setting",
            "smoke",
            "--out",
            str(out),
            "--only",
            "growth_rates",
            "--only",
            "constructions_vs_bounds",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    # not a terminal: plain status lines, no progress bar
    assert "== [1/2] growth_rates (smoke): running" in proc.stdout
    assert "== [2/2] constructions_vs_bounds: done in" in proc.stdout
    assert "report:" in proc.stdout and "|" not in proc.stderr
    md = (out / "report.md").read_text()
    assert "## Polynomial in width, exponential in depth" in md
    assert "## Constructions vs bounds" in md
    assert (out / "growth_rates" / "growth.png").stat().st_size > 1000
    assert (out / "constructions_vs_bounds" / "claims.png").stat().st_size > 1000
    # math.md section 4: 3.2 with p repeated k times has p^k linear regions on (0, 1)
    for r in _rows(out / "growth_rates" / "constructions.csv"):
        if r["network"] == "3.2 n0=1":
            assert int(r["linear regions"]) == int(r["p"]) ** int(r["blocks K"])
    claims = _rows(out / "constructions_vs_bounds" / "claims.csv")
    # every measured count equals the closed form of the same kind
    for r in claims:
        assert r["measured linear"] == r["closed-form linear"]
        assert r["measured activation"] == r["closed-form activation"]
        # n0 = 3 and 4 are exact too (n-D engine), never sampled
        assert r["method"].startswith("exact"), r["method"]
    # n0=1, widths [2,2]: Montufar 2014 bound = 2 * (1 + 2) = 6
    assert any(r["general widths"] == "2,2" and r["Montufar 2014"] == "6" for r in claims)
    for name in ("growth_rates", "constructions_vs_bounds"):
        study = load_study(out / name)
        assert study.findings and unbacked_numbers(study) == []
    assert {r["n0"] for r in claims} == {"1", "2", "3", "4"}
    assert not any(re.search(r"(\d[\d.]*)-\1\b", f) for f in study.findings)  # "0.667-0.667"


def test_calibration_smoke(tmp_path):
    import calibration

    res = calibration.run("smoke", str(tmp_path))
    table = next(t for t in res.tables if t.name == "calibration")
    col = table.columns.index
    for r in table.rows:
        # sampling never exceeds the exact activation count
        assert r[col("sampled distinct")] <= r[col("exact")]
    # the 3.2 construction with p=[3,2] has (3*2)^2 = 36 regions on the unit square
    assert table.rows[0][col("exact")] == 36
    assert os.path.isfile(tmp_path / "calibration.png")
    assert unbacked_numbers(res) == []


@pytest.mark.slow
def test_constructions_vs_bounds_quick_claims_figure_data(tmp_path):
    """The quick setting (what `make demo` runs): the README's reading of the main plot."""
    import constructions_vs_bounds as study

    res = study.run("quick", str(tmp_path))
    assert unbacked_numbers(res) == []


def test_trained_vs_constructed_smoke(tmp_path):
    import trained_vs_constructed as study

    res = study.run("smoke", str(tmp_path))
    table = res.tables[0]
    col = {c.split(" (N =")[0]: i for i, c in enumerate(table.columns)}
    assert any(c.startswith("sampled activation (N = ") for c in table.columns)
    rows = table.rows
    assert {r[col["when"]] for r in rows} == {"init", "trained"}
    for r in rows:
        assert r[col["linear (exact)"]] <= r[col["activation (exact)"]]  # both exact
        assert r[col["linear (exact)"]] <= r[col["upper bound R^2"]]
        # the construction is counted on the models' own square [-1, 1]^2 (4 blocks of
        # ternary_alternating(2, [2, 2]) widths: 5^2 = 25 linear regions there)
        assert r[col["construction linear (exact)"]] == 25
    assert os.path.isfile(tmp_path / "regions_vs_step.png")
    assert unbacked_numbers(res) == []
