"""The studies in experiments/ run end to end (tiny "smoke" settings) and agree with math.md."""

import csv
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "experiments"))


def _rows(path):
    with open(path) as fh:
        return list(csv.DictReader(fh))


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
    assert "report:" in proc.stdout
    md = (out / "report.md").read_text()
    assert "## Polynomial in width, exponential in depth" in md
    assert "## Constructions vs bounds" in md
    assert (out / "growth_rates" / "growth.png").stat().st_size > 1000
    assert (out / "constructions_vs_bounds" / "claims.png").stat().st_size > 1000
    # math.md section 4: 3.2 with p repeated k times has p^k linear regions on (0, 1)
    for r in _rows(out / "growth_rates" / "constructions.csv"):
        if r["network"] == "3.2 n0=1":
            k = int(r["hidden layers"]) // 2
            assert int(r["linear regions"]) == int(r["p"]) ** k
    claims = _rows(out / "constructions_vs_bounds" / "claims.csv")
    # every measured count equals the closed form (linear where exact, activation otherwise)
    for r in claims:
        if r["linear"]:
            assert r["linear"] == r["claimed linear"]
    # n0=1, widths [2,2]: Montufar 2014 bound = 2 * (1 + 2) = 6
    assert any(r["general widths"] == "2,2" and r["Montufar 2014"] == "6" for r in claims)


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


def test_trained_vs_constructed_smoke(tmp_path):
    import trained_vs_constructed as study

    res = study.run("smoke", str(tmp_path))
    rows = res.tables[0].rows
    assert {r[1] for r in rows} == {"init", "trained"}
    for r in rows:
        assert r[5] <= r[4]  # linear <= activation regions, both exact
        assert r[5] <= r[8]  # below the upper bound
    assert os.path.isfile(tmp_path / "regions_vs_step.png")
