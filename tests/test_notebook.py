"""experiments/colab_quickstart.ipynb: its code cells run on CPU (small sizes), so it cannot rot,
and its install works the way a fresh Colab runtime needs (a marked cell for the repository,
a non-editable install that the running kernel can import)."""

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOK = os.path.join(ROOT, "experiments", "colab_quickstart.ipynb")


def _code_cells() -> list[str]:
    with open(NOTEBOOK) as fh:
        nb = json.load(fh)
    assert nb["nbformat"] == 4
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]


def _run(cells: list[str], tmp_path, **env) -> subprocess.CompletedProcess:
    script = tmp_path / "notebook.py"
    script.write_text("\n\n".join(cells))
    return subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=dict(os.environ, JAX_PLATFORMS="cpu", **env),
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_install_cells_as_colab_needs_them():
    code = _code_cells()
    # the first code cell is the one the user edits, and it says so
    assert "EDIT THIS CELL" in code[0] and "REPO_URL = " in code[0] and "WHEEL = " in code[0]
    install = code[1]
    # an editable install is not importable in a running kernel: never use one
    assert "pip" in install and '"-e"' not in install and "-e " not in install
    assert "invalidate_caches" in install and "Restart session" in install
    # the runtime check: which backend JAX found
    assert "jax.default_backend()" in code[2] and "jax.devices()" in code[2]


def test_unset_repository_stops_with_a_message(tmp_path):
    # A fresh runtime with the placeholder URL: a clear request, no git error.
    empty = tmp_path / "nothing_here"
    proc = _run(_code_cells()[:2], tmp_path, TERN_JAX_DIR=str(empty))
    assert proc.returncode == 1
    assert "Set REPO_URL (or WHEEL) in the cell above" in proc.stderr
    assert "Traceback" not in proc.stderr and not empty.exists()


def test_notebook_code_cells_run(tmp_path):
    code = _code_cells()
    assert len(code) >= 6
    proc = _run(
        code,
        tmp_path,
        TERN_JAX_DIR=ROOT,
        TERN_JAX_NOTEBOOK_SMOKE="1",
        TERN_JAX_NOTEBOOK_OUT=str(tmp_path / "out"),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert "backend: cpu" in out
    assert "closed form: linear regions on (0,1)^2 = 81" in out
    assert "81 linear regions on the unit square" in out
    assert "exported int8 codes all in {-1,0,1}: True" in out
    assert os.path.isfile(tmp_path / "out" / "construction.png")
    assert os.path.isfile(tmp_path / "out" / "study" / "report.md")
