"""The product journey a simulated visitor plays through an example's JSON API.

Every step records the event it must produce, computed here from the API's answers
and never from the app's code, so the check compares two independent accounts.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable, Optional

import requests

from ._apps import DemoError

ACTIVATION_ENTRIES = 10
PRICES = {"pro": Decimal("29.00"), "team": Decimal("99.00")}
YEARLY = {"pro": Decimal("290.00"), "team": Decimal("990.00")}
CURRENCIES = ("EUR", "USD", "GBP")
#: Examples with a Stripe-style payment webhook, and its path.
WEBHOOKS = {"django": "/webhooks/stripe"}
#: Webhooks are delivered at least once; the demo delivers each one this many times.
WEBHOOK_DELIVERIES = 2


@dataclass
class Visitor:
    """One simulated person; ``visitor_id`` is None for an API client without the cookie."""

    app: str
    index: int
    visitor_id: Optional[str]
    user_id: str = ""
    expected: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""

    @property
    def plan(self) -> str:
        return "team" if self.index % 2 else "pro"

    @property
    def currency(self) -> str:
        return CURRENCIES[self.index % len(CURRENCIES)]

    @property
    def refunds(self) -> bool:
        return self.index % 3 == 1

    @property
    def label(self) -> str:
        return f"{self.app} visitor {self.index + 1}"


def make_visitors(app: str, count: int) -> list[Visitor]:
    """``count`` browsers with their own cookie, plus one API client without one."""
    browsers = [Visitor(app, index, str(uuid.uuid4())) for index in range(count)]
    return [*browsers, Visitor(app, count, None)]


def journey_requests(visitor: Visitor) -> int:
    """How many requests ``play`` makes for ``visitor`` (for the progress line)."""
    webhooks = WEBHOOK_DELIVERIES if visitor.app in WEBHOOKS else 0
    return 6 + ACTIVATION_ENTRIES + visitor.refunds + webhooks


def play(visitor: Visitor, base_url: str, tick: Callable[[], None] = lambda: None) -> Visitor:
    """Walk the journey through the JSON API; a failure is recorded on ``visitor.error``."""
    with requests.Session() as http:
        try:
            _walk(visitor, _Caller(http, base_url, tick))
        except (DemoError, requests.RequestException, KeyError, ValueError) as exc:
            visitor.error = f"{visitor.label}: {exc}"
    return visitor


class _Caller:
    """One browser's HTTP calls: JSON in and out, any non-2xx answer is a DemoError."""

    def __init__(self, http: requests.Session, base_url: str, tick: Callable[[], None]) -> None:
        self.http, self.base_url, self.tick = http, base_url, tick

    def __call__(self, method: str, path: str, body: Optional[dict[str, Any]] = None) -> Any:
        response = self.http.request(method, self.base_url + path, json=body, timeout=20)
        self.tick()
        if response.status_code >= 300:
            raise DemoError(
                f"{method} {path} answered {response.status_code}: {response.text[:200]}"
            )
        return response.json() if path.startswith("/api/") else None

    def deliver(self, path: str, body: dict[str, Any]) -> None:
        """POST as a payment provider would: no browser cookie, no user token."""
        response = requests.post(self.base_url + path, json=body, timeout=20)
        self.tick()
        if response.status_code >= 300:
            raise DemoError(f"POST {path} answered {response.status_code}: {response.text[:200]}")


def _walk(visitor: Visitor, call: _Caller) -> None:
    def expect(kind: str, fields: dict[str, Any]) -> None:
        visitor.expected.append({"$type": kind, "$user_id": visitor.user_id, **fields})

    call("GET", "/")
    if visitor.visitor_id:  # what the browser script does on that page
        call.http.cookies.set("_rpl_vid", visitor.visitor_id, domain="127.0.0.1", path="/")
    email = f"visitor{visitor.index + 1}@{visitor.app}.example.com"
    signup = {"email": email, "name": visitor.label, "password": "demo-pass-123"}
    account = call("POST", "/api/register", signup)
    visitor.user_id = account["user_id"]
    call.http.headers["Authorization"] = f"Bearer {account['token']}"
    expect("signup", {"email": email})

    budget = call("POST", "/api/budgets", {"name": "Groceries", "limit": "400.00"})
    expect("track", {"$name": "created a budget", "$area": "budgets"})
    for number in range(1, ACTIVATION_ENTRIES + 1):
        entry = {"amount": "12.50", "description": f"expense {number}"}
        call("POST", f"/api/budgets/{budget['id']}/transactions", entry)
        activated = True if number == ACTIVATION_ENTRIES else None
        expect("track", {"$name": "added transaction", "$area": "transactions",
                         "$activated": activated})  # fmt: skip

    order = {"plan": visitor.plan, "currency": visitor.currency}
    txn = call("POST", "/api/payments", order)["transaction_id"]
    price, money = PRICES[visitor.plan], {"currency": visitor.currency, "transaction_id": txn}
    expect("revenue", {"$amount": price, **money})
    if visitor.refunds:
        call("POST", f"/api/payments/{txn}/refund")
        expect("revenue", {"$amount": -price, **money})

    webhook = WEBHOOKS.get(visitor.app)
    if webhook:  # the provider reports a renewal; its retry delivers the same event again
        event_id = f"evt_demo_{uuid.uuid4().hex[:16]}"
        payment = {"amount": int(price * 100), "currency": visitor.currency.lower(),
                   "customer": visitor.user_id}  # fmt: skip
        delivery = {"id": event_id, "type": "invoice.paid", "data": {"object": payment}}
        for _ in range(WEBHOOK_DELIVERIES):
            call.deliver(webhook, delivery)
        expect("revenue", {"$amount": price, "currency": visitor.currency,
                           "transaction_id": event_id, "$visitor_id": None})  # fmt: skip

    change = {"plan": visitor.plan, "interval": "year", "currency": visitor.currency}
    subscription_id = call("POST", "/api/plan", change)["subscription_id"]
    expect("revenue", {
        "$amount": 0, "subscription_id": subscription_id, "subscription_status": "active",
        "subscription_amount": str(int(YEARLY[visitor.plan] * 100)),
        "billing_interval": "year", "currency": visitor.currency,
    })  # fmt: skip

    profile = {"name": f"{visitor.label} (edited)", "company": "Acme"}
    call("PATCH", "/api/profile", profile)
    expect("identify", profile)
