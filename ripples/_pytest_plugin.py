"""The pytest plugin (entry point ``pytest11``): the ``ripples_events`` fixture.

Loaded in every pytest run of a project that has ``ripples`` installed, so it
stays inert until a test asks for the fixture: loading it runs only the
package's lazy ``__init__`` (no client, sender, exit or fork hook; see
``ripples/__init__.py``) and imports the SDK when the fixture is first used
(importing the package under test at plugin load would also hide its
module-level lines from coverage tools that start later).
tests/testing/test_plugin.py checks this in a real pytest subprocess.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ripples.testing import EventRecorder

FIXTURE = "ripples_events"


@pytest.fixture
def ripples_events() -> Iterator[EventRecorder]:
    """Record every Ripples event tracked during this test, instead of sending it.

    Captures events from any client and any thread (test clients, live
    servers in threads, thread pools, async tests) as their exact wire dicts;
    each test gets a fresh, empty recorder. Use with ``ripples.testing``'s
    ``assert_tracked``, ``assert_signup``, ... or read ``.events``.
    """
    from ripples.testing import EventRecorder

    with EventRecorder() as recorder:
        yield recorder


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, None]:
    """When a test that recorded fails, show its events, as pytest shows captured output."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    recorder = getattr(item, "funcargs", {}).get(FIXTURE)
    listed = call.excinfo is not None and getattr(call.excinfo.value, "_ripples_listed", False)
    if report.when == "call" and report.failed and recorder is not None and not listed:
        from ripples.testing import format_events

        listing = format_events(recorder) if len(recorder) else "(no events were recorded)"
        report.sections.append((f"Ripples events recorded by {FIXTURE}", listing))
