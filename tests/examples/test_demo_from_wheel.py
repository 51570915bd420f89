"""``ripples demo`` from a wheel installed into a fresh virtualenv, far from any checkout.

The wheel is built from a copy of the tree (uncommitted work included) that also holds a
database, a bytecode cache and a virtualenv inside an example project, as a developer's
checkout does: none of them may be shipped. Slow (it installs ``ripples[all]`` from the
package index), so it is marked ``slow``; CI runs it.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from .helpers import copy_checkout, machine_environment

#: Local state a checkout's example projects accumulate, which must not reach the wheel.
STRAYS = (
    "django_site/db.sqlite3",
    "flask_app/budget_flask/__pycache__/views.cpython-311.pyc",
    "fastapi_app/.venv/pyvenv.cfg",
    "fastapi_app/.pytest_cache/README.md",
)


def _run(command: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=cwd, env=machine_environment(), capture_output=True, text=True,
        timeout=timeout,
    )  # fmt: skip


def _check(done: subprocess.CompletedProcess[str]) -> str:
    output = done.stdout[-6000:] + done.stderr[-4000:]
    assert done.returncode == 0, output
    return done.stdout


@pytest.mark.slow
def test_ripples_demo_runs_from_an_installed_wheel(tmp_path: Path) -> None:
    checkout = copy_checkout(tmp_path / "checkout")
    for stray in STRAYS:
        path = checkout / "example_projects" / stray
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("local state\n", encoding="utf-8")
    dist = tmp_path / "dist"
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), "."]
    _check(_run(pip_wheel, checkout, timeout=600))
    (wheel,) = dist.glob("ripples-*.whl")

    shipped = zipfile.ZipFile(wheel).namelist()
    assert "ripples/_examples/django_site/manage.py" in shipped
    assert "ripples/_examples/fastapi_app/budget_api.py" in shipped
    for stray in STRAYS:
        assert not any(name.startswith(f"ripples/_examples/{stray}") for name in shipped), stray
    assert not [name for name in shipped if "__pycache__" in name or ".sqlite" in name]

    venv = tmp_path / "venv"
    _check(_run(["python3", "-m", "venv", str(venv)], tmp_path, timeout=300))
    _check(_run([str(venv / "bin/pip"), "install", "-q", f"{wheel}[all]"], tmp_path, 1200))

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = _check(_run(
        [str(venv / "bin/python"), "-c",
         "from ripples._demo._apps import examples_dir; print(examples_dir())"],
        elsewhere, timeout=60,
    ))  # fmt: skip
    assert Path(where.strip()).is_relative_to(venv), where  # the installed copy, not a checkout

    report = _check(_run([str(venv / "bin/ripples"), "demo", "--visitors", "1"], elsewhere, 300))
    assert "OK: all" in report, report
    for name, server in (("django", "gunicorn"), ("flask", "gunicorn"), ("fastapi", "uvicorn")):
        assert f"{name:<8} {server}" in report, report
