"""The inspector's panels, computed from stored events the way the dashboard describes them.

- Signups: how many, and how many carry a browser ``$visitor_id`` (the link
  to the anonymous session and its traffic source).
- Revenue: net per currency; refunds are negative amounts and subtract.
  Subscription events (``$amount`` 0 with a ``subscription_id``) feed MRR,
  not revenue, so they are counted apart. No ``currency`` key means the
  account's default currency, shown as ``"default"``.
- Activation: for each action, every user's first occurrence is an
  auto-detected activation moment; ``$activated: true`` marks explicit ones;
  adoption per area is users with any action in the area / users seen.

Aggregation is SQL, so the page stays quick on a store of a million events.
"""

from __future__ import annotations

from typing import Any

from ._store import EventStore

_MOMENTS_SHOWN = 50


def _money(value: Any) -> float:
    # Sums of float amounts carry binary noise (0.1 + 0.2); cents need far fewer digits.
    return round(float(value or 0), 6)


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def summarize(store: EventStore) -> dict[str, Any]:
    """Every panel as one JSON-ready dict (see ``GET /api/summary`` in docs/dev-server.md)."""
    query = store.query
    total, users_seen = query("SELECT COUNT(*), COUNT(DISTINCT user_id) FROM events")[0]
    by_type = {kind: n for kind, n in query("SELECT type, COUNT(*) FROM events GROUP BY type")}

    signups, linked, signup_users = query(
        "SELECT COUNT(*), COUNT(visitor_id), COUNT(DISTINCT user_id) FROM events"
        " WHERE type = 'signup'"
    )[0]

    revenue = [
        {
            "currency": currency,
            "net": _money(net),
            "gross": _money(gross),
            "refunded": _money(refunded),
            "payments": payments,
            "refunds": refunds,
        }
        for currency, net, gross, refunded, payments, refunds in query(
            "SELECT currency, SUM(amount),"
            " SUM(CASE WHEN amount > 0 THEN amount ELSE 0 END),"
            " -SUM(CASE WHEN amount < 0 THEN amount ELSE 0 END),"
            " SUM(amount >= 0), SUM(amount < 0)"
            " FROM events WHERE type = 'revenue' AND subscription_id IS NULL"
            " GROUP BY currency ORDER BY currency"
        )
    ]
    subscription_events, subscriptions = query(
        "SELECT COUNT(*), COUNT(DISTINCT subscription_id) FROM events"
        " WHERE subscription_id IS NOT NULL"
    )[0]

    actions = [
        {
            "action": name,
            "area": area,
            "users": users,
            "events": events,
            "first_seen": first_seen,
            "activated": activated,
        }
        for name, area, users, events, first_seen, activated in query(
            "SELECT name, area, COUNT(DISTINCT user_id), COUNT(*), MIN(sent_at), SUM(activated)"
            " FROM events WHERE type = 'track'"
            " GROUP BY name, area ORDER BY COUNT(DISTINCT user_id) DESC, name"
        )
    ]
    areas = [
        {"area": area, "users": users, "adoption": _rate(users, users_seen)}
        for area, users in query(
            "SELECT area, COUNT(DISTINCT user_id) FROM events"
            " WHERE type = 'track' AND area IS NOT NULL"
            " GROUP BY area ORDER BY COUNT(DISTINCT user_id) DESC, area"
        )
    ]
    activated_users = query(
        "SELECT COUNT(DISTINCT user_id) FROM events WHERE type = 'track' AND activated = 1"
    )[0][0]
    moments = [
        {"user_id": user, "action": name, "area": area, "sent_at": sent_at}
        for user, name, area, sent_at in query(
            "SELECT user_id, name, area, sent_at FROM events"
            " WHERE type = 'track' AND activated = 1 ORDER BY sent_at DESC, seq DESC LIMIT ?",
            (_MOMENTS_SHOWN,),
        )
    ]

    return {
        "events": total,
        "by_type": by_type,
        "users_seen": users_seen,
        "signups": {
            "total": signups,
            "users": signup_users,
            "linked_to_visitor": linked,
            "linked_rate": _rate(linked, signups),
        },
        "revenue": revenue,
        "subscriptions": {"events": subscription_events, "subscriptions": subscriptions},
        "activation": {
            "actions": actions,
            "areas": areas,
            "activated_users": activated_users,
            "activated_rate": _rate(activated_users, users_seen),
            "moments": moments,
        },
    }
