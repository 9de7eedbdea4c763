"""The training layer's imports: core and engines only, never the app layer (design.md,
"Target layers"), and no function-local imports."""

from __future__ import annotations

import ast
import glob
import io
import os
import subprocess
import sys

from tern_jax.training.logs import Progress

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRAINING = [
    *sorted(glob.glob(os.path.join(ROOT, "tern_jax", "training", "*.py"))),
    *(
        os.path.join(ROOT, "tern_jax", f"{name}.py")
        for name in ("train", "models", "quantize", "checkpoint", "tasks", "fileio")
    ),
]
APP = ("cli", "commands", "report", "plots", "io")
# Optional or platform-specific modules, imported where they are used.
LOCAL_IMPORTS_ALLOWED = {("tasks.py", "sklearn.datasets")}


def _imports(path):
    tree = ast.parse(open(path).read())
    top = {id(n) for n in tree.body} | {
        id(n) for t in tree.body if isinstance(t, ast.Try) for n in t.body + t.handlers
    }
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            if isinstance(node, ast.ImportFrom):
                base = "." * node.level + (node.module or "")
                names = [base] if node.module else [f"{base}{a.name}" for a in node.names]
            else:
                names = [a.name for a in node.names]
            yield node, names, id(node) in top


def test_training_layer_imports_no_app_module_and_nothing_locally():
    for path in TRAINING:
        rel = os.path.relpath(path, os.path.join(ROOT, "tern_jax"))
        for node, names, at_top in _imports(path):
            for name in names:
                parts = name.lstrip(".").split(".")
                upward = name.startswith("..") or (
                    name.startswith(".") and not rel.startswith("training")
                )
                if upward or name.startswith("tern_jax"):
                    first = parts[1] if name.startswith("tern_jax") else parts[0]
                    assert first not in APP, f"{rel}:{node.lineno} imports {name}"
                assert name != "tern_jax", f"{rel}:{node.lineno} imports the package itself"
                if not at_top:
                    assert (os.path.basename(rel), name) in LOCAL_IMPORTS_ALLOWED, (
                        f"{rel}:{node.lineno}: function-local import of {name}"
                    )


def test_importing_the_training_stack_loads_no_app_module():
    code = (
        "import sys, tern_jax.train, tern_jax.checkpoint\n"
        "app = ('cli', 'commands', 'report', 'plots', 'io')\n"
        "print(','.join(m for m in sys.modules if m.split('.')[1:2] and "
        "m.split('.')[0] == 'tern_jax' and m.split('.')[1] in app))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_is_a_bar_on_a_terminal_and_lines_elsewhere():
    tty, log = _Terminal(), io.StringIO()
    bar, lines = Progress("ternary", 4, 0, stream=tty), Progress("ternary", 4, 0, stream=log)
    assert (bar.mode, lines.mode) == ("bar", "lines")
    for p in (bar, lines):
        p.update(2)
        p.log(2, 0.5)
        p.close()
    assert "\r" in tty.getvalue()
    assert log.getvalue().startswith("[ternary] step 2/4 (50%)  train loss 0.5")
    assert Progress("ternary", 4, 0, mode="off", stream=log).mode == "off"
