"""Rendering recorded events as a readable table, for ``ripples.testing``'s failure messages.

One row per event, oldest first: its kind, user, name or amount, visitor, optionally why
it did not match an assertion, and its other fields. The fields every event carries are
left out unless asked for, since they never tell events apart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Callable, Optional

#: Fields every event carries; shown only when asked for, they never identify an event.
BOILERPLATE = frozenset({"$event_id", "$sent_at", "$sdk_name", "$sdk_version", "$platform"})
#: A ``revenue`` event carrying these is a subscription change, not a payment.
SUBSCRIPTION_KEYS = ("subscription_id", "subscription_status")
MAX_CELL = 40

Explain = Callable[[Mapping[str, Any]], str]


def event_kind(event: Mapping[str, Any]) -> Any:
    """The event's ``$type``, except that subscription changes are ``"subscription"``."""
    kind = event.get("$type")
    if kind == "revenue" and all(key in event for key in SUBSCRIPTION_KEYS):
        return "subscription"
    return kind


def short(value: Any) -> str:
    """``repr(value)``, cut to ``MAX_CELL`` characters."""
    text = repr(value)
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 3] + "..."


def summary(event: Mapping[str, Any]) -> str:
    """One event in a few words: kind, user, and name or amount."""
    parts = [str(event_kind(event)), repr(event.get("$user_id"))]
    if "$name" in event or "$amount" in event:
        parts.append(repr(event.get("$name", event.get("$amount"))))
    return " ".join(parts)


def render(
    events: Sequence[Mapping[str, Any]],
    explain: Optional[Explain] = None,
    *,
    all_fields: bool = False,
) -> str:
    """The table; with ``explain``, a "why it differs" column filled by ``explain(event)``."""
    header = ["#", "kind", "$user_id", "$name / $amount", "$visitor_id"]
    header += ["other fields"] if explain is None else ["why it differs", "other fields"]
    hidden = {"$type", "$user_id", "$name", "$amount", "$visitor_id"}
    if not all_fields:
        hidden |= BOILERPLATE
    rows = [header]
    for number, event in enumerate(events, 1):
        main = event.get("$name", event.get("$amount", ""))
        row = [
            str(number),
            str(event_kind(event)),
            short(event["$user_id"]) if "$user_id" in event else "-",
            "" if main == "" else short(main),
            str(event.get("$visitor_id", "-")),
        ]
        if explain is not None:
            row.append(explain(event))
        row.append(", ".join(f"{k}={short(v)}" for k, v in event.items() if k not in hidden))
        rows.append(row)
    widths = [max(len(row[col]) for row in rows) for col in range(len(header))]
    rows.insert(1, ["-" * width for width in widths])
    return "\n".join(
        "  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
        for row in rows
    )
