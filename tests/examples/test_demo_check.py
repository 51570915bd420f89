"""The demo's verdict: every expected event exactly once with the right visitor, else a reason."""

from __future__ import annotations

import uuid
from typing import Any

from ripples._demo._check import verify
from ripples._demo._journey import Visitor


def _visitor(visitor_id: str | None = "0b8e5b9e-2f0a-4a53-8d3e-6f1f7b1d2c3a") -> Visitor:
    visitor = Visitor("flask", 0, visitor_id, user_id="u1")
    visitor.expected = [
        {"$type": "signup", "$user_id": "u1", "email": "a@example.com"},
        {"$type": "track", "$user_id": "u1", "$name": "added transaction", "$activated": None},
        {"$type": "track", "$user_id": "u1", "$name": "added transaction", "$activated": True},
        {"$type": "revenue", "$user_id": "u1", "$amount": -29, "currency": "EUR"},
    ]
    return visitor


def _delivered(visitor: Visitor) -> list[dict[str, Any]]:
    """What a correct integration stores for ``visitor``."""
    events = []
    for expected in visitor.expected:
        event = {k: v for k, v in expected.items() if v is not None}
        event["$event_id"] = str(uuid.uuid4())
        if visitor.visitor_id:
            event["$visitor_id"] = visitor.visitor_id
        events.append(event)
    events[-1]["$amount"] = -29.0  # JSON numbers compare by value
    return events


def test_a_correct_delivery_has_no_problem() -> None:
    visitor = _visitor()
    assert verify(_delivered(visitor), [visitor]) == []
    anonymous = _visitor(None)
    assert verify(_delivered(anonymous), [anonymous]) == []


def test_a_missing_event_is_named() -> None:
    visitor = _visitor()
    events = _delivered(visitor)[:-1]
    assert verify(events, [visitor]) == ["flask visitor 1: missing revenue -29 EUR"]


def test_the_activation_must_be_on_the_right_occurrence() -> None:
    visitor = _visitor()
    events = _delivered(visitor)
    events[2].pop("$activated")
    assert verify(events, [visitor]) == [
        "flask visitor 1: missing track 'added transaction' (activated)",
        "flask visitor 1: unexpected track 'added transaction'",
    ]


def test_an_event_stored_twice_is_a_failure() -> None:
    visitor = _visitor()
    events = _delivered(visitor)
    events.append(dict(events[0]))
    problems = verify(events, [visitor])
    assert f"event {events[0]['$event_id']} stored 2 times" in problems
    assert "flask visitor 1: unexpected signup" in problems


def test_a_wrong_or_missing_visitor_is_a_failure() -> None:
    visitor, other = _visitor(), "3f2b8c1e-6a4d-4e8f-9b7a-1c2d3e4f5a6b"
    events = _delivered(visitor)
    events[0]["$visitor_id"] = other
    del events[1]["$visitor_id"]
    assert verify(events, [visitor]) == [
        f"flask visitor 1: signup carried visitor {other}, expected {visitor.visitor_id}",
        f"flask visitor 1: track 'added transaction' carried visitor none, "
        f"expected {visitor.visitor_id}",
    ]


def test_events_of_unknown_users_and_failed_journeys_are_reported() -> None:
    visitor = _visitor()
    visitor.error = "flask visitor 1: POST /api/plan answered 500: boom"
    events = [*_delivered(visitor), {"$type": "track", "$user_id": "ghost", "$event_id": "x"}]
    assert verify(events, [visitor]) == [
        "flask visitor 1: POST /api/plan answered 500: boom",
        "1 event(s) for unknown user ghost",
    ]


def _webhook_visitor() -> tuple[Visitor, dict[str, Any]]:
    visitor = _visitor()
    webhook = {"$type": "revenue", "$user_id": "u1", "$amount": 29, "currency": "EUR",
               "transaction_id": "evt_1", "$visitor_id": None}  # fmt: skip
    visitor.expected.append(webhook)
    return visitor, webhook


def test_a_webhook_payment_stored_once_without_a_visitor_passes() -> None:
    visitor, webhook = _webhook_visitor()
    events = _delivered(visitor)
    events[-1] = {k: v for k, v in webhook.items() if v is not None}
    events[-1]["$event_id"] = str(uuid.uuid4())
    assert verify(events, [visitor]) == []


def test_a_webhook_payment_counted_twice_is_a_failure() -> None:
    visitor, webhook = _webhook_visitor()
    events = _delivered(visitor)
    events[-1] = {k: v for k, v in webhook.items() if v is not None}
    for _ in range(2):  # a second delivery with a new id: no idempotency key
        events.append({**events[-1], "$event_id": str(uuid.uuid4())})
    events.pop(-3)
    assert verify(events, [visitor]) == ["flask visitor 1: unexpected revenue 29 EUR"]
