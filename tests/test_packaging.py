"""What the distribution ships and declares: license, extras, changelog, no stale files."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the packaging tests run on the dev interpreter
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT = PYPROJECT["project"]


def test_the_license_is_an_spdx_expression_with_its_file() -> None:
    assert PROJECT["license"] == "MIT"
    assert PROJECT["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License") and "Ripples.sh" in text
    assert not any(c.startswith("License ::") for c in PROJECT["classifiers"])
    assert "setuptools>=77" in PYPROJECT["build-system"]["requires"]


def test_the_asgi_extra_installs_no_framework() -> None:
    assert PROJECT["optional-dependencies"]["asgi"] == []
    assert any(d.startswith("starlette") for d in PROJECT["optional-dependencies"]["dev"])
    probe = "import sys, ripples_asgi; assert not [m for m in sys.modules if 'starlette' in m]"
    subprocess.run([sys.executable, "-c", probe], check=True)


def test_there_is_a_changelog_with_an_unreleased_section() -> None:
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "keepachangelog.com" in text
    assert "\n## [Unreleased]\n" in text


def test_the_stale_readme_draft_is_gone_and_unlinked() -> None:
    assert not (ROOT / "docs" / "readme-draft.md").exists()
    documents = [ROOT / "README.md", *ROOT.glob("docs/**/*.md"), *ROOT.glob("*.yml")]
    assert not [str(p) for p in documents if "readme-draft" in p.read_text(encoding="utf-8")]


@pytest.mark.slow
def test_the_wheel_ships_the_license_and_its_spdx_metadata(tmp_path: Path) -> None:
    source = tmp_path / "source"  # a copy, so the build leaves nothing in the checkout
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, source / name)
    for package in ("ripples", "ripples_django", "ripples_flask", "ripples_asgi"):
        shutil.copytree(ROOT / package, source / package, ignore=ignore)
    command = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"]
    subprocess.run([*command, "-w", str(tmp_path), str(source)], check=True, cwd=tmp_path)
    (wheel,) = tmp_path.glob("ripples-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (metadata,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        text = archive.read(metadata).decode()
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert "License-Expression: MIT" in text
    assert "Provides-Extra: asgi" in text and "extra == \"asgi\"" not in text
