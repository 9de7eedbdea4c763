"""README.md and TPU_SETUP.md run as printed.

Every fenced code block is run in order from a fresh temporary directory, as a reader would
type it after a fresh clone:

- ```python blocks are executed; a top-level expression followed by a comment that starts
  with a literal (``c.regions_unit_cube   # 81: exact linear regions``) must evaluate to that
  literal (checked for plain data: numbers, booleans, strings, tuples, lists);
- shell blocks: every ``tern-jax ...`` / ``python ...`` line is run by bash (``make`` lines
  are what this suite is run by, and are not run again here);
- a block right after ``<!-- output-of: COMMAND -->`` is output: COMMAND is run and every
  shown line (``...`` marks lines left out) must appear in its output, spaces aside;
- a block right after ``<!-- no-run: reason -->`` is skipped (hardware it needs, Colab shell
  syntax, ...). Keep these rare and give the reason.

What differs from a reader's run, and why (nothing else is changed):

- SUBSTITUTIONS shorten sample counts, training steps and study settings, so the whole file
  runs in a couple of minutes on two cores; the commands and code are otherwise as printed.
- FIXTURES are files the text assumes the reader has: a data set for ``points:train.npy``.
- The temporary directory links the repository's ``experiments/`` (config files and study
  scripts are referred to by their path in a clone).
- Blocks that train models or run studies are marked slow (``--runslow``); a reader's
  ``runs/demo`` from ``make demo`` is then made by the smoke setting of ``run_all.py``.
"""

from __future__ import annotations

import ast
import io
import numbers
import os
import re
import subprocess
import sys
import tokenize
from dataclasses import dataclass

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)

SUBSTITUTIONS = [
    # (pattern, replacement): fewer samples; the counts claimed stay the same
    (r"\b10_000_000\b", "100_000"),
    (r"\b1_000_000\b", "100_000"),
    (r"--samples 10000000\b", "--samples 100000"),
    (r"--samples 1000000\b", "--samples 100000"),
    (r"--samples 100000\b(?=.*runs/quick/checkpoints)", "--samples 20000"),
    (r"--samples 1e7\b", "--samples 1e5"),
    (r"-n 1e6\b", "-n 1e5"),
    (r"-n 1e9\b", "-n 1e5"),
    (r"\b10\*\*7\b", "10**5"),
    # short training runs and the studies' seconds-long setting
    (
        r"(tern-jax train \S+ --out \S+.*?)(\s*#.*)?$",
        r"\1 --set steps=60 --set checkpoint_every=30 --set count_every=30 "
        r"--set count_samples=2000",
    ),
    (r"--setting (quick|full)\b", "--setting smoke"),
]
HEAVY = re.compile(r"tern-jax train|run_all\.py|experiments/\w+\.py")


def _fixtures(directory: str) -> None:
    np.save(os.path.join(directory, "train.npy"), np.random.default_rng(0).uniform(-1, 1, (200, 2)))
    os.symlink(os.path.join(ROOT, "experiments"), os.path.join(directory, "experiments"))


@dataclass
class Block:
    path: str
    line: int
    lang: str
    code: str
    marker: str  # the HTML comment right before the block ("" if none)

    @property
    def name(self) -> str:
        return f"{os.path.basename(self.path)}:{self.line}"

    @property
    def heavy(self) -> bool:
        return bool(HEAVY.search(self.code))


def blocks(path: str) -> list[Block]:
    """The fenced code blocks of a Markdown file, with the comment marker before each."""
    lines = open(path).read().splitlines()
    out, i = [], 0
    while i < len(lines):
        m = re.match(r"^```(\w*)\s*$", lines[i])
        if not m:
            i += 1
            continue
        start = i
        i += 1
        while not lines[i].startswith("```"):
            i += 1
        before = next((lines[j] for j in range(start - 1, -1, -1) if lines[j].strip()), "")
        marker = before.strip() if before.strip().startswith("<!--") else ""
        out.append(Block(path, start + 1, m.group(1), "\n".join(lines[start + 1 : i]), marker))
        i += 1
    return out


def substitute(text: str) -> str:
    lines = []
    for line in text.splitlines():
        for pattern, replacement in SUBSTITUTIONS:
            line = re.sub(pattern, replacement, line)
        lines.append(line)
    return "\n".join(lines)


# -- claims in comments ------------------------------------------------------------------------


def claimed_literal(comment: str):
    """The literal a comment starts with (``81: exact ...`` -> 81), or None."""
    text = comment.lstrip("#").strip()
    cuts = [len(text)] + [
        m.start() for m in re.finditer(r":|  | \(|, (?=[a-z])|; ", text) if m.start() > 0
    ]
    for end in sorted(set(cuts), reverse=True):
        try:
            return (ast.literal_eval(text[:end].strip().rstrip(",")),)
        except (ValueError, SyntaxError):
            continue
    return None


def _plain(value) -> bool:
    if isinstance(value, (bool, str, numbers.Number, np.generic)):
        return True
    if isinstance(value, (tuple, list)):
        return all(_plain(v) for v in value)
    return False


