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

import copy
import datetime as _dt
import enum
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal, InvalidOperation
from types import TracebackType
from typing import Any, overload

from ripples import _recording, event_id_for

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

Event = dict[str, Any]
Events = Iterable[Mapping[str, Any]]


class _Absent:
    """Marker for "this field must not be present on the event"."""

    def __repr__(self) -> str:
        return "ABSENT"


#: Pass as an expected value to require that the field is missing.
ABSENT: Any = _Absent()

#: Fields every event carries; shown only when asked for, they never identify an event.
_BOILERPLATE = frozenset({"$event_id", "$sent_at", "$sdk_name", "$sdk_version", "$platform"})
#: A ``revenue`` event carrying these is a subscription change, not a payment.
_SUBSCRIPTION_KEYS = ("subscription_id", "subscription_status")


class EventRecorder:
    """Captures the wire dict of every event tracked in the process while active.

    Thread-safe: events tracked in other threads (a thread pool, a background
    job, a server thread) are recorded too, in the order they were made. Use it
    as a context manager, or call ``start()``/``stop()``. It behaves as a
    read-only sequence of events; the filters return plain lists.
    """

    def __init__(self) -> None:
        self._events: list[Event] = []
        self._changed = threading.Condition(threading.Lock())
        self._sink = self._record  # one bound method, so remove_sink finds it
        self._active = False

    # lifecycle -----------------------------------------------------------
    def start(self) -> EventRecorder:
        """Begin recording (idempotent); from now on events are not sent."""
        if not self._active:
            _recording.add_sink(self._sink)
            self._active = True
        return self

    def stop(self) -> None:
        """Stop recording (idempotent); the recorded events stay available."""
        if self._active:
            _recording.remove_sink(self._sink)
            self._active = False

    @property
    def active(self) -> bool:
        return self._active

    def __enter__(self) -> EventRecorder:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _record(self, event: Mapping[str, Any]) -> None:
        # A deep copy: later changes to nested values the app passed in must not
        # rewrite history.
        snapshot = copy.deepcopy(dict(event))
        with self._changed:
            self._events.append(snapshot)
            self._changed.notify_all()

    # reading ---------------------------------------------------------------
    @property
    def events(self) -> list[Event]:
        """A snapshot of every recorded event, oldest first."""
        with self._changed:
            return list(self._events)

    def clear(self) -> None:
        """Forget what was recorded so far (e.g. events made by test setup)."""
        with self._changed:
            self._events.clear()

    def __len__(self) -> int:
        with self._changed:
            return len(self._events)

    def __iter__(self) -> Iterator[Event]:
        return iter(self.events)

    @overload
    def __getitem__(self, index: int) -> Event: ...
    @overload
    def __getitem__(self, index: slice) -> list[Event]: ...
    def __getitem__(self, index: int | slice) -> Event | list[Event]:
        with self._changed:
            return self._events[index]

    def __bool__(self) -> bool:
        return len(self) > 0

    def __repr__(self) -> str:
        summary = ", ".join(_summary(event) for event in self.events[:10])
        more = "" if len(self) <= 10 else f", ... ({len(self)} events)"
        state = "recording" if self._active else "stopped"
        return f"<EventRecorder {state}: [{summary}{more}]>"

    def __str__(self) -> str:
        return format_events(self.events)

    # filters ------------------------------------------------------------------
    def filter(
        self,
        *,
        type: str | None = None,
        user_id: Any = None,
        visitor_id: Any = None,
        name: str | None = None,
        idempotency_key: str | None = None,
    ) -> list[Event]:
        """Events matching every given field (``None`` = any)."""
        fields = _wire_fields(
            type=type,
            user_id=user_id,
            name=name,
            visitor_id=visitor_id,
            idempotency_key=idempotency_key,
        )
        expected = _Expected(None, fields)
        return [event for event in self.events if expected.matches(event)]

    def tracked(
        self,
        action_name: str | None = None,
        *,
        user_id: Any = None,
        area: str | None = None,
        idempotency_key: str | None = None,
    ) -> list[Event]:
        """``track`` events, optionally only one action / user / area / idempotency key."""
        fields = _wire_fields(
            name=action_name, user_id=user_id, area=area, idempotency_key=idempotency_key
        )
        expected = _Expected("track", fields)
        return [event for event in self.events if expected.matches(event)]

    def for_user(self, user_id: Any) -> list[Event]:
        return self.filter(user_id=user_id)

    @property
    def signups(self) -> list[Event]:
        return self._of_kind("signup")

    @property
    def identifies(self) -> list[Event]:
        return self._of_kind("identify")

    @property
    def revenue(self) -> list[Event]:
        """Payments and refunds: ``revenue`` events that are not subscription changes."""
        return self._of_kind("revenue")

    @property
    def subscriptions(self) -> list[Event]:
        """Subscription changes (``revenue`` events with ``subscription_id``)."""
        return self._of_kind("subscription")

    def _of_kind(self, kind: str) -> list[Event]:
        return [event for event in self.events if _kind(event) == kind]

    def wait_for(
        self,
        count: int = 1,
        timeout: float = 5.0,
        *,
        type: str | None = None,
        user_id: Any = None,
        name: str | None = None,
        idempotency_key: str | None = None,
    ) -> list[Event]:
        """Wait until ``count`` matching events were recorded, for work done in other threads.

        Returns the matching events; raises ``AssertionError`` listing what was
        recorded when the deadline passes.
        """
        __tracebackhide__ = True
        fields = _wire_fields(
            type=type, user_id=user_id, name=name, idempotency_key=idempotency_key
        )
        expected = _Expected(None, fields)
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [event for event in self._events if expected.matches(event)]
                remaining = deadline - time.monotonic()
                if len(found) >= count or remaining <= 0:
                    break
                self._changed.wait(remaining)
            recorded = list(self._events)
        if len(found) < count:
            raise _listed(
                f"waited {timeout:g}s for {count} {expected.describe(count != 1)}, "
                f"got {len(found)}.\n{expected.listing(recorded)}"
            )
        return found


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
    fields = _wire_fields(
        name=action_name,
        user_id=user_id,
        area=area,
        activated=activated,
        visitor_id=visitor_id,
        idempotency_key=idempotency_key,
    )
    return _Expected("track", fields, props).assert_one(events)


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
    fields = _wire_fields(
        name=action_name,
        user_id=user_id,
        area=area,
        activated=activated,
        visitor_id=visitor_id,
        idempotency_key=idempotency_key,
    )
    expected = _Expected("track", fields, props)
    matching = [event for event in events if expected.matches(event)]
    if matching:
        raise _listed(
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
    fields = _wire_fields(user_id=user_id, visitor_id=visitor_id, idempotency_key=idempotency_key)
    return _Expected("signup", fields, props).assert_one(events)


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
    fields = _wire_fields(user_id=user_id, visitor_id=visitor_id, idempotency_key=idempotency_key)
    return _Expected("identify", fields, traits).assert_one(events)


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
    fields = _wire_fields(
        amount=amount, user_id=user_id, visitor_id=visitor_id, idempotency_key=idempotency_key
    )
    return _Expected("revenue", fields, props).assert_one(events)


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
    fields = _wire_fields(user_id=user_id, visitor_id=visitor_id, idempotency_key=idempotency_key)
    fields.update(
        (key, value)
        for key, value in (
            ("subscription_id", _user_id(subscription_id)),
            ("subscription_status", status),
            ("subscription_amount", _Cents(amount) if _checked(amount) else amount),
            ("billing_interval", interval),
        )
        if value is not None
    )
    return _Expected("subscription", fields, props).assert_one(events)


def format_events(events: Events, *, all_fields: bool = False) -> str:
    """Render events as a readable table, one row per event, oldest first.

    The fields every event carries (``$event_id``, ``$sent_at``, SDK name...)
    are left out unless ``all_fields`` is true.
    """
    return _table([dict(event) for event in events], None, all_fields=all_fields)


# matching -------------------------------------------------------------------


def _kind(event: Mapping[str, Any]) -> Any:
    """The event's ``$type``, except that subscription changes are ``"subscription"``."""
    kind = event.get("$type")
    if kind == "revenue" and all(key in event for key in _SUBSCRIPTION_KEYS):
        return "subscription"
    return kind


def _checked(value: Any) -> bool:
    return value is not None and value is not ABSENT


class _Expected:
    """What an assertion looks for: an event kind plus wire fields to compare."""

    def __init__(
        self, kind: str | None, fields: Mapping[str, Any], props: Mapping[str, Any] | None = None
    ) -> None:
        self.kind = kind
        extra = {k: v for k, v in (props or {}).items() if v is not None}
        self.fields = {**fields, **extra}

    def matches(self, event: Mapping[str, Any]) -> bool:
        return (self.kind is None or _kind(event) == self.kind) and not self.differences(event)

    def differences(self, event: Mapping[str, Any]) -> list[str]:
        """Why ``event`` does not match, one short item per field (empty when it does)."""
        why: list[str] = []
        for key, want in self.fields.items():
            if isinstance(want, _KeyedEventId):
                wanted = want.for_kind(_kind(event))
                if wanted is None or event.get(key) != wanted:
                    why.append(f"$event_id not from idempotency_key={_short(want.key)}")
                continue
            if want is ABSENT:
                if key in event:
                    why.append(f"{key}={_short(event[key])} (expected absent)")
            elif key not in event:
                if not (key == "$activated" and want is False):  # False may be left out
                    why.append(f"{key} missing")
            elif not _same(want, event[key]):
                why.append(f"{key}={_short(event[key])}, not {_short(want)}")
        return why

    def explain(self, event: Mapping[str, Any]) -> str:
        kind = _kind(event)
        if self.kind is not None and kind != self.kind:
            return "(other kind)"
        return "; ".join(self.differences(event))

    def describe(self, plural: bool = False) -> str:
        what = (f"{self.kind} " if self.kind else "") + ("events" if plural else "event")
        if not self.fields:
            return what
        return f"{what} with " + ", ".join(
            _describe_field(k, v)
            for k, v in self.fields.items()
        )

    def assert_one(self, events: Events) -> Event:
        __tracebackhide__ = True
        recorded = [dict(event) for event in events]
        for event in recorded:
            if self.matches(event):
                return event
        raise _listed(f"expected a {self.describe()}.\n{self.listing(recorded)}")

    def listing(self, recorded: list[Event]) -> str:
        if not recorded:
            return (
                "No Ripples events were recorded at all (did the code under test run "
                "while the recorder or the ripples_events fixture was active?)."
            )
        count = f"{len(recorded)} event" + ("" if len(recorded) == 1 else "s")
        return f"Recorded instead ({count}, oldest first):\n" + _table(recorded, self)


def _describe_field(key: str, value: Any) -> str:
    if isinstance(value, _KeyedEventId):
        return f"idempotency_key={_short(value.key)}"
    return f"{key}={_short(value)}"


class _KeyedEventId:
    """Expected ``$event_id``: derived from an idempotency key and the event's method."""

    def __init__(self, key: str) -> None:
        event_id_for("track", key)  # a bad key fails the test at once, as the call would
        self.key = key

    def for_kind(self, kind: Any) -> str | None:
        try:
            return event_id_for(kind, self.key)
        except Exception:  # an unknown $type: no id can match
            return None



class _Cents:
    """Expected ``subscription_amount``: the wire holds cents as a string."""

    def __init__(self, amount: Any) -> None:
        self.amount = amount

    def __eq__(self, actual: object) -> bool:
        try:
            cents = Decimal(str(self.amount)) * 100
            return isinstance(actual, (str, int)) and Decimal(str(actual)) == cents
        except (InvalidOperation, ValueError):
            return bool(self.amount == actual)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self.amount)


