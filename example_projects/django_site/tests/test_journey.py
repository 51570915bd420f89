"""The product journey tracks what the docs describe, linked to the browser's visitor."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from budgets.models import Budget, Payment, User
from django.test import Client

from ripples.testing import (
    ABSENT,
    assert_identified,
    assert_not_tracked,
    assert_revenue,
    assert_signup,
    assert_subscription,
    assert_tracked,
)

VISITOR = "3f2b8c1e-6a4d-4e8f-9b7a-1c2d3e4f5a6b"

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(client: Client) -> Client:
    """A test client carrying the cookie the Ripples browser script sets."""
    client.cookies["_rpl_vid"] = VISITOR
    return client


def _signup_form(client: Client, email: str = "jane@example.com") -> User:
    data = {"email": email, "name": "Jane Smith", "password": "correct horse battery"}
    response = client.post("/register/", data)
    assert response.status_code == 302, response.content
    return User.objects.get(email=email)


def _api(client: Client, method: str, path: str, body: dict[str, Any], token: str = "") -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = getattr(client, method)(
        path, json.dumps(body), content_type="application/json", headers=headers
    )
    return response.status_code, response.json()


def _api_register(client: Client, email: str) -> tuple[str, str]:
    """Sign up through the JSON API; return the user id and the API token."""
    account = {"email": email, "name": "Api", "password": "long enough pw"}
    status, body = _api(client, "post", "/api/register", account)
    assert status == 201, body
    return body["user_id"], body["token"]


def test_home_page_sets_the_visitor_cookie_in_the_browser(client: Client) -> None:
    page = client.get("/").content.decode()
    assert "_rpl_vid=" in page and "crypto.randomUUID()" in page


def test_signup_form_links_the_signup_to_the_visitor(browser: Client, ripples_events: Any) -> None:
    user = _signup_form(browser)
    assert_signup(
        ripples_events,
        user.tracking_id,
        visitor_id=VISITOR,
        email="jane@example.com",
        name="Jane Smith",
    )


def test_the_whole_journey_through_the_html_forms(browser: Client, ripples_events: Any) -> None:
    user = _signup_form(browser)
    browser.post("/budgets/", {"name": "Groceries", "limit": "400"})
    budget = Budget.objects.get(owner=user)
    for number in range(1, 11):
        browser.post(f"/budgets/{budget.pk}/transactions/", {"amount": f"{number}.50"})
    browser.post("/payments/", {"plan": "pro", "currency": "EUR"})
    payment = Payment.objects.get(user=user)
    browser.post(f"/payments/{payment.transaction_id}/refund/")
    browser.post("/plan/", {"plan": "team", "interval": "year", "currency": "USD"})
    browser.post("/profile/", {"name": "Jane S.", "company": "Acme", "role": "admin"})

    uid = user.tracking_id
    assert_tracked(ripples_events, "created a budget", user_id=uid, area="budgets")
    transactions = ripples_events.tracked("added transaction", user_id=uid)
    assert [event.get("$activated") for event in transactions] == [None] * 9 + [True]
    assert_revenue(
        ripples_events,
        Decimal("29.00"),
        uid,
        currency="EUR",
        transaction_id=payment.transaction_id,
    )
    assert_revenue(ripples_events, Decimal("-29.00"), uid, transaction_id=payment.transaction_id)
    assert_subscription(
        ripples_events,
        user.subscription_id,
        uid,
        status="active",
        amount=Decimal("990.00"),
        interval="year",
        currency="USD",
    )
    assert_identified(ripples_events, uid, name="Jane S.", company="Acme", role="admin")
    assert all(event["$visitor_id"] == VISITOR for event in ripples_events)
    assert len(ripples_events) == 1 + 1 + 10 + 2 + 1 + 1


def test_the_json_api_tracks_with_the_visitor_and_a_bearer_token(
    browser: Client, ripples_events: Any
) -> None:
    uid, token = _api_register(browser, "api@example.com")
    status, budget = _api(browser, "post", "/api/budgets", {"name": "Rent", "limit": "900"}, token)
    assert status == 201
    for _ in range(10):
        status, entry = _api(
            browser, "post", f"/api/budgets/{budget['id']}/transactions", {"amount": "9"}, token
        )
    assert entry == {"id": entry["id"], "count": 10, "activated": True}
    status, payment = _api(
        browser, "post", "/api/payments", {"plan": "team", "currency": "GBP"}, token
    )
    assert (status, payment["amount"]) == (201, "99.00")
    status, _ = _api(browser, "patch", "/api/profile", {"name": "Api Person"}, token)
    assert status == 200

    assert_signup(ripples_events, uid, visitor_id=VISITOR, email="api@example.com")
    assert_tracked(
        ripples_events, "added transaction", user_id=uid, activated=True, visitor_id=VISITOR
    )
    assert_revenue(
        ripples_events,
        99,
        uid,
        currency="GBP",
        transaction_id=payment["transaction_id"],
        visitor_id=VISITOR,
    )
    assert_identified(ripples_events, uid, name="Api Person", visitor_id=VISITOR)


def test_api_calls_without_the_cookie_carry_no_visitor(client: Client, ripples_events: Any) -> None:
    uid, _ = _api_register(client, "cli@example.com")
    assert_signup(ripples_events, uid, visitor_id=ABSENT)


def test_a_junk_cookie_is_ignored(client: Client, ripples_events: Any) -> None:
    client.cookies["_rpl_vid"] = "not-a-uuid"
    user = _signup_form(client)
    assert_signup(ripples_events, user.tracking_id, visitor_id=ABSENT)


def test_refused_calls_track_nothing(browser: Client, ripples_events: Any) -> None:
    status, _ = _api(browser, "post", "/api/budgets", {"name": "x", "limit": "1"}, "wrong")
    assert status == 401
    status, body = _api(browser, "post", "/api/register", {"email": "bad"})
    assert status == 400 and "email" in body["error"]
    assert list(ripples_events) == []


def test_a_payment_is_refunded_once(browser: Client, ripples_events: Any) -> None:
    _, token = _api_register(browser, "r@example.com")
    _, payment = _api(browser, "post", "/api/payments", {"plan": "pro", "currency": "EUR"}, token)
    refund_url = f"/api/payments/{payment['transaction_id']}/refund"
    assert _api(browser, "post", refund_url, {}, token)[0] == 200
    assert _api(browser, "post", refund_url, {}, token)[0] == 409
    refunds = [e for e in ripples_events.revenue if e["$amount"] < 0]
    assert len(refunds) == 1
    assert_not_tracked(ripples_events, "added transaction")
