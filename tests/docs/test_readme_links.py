"""The README's links into the docs resolve: ``mkdocs build --strict`` checks only docs/."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
_LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def test_every_relative_link_of_the_readme_points_to_a_file() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    targets = [t for t in _LINK.findall(readme) if not re.match(r"[a-z]+:", t)]
    assert len(targets) > 10  # the docs are linked from the README
    missing = [t for t in targets if not (REPO / t).exists()]
    assert not missing, f"README.md links to missing files: {missing}"

