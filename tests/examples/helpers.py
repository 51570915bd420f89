"""Helpers for the example tests: where the examples are, and a neutral environment for children."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from ripples._demo._apps import EXAMPLES, examples_dir

REPO = Path(__file__).resolve().parents[2]
EXAMPLES_DIR = examples_dir()
#: What a copy of the checkout leaves out: local state, caches, builds and virtualenvs.
NOT_COPIED = shutil.ignore_patterns(
    ".venv*", ".git", "__pycache__", "*.egg-info", "build", "dist", ".ripples", "site",
    ".mypy_cache", ".ruff_cache", ".pytest_cache", "*.sqlite3", "node_modules",
)  # fmt: skip
BY_NAME = {example.name: example for example in EXAMPLES}


def clean_environment() -> dict[str, str]:
    """This process's environment without anything that steers a child's Ripples or Django."""
    env = dict(os.environ)
    for name in ("RIPPLES_SECRET_KEY", "RIPPLES_URL", "RIPPLES_DISABLED", "DJANGO_SETTINGS_MODULE"):
        env.pop(name, None)
    return env


def copy_checkout(destination: Path) -> Path:
    """A copy of this checkout (uncommitted work included) without ``NOT_COPIED``."""
    shutil.copytree(REPO, destination, ignore=NOT_COPIED)
    return destination


def machine_environment() -> dict[str, str]:
    """``clean_environment()`` as a new shell on this machine has it: no trace of this venv.

    For commands that build their own virtualenv: ``python3`` on ``PATH`` is the machine's,
    and ``VIRTUAL_ENV``/``PYTHONPATH`` do not leak this test run's packages into it.
    """
    env = clean_environment()
    env.pop("VIRTUAL_ENV", None)
    env.pop("PYTHONPATH", None)
    ours = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != ours)
    return env
