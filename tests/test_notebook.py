"""experiments/colab_quickstart.ipynb: its code cells run on CPU (small sizes), so it cannot rot."""

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOK = os.path.join(ROOT, "experiments", "colab_quickstart.ipynb")


def test_notebook_code_cells_run(tmp_path):
    with open(NOTEBOOK) as fh:
        nb = json.load(fh)
    assert nb["nbformat"] == 4
    code = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    assert len(code) >= 4
    script = tmp_path / "notebook.py"
    script.write_text("\n\n".join(code))
    env = dict(
        os.environ,
        TERN_JAX_DIR=ROOT,
        TERN_JAX_NOTEBOOK_SMOKE="1",
        TERN_JAX_NOTEBOOK_OUT=str(tmp_path / "out"),
        JAX_PLATFORMS="cpu",
    )
    proc = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert "closed form: linear regions on (0,1)^2 = 81" in out
    assert "81 linear regions on the unit square" in out
    assert "exported int8 codes all in {-1,0,1}: True" in out
    assert os.path.isfile(tmp_path / "out" / "construction.png")
    assert os.path.isfile(tmp_path / "out" / "study" / "report.md")
