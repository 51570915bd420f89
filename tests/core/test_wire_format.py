"""What goes on the wire: exactly the contract in shared/ripples-api.md."""

from __future__ import annotations

import enum
import re
import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Callable

import pytest

import ripples
from ripples import Ripples
from ripples.dev import DevServer

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
SENT_AT_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
VISITOR = "3f2b8c1e-6a4d-4e8f-9b7a-1c2d3e4f5a6b"


def sent(server: DevServer, client: Ripples, count: int = 1) -> list[dict[str, Any]]:
    assert client.flush(timeout=10)
    return server.wait_for(count)


def test_track_carries_every_system_field(server: DevServer, client: Ripples) -> None:
    client.track(
        "added transaction", "user_123", area="transactions", activated=True, plan="annual"
    )
    [event] = sent(server, client)
    assert UUID_RE.match(event.pop("$event_id"))
    assert SENT_AT_RE.match(event.pop("$sent_at"))
    assert event == {
        "$type": "track",
        "$name": "added transaction",
        "$area": "transactions",
        "$activated": True,
        "$user_id": "user_123",
        "$sdk_name": "python",
        "$sdk_version": ripples.__version__,
        "$platform": "server",
        "plan": "annual",
    }


def test_optional_track_fields_are_omitted_not_null(server: DevServer, client: Ripples) -> None:
    client.track("created a budget", "u1")
    [event] = sent(server, client)
    assert "$area" not in event and "$activated" not in event and "$visitor_id" not in event


def test_revenue_signup_identify(server: DevServer, client: Ripples) -> None:
    client.revenue(
        49.99,
        "u1",
        email="a@example.com",
        currency="EUR",
        transaction_id="txn_1",
        name="Pro Plan",
        coupon="WELCOME20",
    )
    client.revenue(-29.99, "u1", transaction_id="txn_1")
    client.signup("u1", email="a@example.com", name="Jane", referral="twitter")
    client.identify("u1", avatar_url="https://example.com/a.png", company="Acme", seats=3)
    events = sent(server, client, 4)
    revenue, refund, signup, identify = events
    assert revenue["$type"] == "revenue" and revenue["$amount"] == 49.99
    assert revenue["currency"] == "EUR" and revenue["coupon"] == "WELCOME20"
    assert refund["$amount"] == -29.99
    assert signup["$type"] == "signup" and signup["referral"] == "twitter"
    assert identify["$type"] == "identify" and identify["seats"] == 3
    assert all(e["$user_id"] == "u1" for e in events)


def test_event_ids_are_unique(server: DevServer, client: Ripples) -> None:
    for i in range(300):
        client.track("did", f"u{i}")
    events = sent(server, client, 300)
    assert len({e["$event_id"] for e in events}) == 300


def test_subscription_matches_the_contract(server: DevServer, client: Ripples) -> None:
    client.subscription("sub_1", "u1", "active", 29.00, currency="USD", plan="Pro")
    client.subscription(
        "sub_2", "u2", "trialing", Decimal("9.99"), "year", interval_count=2, name="Team"
    )
    first, second = sent(server, client, 2)
    assert first["$type"] == "revenue" and first["$amount"] == 0
    assert first["subscription_id"] == "sub_1"
    assert first["subscription_status"] == "active"
    assert first["subscription_amount"] == "2900"
    assert first["billing_interval"] == "month"
    assert first["billing_interval_count"] == "1"
    assert first["currency"] == "USD" and first["$name"] == "Pro" and "plan" not in first
    assert second["subscription_amount"] == "999"
    assert second["billing_interval"] == "year" and second["billing_interval_count"] == "2"
    assert second["$name"] == "Team"


def test_decimal_and_int_amounts(server: DevServer, client: Ripples) -> None:
    client.revenue(Decimal("49.99"), "u1")
    client.revenue(100, "u1")
    a, b = sent(server, client, 2)
    assert a["$amount"] == 49.99 and b["$amount"] == 100


class Plan(enum.Enum):
    PRO = "pro"