def _wire_fields(
    *,
    type: str | None = None,
    name: Any = None,
    user_id: Any = None,
    area: Any = None,
    activated: bool | None = None,
    visitor_id: Any = None,
    amount: Any = None,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """The expected wire fields, without the ones left as ``None`` (not checked)."""
    fields: dict[str, Any] = {
        "$event_id": None if idempotency_key is None else _KeyedEventId(idempotency_key),
        "$type": type,
        "$name": name,
        "$user_id": _user_id(user_id),
        "$amount": amount,
        "$area": area,
        "$activated": activated,
        "$visitor_id": _visitor_id(visitor_id),
    }
    return {key: value for key, value in fields.items() if value is not None}


def _user_id(value: Any) -> Any:
    # The SDK sends ids as strings; let tests pass the int primary key they have.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _visitor_id(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, str):
        return value.strip().lower()
    return value


def _same(expected: Any, actual: Any) -> bool:
    """Compare an expected value with its wire (JSON) form."""
    numbers = (int, float, Decimal)
    if isinstance(expected, bool) or (isinstance(actual, bool) and isinstance(expected, numbers)):
        return expected is actual  # True is not 1 on the wire
    if isinstance(expected, numbers) and isinstance(actual, numbers):
        try:
            return Decimal(str(expected)) == Decimal(str(actual))
        except InvalidOperation:  # nan / inf never reach the wire
            return False
    if isinstance(expected, enum.Enum) and not isinstance(actual, enum.Enum):
        return _same(expected.value, actual)
    if isinstance(expected, uuid.UUID) and isinstance(actual, str):
        return str(expected) == actual.lower()
    if isinstance(expected, (_dt.date, _dt.datetime)) and isinstance(actual, str):
        return _same_moment(expected, actual)
    if isinstance(expected, (tuple, list, set, frozenset)) and isinstance(actual, list):
        items = sorted(expected, key=repr) if isinstance(expected, (set, frozenset)) else expected
        return len(items) == len(actual) and all(map(_same, items, actual))
    if isinstance(expected, Mapping) and isinstance(actual, Mapping):
        return {str(key) for key in expected} == set(actual) and all(
            _same(value, actual[str(key)]) for key, value in expected.items()
        )
    return bool(expected == actual)


def _same_moment(expected: _dt.date, actual: str) -> bool:
    try:
        if isinstance(expected, _dt.datetime):
            parsed = _dt.datetime.fromisoformat(actual.replace("Z", "+00:00"))
            if (parsed.tzinfo is None) != (expected.tzinfo is None):  # naive means UTC
                parsed = parsed.replace(tzinfo=parsed.tzinfo or _dt.timezone.utc)
                expected = expected.replace(tzinfo=expected.tzinfo or _dt.timezone.utc)
            return parsed == expected
        return _dt.date.fromisoformat(actual) == expected
    except ValueError:
        return False


# rendering ------------------------------------------------------------------


def _listed(message: str) -> AssertionError:
    """An AssertionError whose message already lists the events (the plugin adds no copy)."""
    error = AssertionError(message)
    error._ripples_listed = True  # type: ignore[attr-defined]
    return error


_MAX_CELL = 40


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_CELL else text[: _MAX_CELL - 3] + "..."


def _summary(event: Mapping[str, Any]) -> str:
    parts = [str(_kind(event)), repr(event.get("$user_id"))]
    if "$name" in event or "$amount" in event:
        parts.append(repr(event.get("$name", event.get("$amount"))))
    return " ".join(parts)


def _table(events: list[Event], expected: _Expected | None, *, all_fields: bool = False) -> str:
    header = ["#", "kind", "$user_id", "$name / $amount", "$visitor_id"]
    header += ["other fields"] if expected is None else ["why it differs", "other fields"]
    hidden = {"$type", "$user_id", "$name", "$amount", "$visitor_id"}
    if not all_fields:
        hidden |= _BOILERPLATE
    rows = [header]
    for number, event in enumerate(events, 1):
        main = event.get("$name", event.get("$amount", ""))
        row = [
            str(number),
            str(_kind(event)),
            _short(event["$user_id"]) if "$user_id" in event else "-",
            "" if main == "" else _short(main),
            str(event.get("$visitor_id", "-")),
        ]
        if expected is not None:
            row.append(expected.explain(event))
        row.append(", ".join(f"{k}={_short(v)}" for k, v in event.items() if k not in hidden))
        rows.append(row)
    widths = [max(len(row[col]) for row in rows) for col in range(len(header))]
    rows.insert(1, ["-" * width for width in widths])
    return "\n".join(
        "  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
        for row in rows
    )
