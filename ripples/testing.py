"""Test support for apps that use Ripples: record events instead of sending them.

    with record_events() as events:
        client.signup("u1", email="jane@example.com")
    assert_signup(events, "u1", email="jane@example.com")

While a recorder is active, every event that any ``Ripples`` client in the
process would send (including the ones the Django, Flask and ASGI integrations
build) is captured as its exact wire dict, in order, from every thread, and is
not sent. Calls are validated first, exactly as in production, so a bad call
still fails the test. The pytest fixture ``ripples_events`` wraps this.

The assertion helpers take the recorder or any list of wire dicts. Arguments
left as ``None`` are not checked; pass ``ABSENT`` to require that a field is
missing (e.g. ``visitor_id=ABSENT``). ``idempotency_key="stripe:evt_1"`` matches
the event a tracking call made with that key (its derived ``$event_id``). On
failure they raise ``AssertionError`` with a table of what was recorded
instead, so a test failure says what the code under test did.
"""

from __future__ import annotations

from typing import Any

from ._event_table import render
from ._matching import (
    ABSENT,
    Cents,
    Event,
    Events,
    Expected,
    checked,
    listed,
    wire_fields,
    wire_user_id,
)
from ._recorder import EventRecorder

__all__ = [
    "ABSENT",
    "EventRecorder",
    "assert_identified",
    "assert_not_tracked",
    "assert_revenue",
    "assert_signup",
    "assert_subscription",
    "assert_tracked",
    "format_events",
    "record_events",
]

EventRecorder.__module__ = __name__


def record_events() -> EventRecorder:
    """A recorder to use as ``with record_events() as events:``."""
    return EventRecorder()


# assertions -----------------------------------------------------------------


def assert_tracked(
    events: Events,
    action_name: str,
    *,
    user_id: Any = None,
    area: Any = None,
    activated: bool | None = None,
    visitor_id: Any = None,
    idempotency_key: str | None = None,
    **props: Any,
) -> Event:
    """Assert a ``track`` event for ``action_name`` matching the given fields; return it."""
    __tracebackhide__ = True  # pytest: show the caller's line, not ours
    expected = _track_expected(
        action_name, user_id, area, activated, visitor_id, idempotency_key, props
    )
    return expected.assert_one(events)


def assert_not_tracked(
    events: Events,
    action_name: str,
    *,
    user_id: Any = None,
    area: Any = None,
    activated: bool | None = None,
    visitor_id: Any = None,
    idempotency_key: str | None = None,
    **props: Any,
) -> None:
    """Assert that no ``track`` event matches ``action_name`` and the given fields."""
    __tracebackhide__ = True
    expected = _track_expected(
        action_name, user_id, area, activated, visitor_id, idempotency_key, props
    )
    matching = [event for event in events if expected.matches(event)]
    if matching:
        raise listed(
            f"expected no {expected.describe()}, but {len(matching)} matched:\n"
            + format_events(matching)
        )


def assert_signup(
    events: Events,
    user_id: Any = None,
    *,
    visitor_id: Any = None,
    idempotency_key: str | None = None,
    **props: Any,
) -> Event:
    """Assert a ``signup`` event matching the given fields; return it."""
    __tracebackhide__ = True
    fields = wire_fields(user_id=user_id, visitor_id=visitor_id, idempotency_key=idempotency_key)
    return Expected("signup", fields, props).assert_one(events)


def assert_identified(
    events: Events,
    user_id: Any = None,
    *,
    visitor_id: Any = None,
    idempotency_key: str | None = None,
    **traits: Any,
) -> Event:
    """Assert an ``identify`` event matching the given fields and traits; return it."""
    __tracebackhide__ = True
    fields = wire_fields(user_id=user_id, visitor_id=visitor_id, idempotency_key=idempotency_key)
    return Expected("identify", fields, traits).assert_one(events)


def assert_revenue(
    events: Events,
    amount: Any = None,
    user_id: Any = None,
    *,
    visitor_id: Any = None,
    idempotency_key: str | None = None,
    **props: Any,
) -> Event:
    """Assert a payment or refund (negative ``amount``) matching the given fields; return it.

    Amounts compare as numbers, so ``Decimal("49.99")`` matches ``49.99``.
    Subscription changes (also ``revenue`` on the wire) never match here.
    """
    __tracebackhide__ = True
    fields = wire_fields(
        amount=amount, user_id=user_id, visitor_id=visitor_id, idempotency_key=idempotency_key
    )
    return Expected("revenue", fields, props).assert_one(events)


def assert_subscription(
    events: Events,
    subscription_id: Any = None,
    user_id: Any = None,
    *,
    status: str | None = None,
    amount: Any = None,
    interval: str | None = None,
    visitor_id: Any = None,
    idempotency_key: str | None = None,
    **props: Any,
) -> Event:
    """Assert a subscription change matching the given fields; return it.

    ``amount`` is per billing cycle in the currency unit, as passed to
    ``Ripples.subscription`` (29.00 matches the wire's ``"2900"`` cents).
    """
    __tracebackhide__ = True
    fields = wire_fields(user_id=user_id, visitor_id=visitor_id, idempotency_key=idempotency_key)
    fields.update(
        (key, value)
        for key, value in (
            ("subscription_id", wire_user_id(subscription_id)),
            ("subscription_status", status),
            ("subscription_amount", Cents(amount) if checked(amount) else amount),
            ("billing_interval", interval),
        )
        if value is not None
    )
    return Expected("subscription", fields, props).assert_one(events)


def format_events(events: Events, *, all_fields: bool = False) -> str:
    """Render events as a readable table, one row per event, oldest first.

    The fields every event carries (``$event_id``, ``$sent_at``, SDK name...)
    are left out unless ``all_fields`` is true.
    """
    return render([dict(event) for event in events], all_fields=all_fields)


def _track_expected(
    action_name: str,
    user_id: Any,
    area: Any,
    activated: bool | None,
    visitor_id: Any,
    idempotency_key: str | None,
    props: dict[str, Any],
) -> Expected:
    """The ``track`` event that `assert_tracked` and `assert_not_tracked` look for."""
    fields = wire_fields(
        name=action_name,
        user_id=user_id,
        area=area,
        activated=activated,
        visitor_id=visitor_id,
        idempotency_key=idempotency_key,
    )
    return Expected("track", fields, props)
