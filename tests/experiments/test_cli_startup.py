"""`routelab --help` and every `<command> --help` start at once: no heavy library is imported."""

from __future__ import annotations

import subprocess
import sys

import pytest

from experiments.cli import SUBCOMMANDS

HEAVY = ("pandas", "pyarrow", "matplotlib", "scipy", "torch", "ray", "gymnasium")
PROBE = """
import contextlib, io, sys
from experiments.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    code = main({args!r})
print(code, " ".join(m for m in {heavy!r} if m in sys.modules))
"""


@pytest.mark.parametrize("command", [None, *SUBCOMMANDS])
def test_help_imports_no_heavy_library(command):
    args = [command, "--help"] if command else ["--help"]
    result = subprocess.run([sys.executable, "-c", PROBE.format(args=args, heavy=HEAVY)],
                            capture_output=True, text=True, timeout=120, check=True)
    code, _, imported = result.stdout.strip().partition(" ")
    assert code == "0" and imported == "", f"{args}: exit {code}, imported {imported}"


def test_the_help_lists_every_command_with_its_line():
    result = subprocess.run([sys.executable, "-m", "experiments.cli", "--help"],
                            capture_output=True, text=True, timeout=120, check=True)
    for name in SUBCOMMANDS:
        assert f"  {name} " in result.stdout