def run_python(block: Block, namespace: dict) -> None:
    code = substitute(block.code)
    comments = {}
    for tok in tokenize.generate_tokens(io.StringIO(code).readline):
        if tok.type == tokenize.COMMENT:
            comments[tok.start[0]] = tok.string
    tree = ast.parse(code)
    for stmt in tree.body:
        compiled = compile(ast.Module([stmt], []), f"{block.name}+{stmt.lineno}", "exec")
        claim = comments.get(stmt.end_lineno) if isinstance(stmt, ast.Expr) else None
        literal = claimed_literal(claim) if claim else None
        if literal is None:
            exec(compiled, namespace)
            continue
        value = eval(compile(ast.Expression(stmt.value), block.name, "eval"), namespace)
        if _plain(value):
            assert value == literal[0], (
                f"{block.name}, line {stmt.lineno}: {ast.unparse(stmt)} is {value!r}, "
                f"the text says {literal[0]!r}"
            )


# -- shell -----------------------------------------------------------------------------------------


def _bash(command: str, cwd: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=BIN + os.pathsep + os.environ["PATH"], JAX_PLATFORMS="cpu")
    return subprocess.run(
        ["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


def run_shell(block: Block, cwd: str) -> None:
    for line in substitute(block.code).splitlines():
        command = line.strip()
        if not command or command.startswith("#") or command.startswith("make "):
            continue
        assert command.startswith(("tern-jax ", "python ")), f"{block.name}: {command}"
        proc = _bash(command, cwd)
        assert proc.returncode == 0, f"{block.name}: `{command}` failed:\n{proc.stderr[-2000:]}"


def check_output(block: Block, cwd: str) -> None:
    command = block.marker.removeprefix("<!-- output-of:").removesuffix("-->").strip()
    proc = _bash(command, cwd)
    assert proc.returncode == 0, proc.stderr[-2000:]
    shown = [" ".join(line.split()) for line in proc.stdout.splitlines()]
    for line in block.code.splitlines():
        want = " ".join(line.split())
        if want and want != "...":
            assert want in shown, f"{block.name}: `{command}` does not print: {line}"


def run_file(path: str, cwd: str, heavy: bool) -> list[str]:
    """Run every block of ``path`` in ``cwd``; returns the names of the blocks run."""
    namespace: dict = {}
    ran = []
    for block in blocks(path):
        if block.marker.startswith("<!-- no-run:"):
            assert len(block.marker) > len("<!-- no-run:  -->"), f"{block.name}: give a reason"
            continue
        if block.heavy and not heavy:
            continue
        if block.marker.startswith("<!-- output-of:"):
            check_output(block, cwd)
        elif block.lang == "python":
            namespace = {"__name__": "__readme__"}
            run_python(block, namespace)
        else:
            run_shell(block, cwd)
        ran.append(block.name)
    return ran


def test_claimed_literal():
    assert claimed_literal("# 81: exact linear regions on (0,1)^2") == (81,)
    assert claimed_literal("# 81, 81 (exact, plane engine)") == ((81, 81),)
    assert claimed_literal("# (1048576, 1048576), about 1 s") == ((1048576, 1048576),)
    assert claimed_literal("# 16, 18  (exact, linear regions)") == ((16, 18),)
    assert claimed_literal("# (8, 7, 8, 7), True") == (((8, 7, 8, 7), True),)
    assert claimed_literal("# sampled / estimated activation regions") is None
    assert claimed_literal("# {k: f_k}, exact") is None


def test_blocks_and_markers():
    found = blocks(os.path.join(ROOT, "README.md"))
    assert len(found) >= 10
    # every marker names what it does
    for b in found:
        assert b.marker == "" or re.match(
            r"<!-- (no-run: .+|output-of: tern-jax .+) -->$", b.marker
        )
    assert sum(b.marker.startswith("<!-- no-run") for b in found) <= 2  # keep opt-outs rare


@pytest.fixture
def fresh_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _fixtures(str(tmp_path))
    return str(tmp_path)


def test_readme_runs_as_printed(fresh_dir):
    ran = run_file(os.path.join(ROOT, "README.md"), fresh_dir, heavy=False)
    assert len(ran) >= 10
    assert os.path.isfile(os.path.join(fresh_dir, "partition.png"))


def test_tpu_setup_runs_on_cpu_as_printed(fresh_dir):
    ran = run_file(os.path.join(ROOT, "TPU_SETUP.md"), fresh_dir, heavy=False)
    assert ran  # the device check runs on CPU too


@pytest.mark.slow
def test_readme_with_training_and_studies(fresh_dir):
    # `tern-jax report runs/demo` re-assembles what `make demo` wrote
    proc = _bash(
        "python experiments/run_all.py --setting smoke --only growth_rates --out runs/demo",
        fresh_dir,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    run_file(os.path.join(ROOT, "README.md"), fresh_dir, heavy=True)
