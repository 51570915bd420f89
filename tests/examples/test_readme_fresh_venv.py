"""The README's first command, as written, in a fresh virtualenv on a copy of the tree.

Slow (it installs the package and its extras from the package index into a new
virtualenv), so it is marked ``slow``; CI runs it. The tree is copied rather than
cloned so that uncommitted work is what gets tested.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import clean_environment

REPO = Path(__file__).resolve().parents[2]
NOT_COPIED = shutil.ignore_patterns(
    ".venv*", ".git", "__pycache__", "*.egg-info", "build", "dist", ".ripples",
    ".mypy_cache", ".ruff_cache", ".pytest_cache", "*.sqlite3", "node_modules",
)  # fmt: skip


def readme_demo_command() -> str:
    """The README's set-up-and-run-the-demo command (a line of its opening code block)."""
    for line in (REPO / "README.md").read_text(encoding="utf-8").splitlines():
        command = line.strip().removeprefix("$ ")
        if command.startswith("python3 -m venv") and command.endswith("ripples demo"):
            return command
    raise AssertionError("README.md has no `python3 -m venv ... ripples demo` line")


@pytest.mark.slow
def test_the_readme_demo_command_works_in_a_fresh_virtualenv(tmp_path: Path) -> None:
    checkout = tmp_path / "ripples"
    shutil.copytree(REPO, checkout, ignore=NOT_COPIED)
    env = clean_environment()
    env.pop("VIRTUAL_ENV", None)
    env.pop("PYTHONPATH", None)
    # `python3` must be the machine's, not this test run's virtualenv.
    ours = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != ours)
    done = subprocess.run(
        ["bash", "-c", readme_demo_command()],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    output = done.stdout[-6000:] + done.stderr[-4000:]
    assert done.returncode == 0, output
    assert "OK: all" in done.stdout, output
