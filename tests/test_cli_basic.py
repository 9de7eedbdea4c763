"""The `tern-jax` command: help texts, the command list, exit codes, closed pipes."""

import re
import subprocess
import sys

import pytest

from tern_jax import cli
from tern_jax.cli import COMMANDS, build_parser, main

TERN_JAX = [sys.executable, "-m", "tern_jax.cli"]


def _listed_commands(help_text: str) -> list[str]:
    """The subcommands the top-level help lists (the indented names under COMMAND)."""
    block = help_text.split("COMMAND\n", 2)[-1].split("\noptions:")[0]
    return re.findall(r"^ {4}([a-z][a-z-]*)\b", block, flags=re.M)


def test_cli_help_lists_every_command():
    out = subprocess.run([*TERN_JAX, "--help"], capture_output=True, text=True, check=True).stdout
    assert out.startswith("usage: tern-jax")
    assert _listed_commands(out) == list(COMMANDS)
    # what the tool counts, and where to start
    assert "activation regions and linear regions" in out
    assert "tern-jax construct ternary-alternating" in out and "docs/math.md" in out


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: tern-jax {command}")
    # a description beyond the usage line
    assert len(out.split("\n\n", 2)) >= 3


def test_every_command_registered():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert set(sub.choices) == set(COMMANDS)


def test_interrupt_exits_130_with_one_line(monkeypatch, capsys):
    def interrupted(args):
        args.resume_hint = "rerun the same command to resume"
        raise KeyboardInterrupt

    parser = build_parser()
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    for action in parser._actions:
        if action.dest == "command":
            action.choices["bounds"].set_defaults(func=interrupted)
    assert main(["bounds", "--n0", "1", "--widths", "4"]) == cli.EXIT_INTERRUPTED == 130
    err = capsys.readouterr().err
    assert err == "tern-jax bounds: interrupted; rerun the same command to resume\n"


# A command that writes far more than a pipe buffer holds, run through the real main().
FLOOD = """
import sys
from tern_jax import cli
parser = cli.build_parser()
def flood(args):
    for i in range(200_000):
        print("line", i)
    return 0
for action in parser._actions:
    if action.dest == "command":
        action.choices["bounds"].set_defaults(func=flood)
cli.build_parser = lambda: parser
sys.exit(cli.main(["bounds", "--n0", "1", "--widths", "4"]))
"""


def test_closed_pipe_ends_quietly(tmp_path):
    # The reader takes one line and closes the pipe while the command still writes (as
    # `| head -1` does): the command ends with 0 and no BrokenPipeError traceback.
    script = tmp_path / "flood.py"
    script.write_text(FLOOD)
    proc = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline() == "line 0\n"
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 0
    assert err == ""
