import subprocess
import sys

from tern_jax.cli import build_parser


def test_cli_help_lists_commands():
    out = subprocess.run(
        [sys.executable, "-m", "tern_jax.cli", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "tern-jax" in out


def test_every_command_registered():
    from tern_jax.cli import COMMANDS

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert set(sub.choices) == set(COMMANDS)
