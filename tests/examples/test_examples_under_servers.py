"""Each example under its real server, driven over HTTP with real cookies, checked at collection."""

from __future__ import annotations

import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any, Callable

import pytest
import requests

from ripples._demo._apps import RunningApp
from ripples._demo._check import verify
from ripples._demo._journey import WEBHOOKS, Visitor, make_visitors, play
from ripples.dev import DevServer

NAMES = ["django", "flask", "fastapi"]


@pytest.mark.parametrize("name", NAMES)
def test_concurrent_visitors_get_exactly_their_events_without_any_flush(
    name: str, serve: Callable[[str], RunningApp], collector: DevServer
) -> None:
    app = serve(name)
    visitors = make_visitors(name, 3)  # three browsers and one API client without cookie
    with ThreadPoolExecutor(len(visitors)) as pool:
        list(pool.map(lambda visitor: play(visitor, app.url), visitors))
    assert [visitor.error for visitor in visitors] == [""] * len(visitors)
    expected = sum(len(visitor.expected) for visitor in visitors)
    webhooks = 4 if name in WEBHOOKS else 0  # each visitor's renewal, by webhook (posted twice)
    assert expected == 4 * 15 + 1 + webhooks  # one visitor also refunds

    # Delivered while the app keeps running: the integration flushed after each request.
    mine = _events_of(collector, visitors, wait_for=expected)
    assert verify(mine, visitors) == []
    for visitor in visitors:
        _assert_journey(visitor, [e for e in mine if e["$user_id"] == visitor.user_id])

    app.stop()  # the SDK drains at exit: nothing may be sent twice
    assert verify(_events_of(collector, visitors), visitors) == []


def _events_of(
    collector: DevServer, visitors: list[Visitor], wait_for: int = 0
) -> list[dict[str, Any]]:
    users = {visitor.user_id for visitor in visitors}
    if wait_for:
        # Other tests' events share the collector: wait for ours, by user id.
        for visitor in visitors:
            collector.wait_for(len(visitor.expected), timeout=20, user_id=visitor.user_id)
    return [event for event in collector.events() if event["$user_id"] in users]


def _assert_journey(visitor: Visitor, events: list[dict[str, Any]]) -> None:
    """The documented events, spelled out independently of the demo's own check."""
    kinds = sorted(event["$type"] for event in events)
    refunds = 1 if visitor.refunds else 0
    webhook = [e for e in events if str(e.get("transaction_id")).startswith("evt_")]
    assert len(webhook) == (1 if visitor.app in WEBHOOKS else 0)  # delivered twice, stored once
    for renewal in webhook:
        assert "$visitor_id" not in renewal  # a server-to-server call has no browser
        assert renewal["currency"] == visitor.currency
        events = [e for e in events if e is not renewal]
    assert kinds == sorted(
        ["signup", "identify"] + ["track"] * 11 + ["revenue"] * (2 + refunds + len(webhook))
    )
    tracks = [event for event in events if event["$type"] == "track"]
    assert sorted({(e["$name"], e["$area"]) for e in tracks}) == [
        ("added transaction", "transactions"),
        ("created a budget", "budgets"),
    ]
    assert [e for e in tracks if e.get("$activated")] == [
        e for e in tracks if e["$name"] == "added transaction"
    ][-1:]  # the 10th transaction, and only it
    payments = [e for e in events if e["$type"] == "revenue" and "subscription_id" not in e]
    assert sum(Decimal(str(e["$amount"])) for e in payments) == (
        0 if visitor.refunds else {"pro": Decimal("29.00"), "team": Decimal("99.00")}[visitor.plan]
    )
    assert {e["currency"] for e in payments} == {visitor.currency}
    assert len({e["transaction_id"] for e in payments}) == 1
    for event in events:
        assert event.get("$visitor_id") == visitor.visitor_id, event
        assert event["$sdk_name"] == "python" and event["$platform"] == "server"
        uuid.UUID(event["$event_id"])


@pytest.mark.parametrize("name", ["django", "flask"])
def test_a_person_signs_up_through_the_html_form_with_the_cookie_the_page_set(
    name: str, serve: Callable[[str], RunningApp], collector: DevServer
) -> None:
    app = serve(name)
    browser = requests.Session()
    home = browser.get(app.url + "/", timeout=10)
    assert "crypto.randomUUID()" in home.text  # the page's script sets _rpl_vid
    visitor_id = str(uuid.uuid4())
    browser.cookies.set("_rpl_vid", visitor_id, domain="127.0.0.1", path="/")
    register_path = "/register/" if name == "django" else "/register"
    page = browser.get(app.url + register_path, timeout=10).text
    token_field, token = re.search(r'name="(csrf\w*token)" value="([^"]+)"', page).groups()
    email = f"{uuid.uuid4().hex[:8]}@example.com"
    response = browser.post(
        app.url + register_path,
        data={token_field: token, "email": email, "name": "Form User", "password": "a long pw 12"},
        timeout=10,
    )
    assert response.status_code == 200 and "Dashboard" in response.text  # redirected, logged in
    (signup,) = collector.wait_for(1, timeout=20, type="signup", visitor_id=visitor_id)
    assert (signup["email"], signup["name"]) == (email, "Form User")
