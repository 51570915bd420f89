"""Ship ``example_projects/`` inside the wheel as ``ripples/_examples/`` (for ``ripples demo``).

``example_projects/`` stays the one, copyable source in the repository; this build step
copies it into the built package, without caches, databases or virtualenvs, so an installed
``ripples[all]`` can run ``ripples demo`` anywhere. Everything else is in pyproject.toml.
An editable install does not need the copy: the demo finds the checkout's directory.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

EXAMPLES = Path(__file__).resolve().parent / "example_projects"
TARGET = ("ripples", "_examples")
#: What is never shipped: caches, local databases, virtualenvs, logs, build leftovers.
EXCLUDED = (
    "__pycache__", "*.pyc", "*.pyo", ".venv*", "venv", ".pytest_cache", ".mypy_cache",
    ".ruff_cache", ".ripples", "*.sqlite3", "*.sqlite", "*.db", "*.log", "*.egg-info",
    "node_modules", "instance", ".DS_Store", "build", "dist",
)  # fmt: skip


def example_files() -> list[Path]:
    """The example projects' files, relative to ``example_projects/``, minus ``EXCLUDED``."""
    found: list[Path] = []
    for root, dirs, files in os.walk(EXAMPLES):
        dirs[:] = sorted(d for d in dirs if not _excluded(d))
        for name in sorted(files):
            if not _excluded(name):
                found.append(Path(root, name).relative_to(EXAMPLES))
    return found


def _excluded(name: str) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in EXCLUDED)


class BuildWithExamples(build_py):  # type: ignore[misc]
    """``build_py`` plus a filtered copy of ``example_projects/`` into ``ripples/_examples/``."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False) or not EXAMPLES.is_dir():
            return
        target = Path(self.build_lib, *TARGET)
        shutil.rmtree(target, ignore_errors=True)
        for relative in example_files():
            destination = target / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(EXAMPLES / relative, destination)

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs: list[str] = super().get_outputs(include_bytecode)
        if not getattr(self, "editable_mode", False) and EXAMPLES.is_dir():
            target = Path(self.build_lib, *TARGET)
            outputs += [str(target / relative) for relative in example_files()]
        return outputs


setup(cmdclass={"build_py": BuildWithExamples})
