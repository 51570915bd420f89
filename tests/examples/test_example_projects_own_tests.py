"""Each example project's own test-suite passes, run the way its README says (CI runs them here)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from .helpers import EXAMPLES_DIR, clean_environment


@pytest.mark.parametrize("directory", ["django_site", "flask_app", "fastapi_app"])
def test_the_example_projects_own_tests_pass(directory: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=EXAMPLES_DIR / directory,
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_environment(),
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and "failed" not in done.stdout
