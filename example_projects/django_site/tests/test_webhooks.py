"""The Stripe-style webhook: one payment however many times it is delivered."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from budgets.models import User
from django.test import Client, override_settings

from ripples import event_id_for
from ripples.dev import DevServer
from ripples.testing import assert_revenue
from ripples_django import ripples

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer() -> User:
    return User.objects.create_user(username="pay@example.com", email="pay@example.com")


def _payload(customer: User, event_id: str = "evt_1", amount: int = 2900) -> str:
    payment = {"amount": amount, "currency": "eur", "customer": customer.tracking_id}
    event = {"id": event_id, "type": "payment_intent.succeeded", "data": {"object": payment}}
    return json.dumps(event)


def _post(client: Client, body: str, **headers: str) -> Any:
    return client.post("/webhooks/stripe", body, content_type="application/json", headers=headers)


@pytest.fixture
def collector() -> Iterator[DevServer]:
    """A local collector the project's client sends to (it de-duplicates like the API)."""
    with (
        DevServer() as server,
        override_settings(
            RIPPLES={"SECRET_KEY": "priv_test_not_a_real_key", "BASE_URL": server.url}
        ),
    ):
        yield server
        ripples.close()


def test_one_payload_posted_twice_stores_one_payment(
    client: Client, customer: User, collector: DevServer
) -> None:
    for _ in range(2):
        response = _post(client, _payload(customer))
        assert response.status_code == 200 and response.json() == {"received": True}
    assert ripples.flush(10)
    (payment,) = collector.events(type="revenue")
    assert payment["$user_id"] == customer.tracking_id
    assert payment["$event_id"] == event_id_for("revenue", "stripe:evt_1")
    assert (payment["$amount"], payment["currency"]) == (29, "EUR")
    assert collector.stats["duplicates"] == 1  # the second delivery arrived and was dropped


def test_each_event_is_its_own_payment(client: Client, customer: User, ripples_events: Any) -> None:
    _post(client, _payload(customer, "evt_1"))
    _post(client, _payload(customer, "evt_2", amount=9900))
    assert_revenue(
        ripples_events, Decimal("29"), customer.tracking_id, idempotency_key="stripe:evt_1"
    )
    assert_revenue(ripples_events, 99, customer.tracking_id, idempotency_key="stripe:evt_2")


@pytest.mark.parametrize(
    "body",
    ["not json", "[]", '{"type": "charge.succeeded"}', '{"id": "e", "type": "charge.succeeded",'
     ' "data": {"object": {"amount": "29", "currency": "eur", "customer": "x"}}}'],
)  # fmt: skip
def test_malformed_events_are_refused_and_track_nothing(
    client: Client, body: str, ripples_events: Any
) -> None:
    assert _post(client, body).status_code == 400
    assert list(ripples_events) == []


def test_other_events_and_unknown_customers_are_acknowledged(
    client: Client, customer: User, ripples_events: Any
) -> None:
    refund = json.dumps({"id": "evt_3", "type": "charge.refunded", "data": {}})
    assert _post(client, refund).json()["ignored"] == "charge.refunded"
    stranger = json.loads(_payload(customer))
    stranger["data"]["object"]["customer"] = "00000000-0000-4000-8000-000000000000"
    assert _post(client, json.dumps(stranger)).json()["ignored"] == "unknown customer"
    assert list(ripples_events) == []


def test_the_signature_is_checked_when_a_secret_is_set(
    client: Client, customer: User, ripples_events: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_test")
    body = _payload(customer)
    stamp = int(time.time())
    good = hmac.new(b"whsec_test", f"{stamp}.{body}".encode(), hashlib.sha256).hexdigest()
    assert _post(client, body).status_code == 400
    assert _post(client, body, Stripe_Signature=f"t={stamp},v1={'0' * 64}").status_code == 400
    assert list(ripples_events) == []
    assert _post(client, body, Stripe_Signature=f"t={stamp},v1={good}").status_code == 200
    assert_revenue(ripples_events, 29, customer.tracking_id, idempotency_key="stripe:evt_1")
