"""The inspector's panels on a known data set, through ``GET /api/summary``."""

from __future__ import annotations

import uuid
from typing import Any

import requests

from ripples.dev import DevServer

from .wire import event, post


def _track(user: str, name: str, area: str | None = None, **extra: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {"$user_id": user, "$name": name, **extra}
    if area:
        fields["$area"] = area
    return event("track", **fields)


def _revenue(user: str, amount: float, **extra: Any) -> dict[str, Any]:
    return event("revenue", **{"$user_id": user, "$amount": amount}, **extra)


def known_events() -> list[dict[str, Any]]:
    visitor = {"$visitor_id": str(uuid.uuid4())}
    return [
        # 4 signups, 3 of them from a browser visitor; ann signs up twice (a retry with a new id)
        event("signup", **{"$user_id": "ann"}, **visitor),
        event("signup", **{"$user_id": "ann"}, **visitor),
        event("signup", **{"$user_id": "bob", "$visitor_id": str(uuid.uuid4())}),
        event("signup", **{"$user_id": "cat"}),
        event("identify", **{"$user_id": "dan"}, email="dan@example.com"),
        # revenue: default currency 49.99 + 10 - 29.99 = 30; EUR 100 - 100 = 0; usd lowercased
        _revenue("ann", 49.99),
        _revenue("bob", 10),
        _revenue("ann", -29.99, transaction_id="txn_1"),
        _revenue("cat", 100, currency="EUR"),
        _revenue("cat", -100, currency="EUR"),
        _revenue("dan", 0.1, currency="usd"),
        _revenue("dan", 0.2, currency="USD"),
        # subscriptions: $amount 0, not revenue
        _revenue(
            "ann",
            0,
            subscription_id="sub_1",
            subscription_status="active",
            subscription_amount="2900",
            billing_interval="month",
        ),
        _revenue(
            "ann",
            0,
            subscription_id="sub_1",
            subscription_status="canceled",
            subscription_amount="2900",
            billing_interval="month",
        ),
        _revenue(
            "bob",
            0,
            subscription_id="sub_2",
            subscription_status="trialing",
            subscription_amount="900",
            billing_interval="year",
        ),
        # activation: 4 users seen (ann, bob, cat, dan)
        _track("ann", "created a budget", "budgets", **{"$sent_at": "2026-11-20T09:00:00Z"}),
        _track("ann", "created a budget", "budgets", **{"$sent_at": "2026-11-21T09:00:00Z"}),
        _track("bob", "created a budget", "budgets", **{"$sent_at": "2026-11-19T08:00:00Z"}),
        _track(
            "ann",
            "added transaction",
            "transactions",
            **{"$activated": True, "$sent_at": "2026-11-22T10:00:00Z"},
        ),
        _track("cat", "added transaction", "transactions", **{"$activated": False}),
        _track("cat", "exported csv"),
        _track(
            "bob",
            "added transaction",
            "transactions",
            **{"$activated": True, "$sent_at": "2026-11-23T10:00:00Z"},
        ),
    ]


def test_the_summary_of_a_known_data_set(server: DevServer) -> None:
    assert post(server, known_events()).status_code == 200

    summary = requests.get(server.url + "/api/summary", timeout=10).json()

    assert summary["events"] == 22
    assert summary["by_type"] == {"signup": 4, "identify": 1, "revenue": 10, "track": 7}
    assert summary["users_seen"] == 4
    assert summary["signups"] == {
        "total": 4,
        "users": 3,
        "linked_to_visitor": 3,
        "linked_rate": 0.75,
    }
    assert summary["revenue"] == [
        {
            "currency": "EUR",
            "net": 0.0,
            "gross": 100.0,
            "refunded": 100.0,
            "payments": 1,
            "refunds": 1,
        },
        {"currency": "USD", "net": 0.3, "gross": 0.3, "refunded": 0.0, "payments": 2, "refunds": 0},
        {
            "currency": "default",
            "net": 30.0,
            "gross": 59.99,
            "refunded": 29.99,
            "payments": 2,
            "refunds": 1,
        },
    ]
    assert summary["subscriptions"] == {"events": 3, "subscriptions": 2}

    activation = summary["activation"]
    assert activation["actions"] == [
        {
            "action": "added transaction",
            "area": "transactions",
            "users": 3,
            "events": 3,
            "first_seen": "2026-11-22T10:00:00Z",
            "activated": 2,
        },
        {
            "action": "created a budget",
            "area": "budgets",
            "users": 2,
            "events": 3,
            "first_seen": "2026-11-19T08:00:00Z",
            "activated": 0,
        },
        {
            "action": "exported csv",
            "area": None,
            "users": 1,
            "events": 1,
            "first_seen": "2026-11-26T10:00:00Z",
            "activated": 0,
        },
    ]
    assert activation["areas"] == [
        {"area": "transactions", "users": 3, "adoption": 0.75},
        {"area": "budgets", "users": 2, "adoption": 0.5},
    ]
    assert activation["activated_users"] == 2
    assert activation["activated_rate"] == 0.5
    assert activation["moments"] == [
        {
            "user_id": "bob",
            "action": "added transaction",
            "area": "transactions",
            "sent_at": "2026-11-23T10:00:00Z",
        },
        {
            "user_id": "ann",
            "action": "added transaction",
            "area": "transactions",
            "sent_at": "2026-11-22T10:00:00Z",
        },
    ]
    assert server.summary() == summary


def test_the_summary_of_an_empty_store_is_all_zeros(server: DevServer) -> None:
    summary = server.summary()

    assert summary["events"] == 0
    assert summary["signups"]["linked_rate"] == 0.0
    assert summary["revenue"] == []
    assert summary["activation"]["actions"] == []
    assert summary["activation"]["activated_rate"] == 0.0
