"""The README's first command, as written, in a fresh virtualenv on a copy of the tree.

Slow (it installs the package and its extras from the package index into a new
virtualenv), so it is marked ``slow``; CI runs it. The tree is copied rather than
cloned so that uncommitted work is what gets tested.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from .helpers import REPO, copy_checkout, machine_environment


def readme_demo_command() -> str:
    """The README's set-up-and-run-the-demo command (a line of its opening code block)."""
    for line in (REPO / "README.md").read_text(encoding="utf-8").splitlines():
        command = line.strip().removeprefix("$ ")
        if command.startswith("python3 -m venv") and command.endswith("ripples demo"):
            return command
    raise AssertionError("README.md has no `python3 -m venv ... ripples demo` line")


@pytest.mark.slow
def test_the_readme_demo_command_works_in_a_fresh_virtualenv(tmp_path: Path) -> None:
    checkout = copy_checkout(tmp_path / "ripples")
    done = subprocess.run(
        ["bash", "-c", readme_demo_command()],
        cwd=checkout,
        env=machine_environment(),
        capture_output=True,
        text=True,
        timeout=1200,
    )
    output = done.stdout[-6000:] + done.stderr[-4000:]
    assert done.returncode == 0, output
    assert "OK: all" in done.stdout, output
