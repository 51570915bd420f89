"""The product journey tracks what the docs describe, linked to the browser's visitor."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from starlette.testclient import TestClient

from ripples.testing import (
    ABSENT,
    assert_identified,
    assert_revenue,
    assert_signup,
    assert_subscription,
    assert_tracked,
)

VISITOR = "3f2b8c1e-6a4d-4e8f-9b7a-1c2d3e4f5a6b"


def _call(client: TestClient, method: str, path: str, body: Any = None, token: str = "") -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = client.request(method, path, json=body, headers=headers)
    return response.status_code, response.json()


def _register(client: TestClient, email: str = "jane@example.com") -> tuple[str, str]:
    status, body = _call(
        client, "POST", "/api/register",
        {"email": email, "name": "Jane Smith", "password": "correct horse"},
    )  # fmt: skip
    assert status == 201, body
    return body["user_id"], body["token"]


def test_home_page_sets_the_visitor_cookie_in_the_browser(client: TestClient) -> None:
    page = client.get("/").text
    assert "_rpl_vid=" in page and "crypto.randomUUID()" in page


def test_the_whole_journey_from_sync_and_async_endpoints(
    client: TestClient, ripples_events: Any
) -> None:
    client.cookies.set("_rpl_vid", VISITOR)
    uid, token = _register(client)
    _, budget = _call(client, "POST", "/api/budgets", {"name": "Groceries", "limit": "400"}, token)
    for number in range(1, 11):
        _, entry = _call(
            client, "POST", f"/api/budgets/{budget['id']}/transactions",
            {"amount": f"{number}.50"}, token,
        )  # fmt: skip
    assert entry == {"count": 10, "activated": True}
    _, payment = _call(client, "POST", "/api/payments", {"plan": "pro", "currency": "EUR"}, token)
    txn = payment["transaction_id"]
    assert _call(client, "POST", f"/api/payments/{txn}/refund", token=token)[0] == 200
    assert _call(client, "POST", f"/api/payments/{txn}/refund", token=token)[0] == 409
    _call(
        client, "POST", "/api/plan", {"plan": "team", "interval": "year", "currency": "USD"}, token
    )
    _call(client, "PATCH", "/api/profile", {"name": "Jane S.", "company": "Acme"}, token)

    assert_signup(ripples_events, uid, email="jane@example.com", name="Jane Smith")
    assert_tracked(ripples_events, "created a budget", user_id=uid, area="budgets")
    transactions = ripples_events.tracked("added transaction", user_id=uid)
    assert [event.get("$activated") for event in transactions] == [None] * 9 + [True]
    assert_revenue(ripples_events, Decimal("29.00"), uid, currency="EUR", transaction_id=txn)
    assert_revenue(ripples_events, Decimal("-29.00"), uid, currency="EUR", transaction_id=txn)
    subscription = assert_subscription(
        ripples_events, user_id=uid, status="active", amount=Decimal("990.00"), interval="year",
        currency="USD",
    )  # fmt: skip
    assert subscription["$name"] == "team"
    assert_identified(ripples_events, uid, name="Jane S.", company="Acme", role="")
    # Sync endpoints (thread pool) and async ones alike carry the request's visitor.
    assert all(event["$visitor_id"] == VISITOR for event in ripples_events)
    assert len(ripples_events) == 1 + 1 + 10 + 2 + 1 + 1


def test_api_calls_without_the_cookie_carry_no_visitor(
    client: TestClient, ripples_events: Any
) -> None:
    uid, _ = _register(client)
    assert_signup(ripples_events, uid, visitor_id=ABSENT)


def test_a_junk_cookie_is_ignored(client: TestClient, ripples_events: Any) -> None:
    client.cookies.set("_rpl_vid", "not-a-uuid")
    uid, _ = _register(client)
    assert_signup(ripples_events, uid, visitor_id=ABSENT)


def test_refused_calls_track_nothing(client: TestClient, ripples_events: Any) -> None:
    assert _call(client, "POST", "/api/budgets", {"name": "x", "limit": 1}, "wrong")[0] == 401
    assert _call(client, "POST", "/api/register", {"email": "bad"})[0] == 422
    _, token = _register(client)
    ripples_events.clear()
    assert _call(client, "POST", "/api/budgets/999/transactions", {"amount": 1}, token)[0] == 404
    assert (
        _call(client, "POST", "/api/payments", {"plan": "gold", "currency": "EUR"}, token)[0] == 422
    )
    assert list(ripples_events) == []
