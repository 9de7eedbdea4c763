import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest

from tern_jax.cli import main
from tern_jax.report import Figure, StudyResult, Table, load_studies, write_report, write_study


def _study(tmp_path, name="s1"):
    d = tmp_path / name
    d.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    fig.savefig(d / "line.png")
    plt.close(fig)
    return StudyResult(
        name=name,
        title=f"Study {name}",
        setting="quick",
        summary="A summary.\n\nSecond paragraph.",
        tables=[
            Table(
                "counts",
                "Linear regions, exact, unit interval",
                ["p", "regions"],
                [[2, 2], [3, 3.0]],
            )
        ],
        figures=[Figure("line.png", "a line")],
        findings=["p pieces per block"],
        seconds=1.5,
    )


def test_write_and_render(tmp_path):
    write_study(_study(tmp_path, "a"), tmp_path)
    write_study(_study(tmp_path, "b"), tmp_path)
    assert (tmp_path / "a" / "counts.csv").read_text().splitlines() == ["p,regions", "2,2", "3,3.0"]
    path = write_report(tmp_path)
    md = open(path).read()
    assert "## Study a" in md and "## Study b" in md
    assert "| 3 | 3 |" in md  # 3.0 rendered as an integer
    assert "![a line](a/line.png)" in md
    html = (tmp_path / "report.html").read_text()
    assert "<img src='b/line.png'" in html
    assert [s.name for s in load_studies(tmp_path)] == ["a", "b"]


def test_bad_inputs(tmp_path):
    with pytest.raises(ValueError, match="row 0"):
        Table("t", "c", ["a", "b"], [[1]])
    with pytest.raises(ValueError, match="plain file name"):
        Table("../x", "c", ["a"], [[1]])
    s = _study(tmp_path)
    s.figures.append(Figure("missing.png", "nope"))
    with pytest.raises(ValueError, match=r"missing\.png"):
        write_study(s, tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="no study results"):
        load_studies(empty)
    (empty / "x").mkdir()
    (empty / "x" / "study.json").write_text("{broken")
    with pytest.raises(ValueError, match="not a readable study record"):
        load_studies(empty)


def test_cli_report(tmp_path, capsys):
    write_study(_study(tmp_path), tmp_path)
    assert main(["report", str(tmp_path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["studies"] == ["s1"]
    assert main(["report", str(tmp_path / "nothing")]) == 2
    assert "no run directory" in capsys.readouterr().err