def test_rich_property_values_become_json(server: DevServer, client: Ripples) -> None:
    when = datetime(2026, 11, 26, 10, 0, tzinfo=timezone.utc)
    ident = uuid.UUID("12345678-1234-5678-1234-567812345678")
    client.track(
        "exported",
        "u1",
        price=Decimal("19.90"),
        at=when,
        day=date(2026, 11, 26),
        ref=ident,
        plan=Plan.PRO,
        tags=("a", "b"),
        meta={"nested": {"n": 1, 2: [Decimal("1.5")]}},
        none=None,
    )
    [event] = sent(server, client)
    assert event["price"] == 19.9
    assert event["at"] == "2026-11-26T10:00:00+00:00"
    assert event["day"] == "2026-11-26"
    assert event["ref"] == str(ident)
    assert event["plan"] == "pro"
    assert event["tags"] == ["a", "b"]
    assert event["meta"] == {"nested": {"n": 1, "2": [1.5]}}
    assert event["none"] is None


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [
        (datetime(2026, 1, 2, 3, 4, 5), "2026-01-02T03:04:05Z"),
        (
            datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2))),
            "2026-01-02T01:04:05Z",
        ),
        ("2026-01-02T03:04:05Z", "2026-01-02T03:04:05Z"),
        ("2026-01-02T03:04:05.250+01:00", "2026-01-02T02:04:05Z"),
        (date(2026, 1, 2), "2026-01-02T00:00:00Z"),
    ],
)
def test_backfilled_timestamps(
    server: DevServer, client: Ripples, timestamp: Any, expected: str
) -> None:
    client.signup("u1", timestamp=timestamp)
    [event] = sent(server, client)
    assert event["$sent_at"] == expected


def test_now_is_utc(server: DevServer, client: Ripples) -> None:
    before = datetime.now(timezone.utc).replace(microsecond=0)
    client.identify("u1")
    [event] = sent(server, client)
    stamp = datetime.strptime(event["$sent_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    assert before - timedelta(seconds=1) <= stamp <= datetime.now(timezone.utc)


def test_visitor_precedence(server: DevServer, make_client: Callable[..., Ripples]) -> None:
    other = "a1b2c3d4-0000-4000-8000-000000000001"
    pinned = make_client(visitor_id="A1B2C3D4-0000-4000-8000-0000000000FF")
    pinned.track("default", "u1")
    with ripples.bind_visitor(VISITOR):
        pinned.track("bound", "u1")
        pinned.track("explicit", "u1", ripples_visitor_id=other)
        pinned.track("alias", "u1", visitor_id=other.upper())
        pinned.track("malformed explicit", "u1", ripples_visitor_id="not-a-uuid")
        pinned.track("dollar", "u1", **{"$visitor_id": other})
    assert pinned.flush(timeout=10)
    by_name = {e["$name"]: e.get("$visitor_id") for e in server.wait_for(6)}
    assert by_name == {
        "default": "a1b2c3d4-0000-4000-8000-0000000000ff",
        "bound": VISITOR,
        "explicit": other,
        "alias": other,
        "malformed explicit": VISITOR,
        "dollar": other,
    }


def test_malformed_visitor_is_never_sent(server: DevServer, client: Ripples) -> None:
    for junk in ("", "   ", "null", "3f2b8c1e6a4d4e8f9b7a1c2d3e4f5a6b", VISITOR + "x", "💥"):
        client.signup("u1", ripples_visitor_id=junk)
    events = sent(server, client, 6)
    assert all("$visitor_id" not in e for e in events)


def test_visitor_id_from_cookies() -> None:
    assert ripples.VISITOR_COOKIE == "_rpl_vid"
    assert ripples.visitor_id_from_cookies({"_rpl_vid": VISITOR.upper()}) == VISITOR
    assert ripples.visitor_id_from_cookies({"_rpl_vid": f'"{VISITOR}"'}) == VISITOR
    assert ripples.visitor_id_from_cookies({"_rpl_vid": "junk"}) is None
    assert ripples.visitor_id_from_cookies({}) is None


def test_sdk_speaks_with_the_documented_headers(server: DevServer, client: Ripples) -> None:
    client.track("x", "u1")
    assert client.flush(timeout=10)
    headers = {k.lower(): v for k, v in server.last_request_headers.items()}
    assert headers["authorization"] == "Bearer priv_test_0123456789abcdef"
    assert headers["content-type"] == "application/json"
    assert headers["accept"] == "application/json"
    assert headers["user-agent"] == f"ripples-python/{ripples.__version__}"
    assert "content-encoding" not in headers


def test_base_url_trailing_slash_is_removed(
    server: DevServer, make_client: Callable[..., Ripples]
) -> None:
    client = make_client(base_url=server.url + "/")
    client.track("x", "u1")
    assert client.flush(timeout=10)
    assert server.wait_for(1)
