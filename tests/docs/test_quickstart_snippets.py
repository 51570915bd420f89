"""The quick-start code of the README and of the docs, run as written against a local collector.

Each page's ``python`` blocks run in order in a fresh interpreter, as a reader pastes them,
with ``RIPPLES_URL`` pointed at a ``DevServer`` that requires the test key and
``RIPPLES_SECRET_KEY`` set to it. The snippets never flush: the events must arrive through
the drain at interpreter exit, exactly as the pages promise.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from ripples.dev import DevServer

from ..conftest import TEST_KEY

REPO = Path(__file__).resolve().parents[2]
#: Tracking methods and the ``$type`` each sends (a subscription is a revenue event).
WIRE_TYPES = {
    "revenue": "revenue",
    "signup": "signup",
    "track": "track",
    "identify": "identify",
    "subscription": "revenue",
}
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def python_blocks(markdown: str) -> list[str]:
    """The ``python`` fenced code blocks of ``markdown``, in order."""
    return [match.group(1) for match in _BLOCK.finditer(markdown)]


def section(markdown: str, title: str) -> str:
    """The text of the ``## title`` section, up to the next ``##`` heading."""
    start = markdown.index(f"\n## {title}\n")
    end = markdown.find("\n## ", start + 1)
    return markdown[start : end if end != -1 else len(markdown)]


def quick_starts() -> dict[str, str]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    page = (REPO / "docs" / "quickstart.md").read_text(encoding="utf-8")
    return {
        "README.md#quick-start": "\n".join(python_blocks(section(readme, "Quick start"))),
        "docs/quickstart.md": "\n".join(python_blocks(page)),
    }


def expected_types(code: str) -> Counter[str]:
    """The ``$type`` of every tracking call the code makes (``x.revenue(...)`` etc.)."""
    return Counter(
        WIRE_TYPES[node.func.attr]
        for node in ast.walk(ast.parse(code))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in WIRE_TYPES
    )


@pytest.fixture
def collector() -> Iterator[DevServer]:
    """A collector that refuses any key but the test key, as the API refuses a wrong one."""
    with DevServer(key=TEST_KEY) as server:
        yield server


def test_both_quick_starts_show_every_tracking_call() -> None:
    for where, code in quick_starts().items():
        assert set(expected_types(code)) == {"revenue", "signup", "track", "identify"}, where


@pytest.mark.parametrize("where", sorted(quick_starts()))
def test_the_quick_start_runs_and_its_events_arrive(
    where: str, collector: DevServer, tmp_path: Path
) -> None:
    code = quick_starts()[where]
    expected = expected_types(code)
    env = {
        "PATH": "/usr/bin:/bin",
        "RIPPLES_URL": collector.url,
        "RIPPLES_SECRET_KEY": TEST_KEY,
    }
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    events = collector.wait_for(sum(expected.values()), timeout=10)
    assert Counter(event["$type"] for event in events) == expected, events
    assert {event["$user_id"] for event in events} == {"user_123"}
    refunds = [e for e in events if e["$type"] == "revenue" and e["$amount"] < 0]
    assert refunds and all(e["transaction_id"] == "txn_abc123" for e in refunds), events
