"""The inspector page in a real headless Chromium: loads, shows SDK events, updates live, filters.

Needs Debian's ``chromium`` (``apt-get install chromium``); driven through the
``playwright`` package with that executable (never ``playwright install``).
Skipped only when Chromium is missing outside CI; in CI a missing browser fails.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from ripples import Ripples
from ripples.dev import DevServer

from .wire import event, post

CHROMIUM = os.environ.get("RIPPLES_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 15_000
ROWS = "#events li[data-seq]"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM) and not os.environ.get("CI"),
        reason="headless Chromium not installed (apt-get install chromium); required in CI",
    ),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if os.environ.get("CI"):
        import playwright.sync_api as sync_api
    else:
        sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page_errors() -> list[str]:
    """Console errors and uncaught exceptions of the test's page."""
    return []


@pytest.fixture
def page(browser: Any, page_errors: list[str]) -> Iterator[Any]:
    """A fresh page; the test fails if the page logs an error or throws."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.on("console", lambda msg: page_errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: page_errors.append(str(exc)))
    yield page
    context.close()
    assert page_errors == [], f"the page logged errors: {page_errors}"


def _rows(page: Any) -> int:
    return int(page.locator(ROWS).count())


def _wait_rows(page: Any, count: int) -> None:
    page.wait_for_function(
        "n => document.querySelectorAll('#events li[data-seq]').length === n", arg=count
    )


def test_the_page_shows_events_sent_through_the_sdk(
    server: DevServer, client: Ripples, page: Any
) -> None:
    client.signup("user_1", email="jane@example.com", ripples_visitor_id=str(uuid.uuid4()))
    client.track("created a budget", "user_1", area="budgets", activated=True)
    client.revenue(49.99, "user_1", currency="EUR")
    assert client.flush(timeout=10)
    server.wait_for(3)

    page.goto(server.url + "/")
    _wait_rows(page, 3)
    badges = page.locator(f"{ROWS} .badge").all_text_contents()
    assert badges == ["revenue", "track", "signup"]  # newest first
    assert page.locator(f"{ROWS} .user").all_text_contents() == ["user_1"] * 3
    page.wait_for_function(
        "() => document.querySelector('#panel-signups .big')?.textContent === '1'"
    )
    signups = page.locator("#panel-signups").inner_text()
    assert "1 linked to a browser visitor (100%)" in signups
    assert "€49.99" in page.locator("#panel-revenue").inner_text()
    activation = page.locator("#panel-activation").inner_text()
    assert "created a budget" in activation and "budgets" in activation

    page.locator(f"{ROWS} summary").last.click()
    shown = page.locator(f"{ROWS} pre.json").last
    assert '"$type": "signup"' in shown.inner_text()
    assert '"email": "jane@example.com"' in shown.inner_text()
    page.screenshot(path="/tmp/ripples-inspector.png", full_page=True)


def test_new_events_appear_without_a_reload(server: DevServer, page: Any) -> None:
    post(server, [event("signup")])
    page.goto(server.url + "/")
    _wait_rows(page, 1)

    post(server, [event("track", **{"$user_id": "late"}), event("identify")])

    _wait_rows(page, 3)
    assert page.locator(f"{ROWS} .badge").first.text_content() == "identify"
    page.wait_for_function("() => document.querySelector('#count').textContent === '3 events'")


def test_filters_by_type_and_user(server: DevServer, page: Any) -> None:
    post(
        server,
        [
            event("signup", **{"$user_id": "ann"}),
            event("track", **{"$user_id": "ann"}),
            event("track", **{"$user_id": "bob"}),
            event("revenue", **{"$user_id": "bob"}),
        ],
    )
    page.goto(server.url + "/")
    _wait_rows(page, 4)

    page.select_option("#filter-type", "track")
    _wait_rows(page, 2)
    assert set(page.locator(f"{ROWS} .badge").all_text_contents()) == {"track"}

    page.fill("#filter-user", "bob")
    _wait_rows(page, 1)
    page.select_option("#filter-type", "")
    _wait_rows(page, 2)
    assert set(page.locator(f"{ROWS} .user").all_text_contents()) == {"bob"}

    post(server, [event("identify", **{"$user_id": name}) for name in ("ann", "bob")])
    _wait_rows(page, 3)  # live updates respect the filters
    page.wait_for_function("() => document.querySelector('#count').textContent.includes('3 of 6')")

    page.fill("#filter-user", "")
    _wait_rows(page, 6)
    page.locator(f"{ROWS} .user", has_text="ann").first.click()  # a user's name filters too
    _wait_rows(page, 3)
    assert page.input_value("#filter-user") == "ann"


def test_event_data_is_shown_as_text_never_run(server: DevServer, page: Any) -> None:
    hostile = '<img src=x onerror="window.__pwned=1">'
    post(
        server,
        [
            event(
                "track",
                **{"$user_id": hostile, "$name": "<script>window.__pwned=2</script>"},
                email=hostile,
            ),
            event("revenue", **{"$user_id": "u"}, currency="<b>X</b>"),
        ],
    )
    page.goto(server.url + "/")
    _wait_rows(page, 2)
    page.wait_for_function("() => document.querySelector('#panel-revenue table') !== null")

    assert page.evaluate("() => window.__pwned") is None
    assert page.locator(f"{ROWS} .user").last.text_content() == hostile
    assert page.locator("#events img, #panel-activation img, #events script").count() == 0
    assert "<B>X</B>" in page.locator("#panel-revenue").inner_text()


def test_clearing_empties_the_page(server: DevServer, page: Any) -> None:
    post(server, [event(), event()])
    page.goto(server.url + "/")
    _wait_rows(page, 2)

    page.click("#clear")
    page.click("#clear")  # the second click confirms

    _wait_rows(page, 0)
    assert server.events() == []
    page.wait_for_selector("#placeholder")


def test_the_page_says_when_the_collector_is_gone(
    server: DevServer, page: Any, page_errors: list[str]
) -> None:
    page.goto(server.url + "/")
    page.wait_for_function("() => document.querySelector('#status-text').textContent === 'live'")

    server.stop()
    try:
        page.wait_for_function("() => document.querySelector('#status').classList.contains('down')")
    finally:
        server.start()
    page.wait_for_function("() => document.querySelector('#status-text').textContent === 'live'")
    assert all("ERR_CONNECTION_REFUSED" in error for error in page_errors), page_errors
    page_errors.clear()  # the refused polls were the point
