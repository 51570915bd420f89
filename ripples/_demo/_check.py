"""Checking what the collector stored against what the journeys expected, and summarising it."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from ._apps import RunningApp
from ._journey import WEBHOOK_DELIVERIES, Visitor


def _matches(event: dict[str, Any], expected: dict[str, Any]) -> bool:
    for key, want in expected.items():
        have = event.get(key)
        if key == "$activated":
            if bool(have) != bool(want):
                return False
        elif key == "$amount":
            try:
                if Decimal(str(have)) != Decimal(str(want)):
                    return False
            except ArithmeticError:
                return False
        elif have != want:
            return False
    return True


def verify(events: list[dict[str, Any]], visitors: Sequence[Visitor]) -> list[str]:
    """Every problem found; empty means each expected event arrived once, rightly attributed."""
    problems = [visitor.error for visitor in visitors if visitor.error]
    ids = Counter(event.get("$event_id") for event in events)
    problems += [f"event {eid} stored {n} times" for eid, n in ids.items() if n > 1]
    by_user: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        by_user[str(event.get("$user_id"))].append(event)
    for visitor in visitors:
        unmatched = list(by_user.pop(visitor.user_id, []))
        for expected in visitor.expected:
            found = next((e for e in unmatched if _matches(e, expected)), None)
            if found is None:
                problems.append(f"{visitor.label}: missing {_describe(expected)}")
                continue
            unmatched.remove(found)
            # A server-to-server call (a webhook) names its own visitor: none.
            if "$visitor_id" not in expected and found.get("$visitor_id") != visitor.visitor_id:
                want = visitor.visitor_id or "no visitor"
                problems.append(
                    f"{visitor.label}: {_describe(expected)} carried visitor "
                    f"{found.get('$visitor_id', 'none')}, expected {want}"
                )
        problems += [f"{visitor.label}: unexpected {_describe(e)}" for e in unmatched]
    for user_id, extra in by_user.items():
        problems.append(f"{len(extra)} event(s) for unknown user {user_id}")
    return problems


def _describe(event: dict[str, Any]) -> str:
    kind = event.get("$type")
    if "subscription_id" in event:
        return "subscription change"
    if kind == "track":
        suffix = " (activated)" if event.get("$activated") else ""
        return f"track {event.get('$name')!r}{suffix}"
    if kind == "revenue":
        return f"revenue {event.get('$amount')} {event.get('currency', '')}".rstrip()
    return str(kind)


def summarize(app: RunningApp, visitors: Sequence[Visitor], events: list[dict[str, Any]]) -> str:
    """The report block of one app: what arrived, and what it means for the product."""
    users = {visitor.user_id: visitor for visitor in visitors}
    mine = [event for event in events if event.get("$user_id") in users]
    kinds = Counter(str(event.get("$type")) for event in mine)
    linked = sum(
        1
        for e in mine
        if e.get("$type") == "signup"
        and e.get("$visitor_id") is not None
        and e.get("$visitor_id") == users[e["$user_id"]].visitor_id
    )
    browsers = sum(1 for visitor in visitors if visitor.visitor_id)
    received = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
    return "\n".join([
        f"{app.example.name:<8} {_server(app.example.serve, app.example.server)} at {app.url}",
        f"  events      {len(mine)} received" + (f": {received}" if received else ""),
        f"  signups     {linked} of {browsers} browser signups linked to their visitor; "
        f"{_count(len(visitors) - browsers, 'API client')} without cookie",
        f"  revenue     {_revenue(mine)}",
        f"  activation  {_activation(mine)}",
        *_webhooks(mine),
    ])  # fmt: skip


def _server(args: Sequence[str], server: str) -> str:
    def option(name: str) -> str:
        return args[args.index(name) + 1] if name in args else "1"

    if server == "gunicorn":
        return f"gunicorn ({option('--workers')} workers x {option('--threads')} threads)"
    return f"{server} ({_count(int(option('--workers')), 'worker')})"


def _revenue(events: list[dict[str, Any]]) -> str:
    """Net revenue per currency after refunds; subscription changes are counted apart."""
    net: dict[str, Decimal] = defaultdict(Decimal)
    moves: Counter[str] = Counter()
    for event in events:
        if "subscription_id" in event:
            moves["subscription change"] += 1
        elif event.get("$type") == "revenue":
            amount = Decimal(str(event.get("$amount", 0)))
            net[str(event.get("currency", "default"))] += amount
            moves["refund" if amount < 0 else "payment"] += 1
    if not moves:
        return "none"
    totals = ", ".join(f"{currency} {amount:.2f}" for currency, amount in sorted(net.items()))
    counts = ", ".join(
        _count(moves[kind], kind) for kind in ("payment", "refund", "subscription change")
    )
    return f"net of refunds: {totals or 'nothing'} ({counts})"


def _webhooks(events: list[dict[str, Any]]) -> list[str]:
    """A line on the payments that came by webhook (``evt_`` ids), when there were any."""
    count = sum(
        1
        for event in events
        if event.get("$type") == "revenue" and str(event.get("transaction_id")).startswith("evt_")
    )
    if not count:
        return []
    return [
        f"  webhooks    {_count(count, 'payment')} by webhook, each delivered "
        f"{WEBHOOK_DELIVERIES} times and stored once (idempotency key)"
    ]


def _activation(events: list[dict[str, Any]]) -> str:
    """Per product area: how many users acted there, and how many of them activated."""
    areas: dict[str, tuple[set[str], set[str]]] = defaultdict(lambda: (set(), set()))
    for event in events:
        if event.get("$type") == "track" and event.get("$area"):
            active, activated = areas[event["$area"]]
            active.add(event["$user_id"])
            if event.get("$activated"):
                activated.add(event["$user_id"])
    if not areas:
        return "no tracked area"
    return "; ".join(
        f"{area}: {len(activated)} of {len(active)} users activated"
        for area, (active, activated) in sorted(areas.items())
    )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
