"""The product journey tracks what the docs describe, linked to the browser's visitor."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ripples.testing import (
    ABSENT,
    assert_identified,
    assert_revenue,
    assert_signup,
    assert_subscription,
    assert_tracked,
)

VISITOR = "3f2b8c1e-6a4d-4e8f-9b7a-1c2d3e4f5a6b"
CSRF = "test-csrf-token"


def form(**fields: Any) -> dict[str, Any]:
    """Form data with the CSRF token a rendered page would carry."""
    return {"csrf_token": CSRF, **fields}


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A client whose session holds the CSRF token of a page it had loaded."""
    client = app.test_client()
    with client.session_transaction() as session:
        session["csrf_token"] = CSRF
    return client


@pytest.fixture
def browser(client: FlaskClient) -> FlaskClient:
    """A test client carrying the cookie the Ripples browser script sets."""
    client.set_cookie("_rpl_vid", VISITOR)
    return client


def _api(client: FlaskClient, method: str, path: str, body: Any, token: str = "") -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = client.open(path, method=method, json=body, headers=headers)
    return response.status_code, response.get_json()


def _register(client: FlaskClient, email: str = "jane@example.com") -> tuple[str, str]:
    status, body = _api(
        client, "POST", "/api/register",
        {"email": email, "name": "Jane Smith", "password": "correct horse"},
    )  # fmt: skip
    assert status == 201, body
    return body["user_id"], body["token"]


def test_home_page_sets_the_visitor_cookie_in_the_browser(client: FlaskClient) -> None:
    page = client.get("/").get_data(as_text=True)
    assert "_rpl_vid=" in page and "crypto.randomUUID()" in page


def test_signup_form_links_the_signup_to_the_visitor(
    browser: FlaskClient, ripples_events: Any
) -> None:
    fields = form(email="Jane@Example.com", name="Jane Smith", password="correct horse")
    response = browser.post("/register", data=fields)
    assert response.status_code == 302
    assert_signup(ripples_events, visitor_id=VISITOR, email="jane@example.com", name="Jane Smith")


def test_a_form_without_the_csrf_token_is_refused(
    browser: FlaskClient, ripples_events: Any
) -> None:
    response = browser.post("/register", data={"email": "a@example.com", "name": "A"})
    assert response.status_code == 400
    assert list(ripples_events) == []


def test_the_whole_journey_through_the_html_forms(
    browser: FlaskClient, ripples_events: Any
) -> None:
    browser.post("/register", data=form(email="j@example.com", name="J", password="12345678"))
    uid = ripples_events.signups[0]["$user_id"]
    with browser.session_transaction() as session:  # logging in started a new session
        session["csrf_token"] = CSRF
    browser.post("/budgets", data=form(name="Groceries", limit="400"))
    for number in range(1, 11):
        browser.post("/budgets/1/transactions", data=form(amount=f"{number}.50"))
    browser.post("/payments", data=form(plan="pro", currency="EUR"))
    payment = ripples_events.revenue[0]
    browser.post(f"/payments/{payment['transaction_id']}/refund", data=form())
    browser.post("/plan", data=form(plan="team", interval="year", currency="USD"))
    browser.post("/profile", data=form(name="Jane S.", company="Acme", role="admin"))

    assert_tracked(ripples_events, "created a budget", user_id=uid, area="budgets")
    transactions = ripples_events.tracked("added transaction", user_id=uid)
    assert [event.get("$activated") for event in transactions] == [None] * 9 + [True]
    assert_revenue(ripples_events, Decimal("29.00"), uid, currency="EUR", email="j@example.com")
    assert_revenue(ripples_events, Decimal("-29.00"), uid, transaction_id=payment["transaction_id"])
    subscription = assert_subscription(
        ripples_events, user_id=uid, status="active", amount=Decimal("990.00"), interval="year",
        currency="USD",
    )  # fmt: skip
    assert subscription["$name"] == "team"  # the plan is the subscription's name on the wire
    assert_identified(ripples_events, uid, name="Jane S.", company="Acme", role="admin")
    assert all(event["$visitor_id"] == VISITOR for event in ripples_events)
    assert len(ripples_events) == 1 + 1 + 10 + 2 + 1 + 1


def test_the_json_api_tracks_with_the_visitor_and_a_bearer_token(
    browser: FlaskClient, ripples_events: Any
) -> None:
    uid, token = _register(browser)
    status, budget = _api(browser, "POST", "/api/budgets", {"name": "Rent", "limit": 900}, token)
    assert status == 201
    for _ in range(10):
        _, entry = _api(
            browser, "POST", f"/api/budgets/{budget['id']}/transactions", {"amount": "9"}, token
        )
    assert entry == {"count": 10, "activated": True}
    status, payment = _api(
        browser, "POST", "/api/payments", {"plan": "team", "currency": "GBP"}, token
    )
    assert (status, payment["amount"]) == (201, "99.00")
    assert _api(browser, "PATCH", "/api/profile", {"name": "Api Person"}, token)[0] == 200

    assert_signup(ripples_events, uid, visitor_id=VISITOR, email="jane@example.com")
    assert_tracked(
        ripples_events, "added transaction", user_id=uid, activated=True, visitor_id=VISITOR
    )
    assert_revenue(ripples_events, 99, uid, currency="GBP", visitor_id=VISITOR)
    assert_identified(ripples_events, uid, name="Api Person", visitor_id=VISITOR)


def test_api_calls_without_the_cookie_carry_no_visitor(
    client: FlaskClient, ripples_events: Any
) -> None:
    uid, _ = _register(client)
    assert_signup(ripples_events, uid, visitor_id=ABSENT)


def test_a_junk_cookie_is_ignored(client: FlaskClient, ripples_events: Any) -> None:
    client.set_cookie("_rpl_vid", "not-a-uuid")
    uid, _ = _register(client)
    assert_signup(ripples_events, uid, visitor_id=ABSENT)


def test_refused_calls_track_nothing(browser: FlaskClient, ripples_events: Any) -> None:
    assert _api(browser, "POST", "/api/budgets", {"name": "x", "limit": 1}, "wrong")[0] == 401
    status, body = _api(browser, "POST", "/api/register", {"email": "bad"})
    assert status == 400 and "email" in body["error"]
    assert list(ripples_events) == []


def test_a_payment_is_refunded_once(browser: FlaskClient, ripples_events: Any) -> None:
    _, token = _register(browser)
    _, payment = _api(browser, "POST", "/api/payments", {"plan": "pro", "currency": "EUR"}, token)
    refund_url = f"/api/payments/{payment['transaction_id']}/refund"
    assert _api(browser, "POST", refund_url, {}, token)[0] == 200
    assert _api(browser, "POST", refund_url, {}, token)[0] == 409
    assert len([event for event in ripples_events.revenue if event["$amount"] < 0]) == 1
