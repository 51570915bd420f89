"""Matching recorded events against what a test expects, for ``ripples.testing``.

An `Expected` is an event kind plus wire fields; it compares each with the event's JSON
form (``Decimal("49.99")`` matches ``49.99``, an int user id its string, a subscription
amount the wire's cents), says why an event differs, and fails with a table of what was
recorded instead.
"""

from __future__ import annotations

import datetime as _dt
import enum
import uuid
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from ._event_table import event_kind, render, short
from ._events import event_id_for

Event = dict[str, Any]
Events = Iterable[Mapping[str, Any]]


class _Absent:
    """Marker for "this field must not be present on the event"."""

    def __repr__(self) -> str:
        return "ABSENT"


#: Pass as an expected value to require that the field is missing.
ABSENT: Any = _Absent()


class Expected:
    """What an assertion looks for: an event kind plus wire fields to compare."""

    def __init__(
        self, kind: str | None, fields: Mapping[str, Any], props: Mapping[str, Any] | None = None
    ) -> None:
        self.kind = kind
        extra = {k: v for k, v in (props or {}).items() if v is not None}
        self.fields = {**fields, **extra}

    def matches(self, event: Mapping[str, Any]) -> bool:
        """Whether ``event`` is of the kind and has every expected field."""
        return (self.kind is None or event_kind(event) == self.kind) and not self.differences(event)

    def differences(self, event: Mapping[str, Any]) -> list[str]:
        """Why ``event`` does not match, one short item per field (empty when it does)."""
        why: list[str] = []
        for key, want in self.fields.items():
            if isinstance(want, KeyedEventId):
                wanted = want.for_kind(event_kind(event))
                if wanted is None or event.get(key) != wanted:
                    why.append(f"$event_id not from idempotency_key={short(want.key)}")
                continue
            if want is ABSENT:
                if key in event:
                    why.append(f"{key}={short(event[key])} (expected absent)")
            elif key not in event:
                if not (key == "$activated" and want is False):  # False may be left out
                    why.append(f"{key} missing")
            elif not same(want, event[key]):
                why.append(f"{key}={short(event[key])}, not {short(want)}")
        return why

    def explain(self, event: Mapping[str, Any]) -> str:
        """The "why it differs" cell of the failure table."""
        kind = event_kind(event)
        if self.kind is not None and kind != self.kind:
            return "(other kind)"
        return "; ".join(self.differences(event))

    def describe(self, plural: bool = False) -> str:
        """What is expected, in words: ``track event with $name='...'``."""
        what = (f"{self.kind} " if self.kind else "") + ("events" if plural else "event")
        if not self.fields:
            return what
        return f"{what} with " + ", ".join(_describe_field(k, v) for k, v in self.fields.items())

    def assert_one(self, events: Events) -> Event:
        """The first matching event; else an ``AssertionError`` listing the recorded ones."""
        __tracebackhide__ = True
        recorded = [dict(event) for event in events]
        for event in recorded:
            if self.matches(event):
                return event
        raise listed(f"expected a {self.describe()}.\n{self.listing(recorded)}")

    def listing(self, recorded: list[Event]) -> str:
        """The recorded events as a table with a "why it differs" column."""
        if not recorded:
            return (
                "No Ripples events were recorded at all (did the code under test run "
                "while the recorder or the ripples_events fixture was active?)."
            )
        count = f"{len(recorded)} event" + ("" if len(recorded) == 1 else "s")
        return f"Recorded instead ({count}, oldest first):\n" + render(recorded, self.explain)


def _describe_field(key: str, value: Any) -> str:
    if isinstance(value, KeyedEventId):
        return f"idempotency_key={short(value.key)}"
    return f"{key}={short(value)}"


class KeyedEventId:
    """Expected ``$event_id``: derived from an idempotency key and the event's method."""

    def __init__(self, key: str) -> None:
        event_id_for("track", key)  # a bad key fails the test at once, as the call would
        self.key = key

    def for_kind(self, kind: Any) -> str | None:
        """The id a call of ``kind`` (the event's method) sends for the key; None if unknown."""
        try:
            return event_id_for(kind, self.key)
        except Exception:  # an unknown $type: no id can match
            return None


class Cents:
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


def checked(value: Any) -> bool:
    """Whether an expected value is to be compared (not ``None``, not ``ABSENT``)."""
    return value is not None and value is not ABSENT


def wire_fields(
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
        "$event_id": None if idempotency_key is None else KeyedEventId(idempotency_key),
        "$type": type,
        "$name": name,
        "$user_id": wire_user_id(user_id),
        "$amount": amount,
        "$area": area,
        "$activated": activated,
        "$visitor_id": wire_visitor_id(visitor_id),
    }
    return {key: value for key, value in fields.items() if value is not None}


def wire_user_id(value: Any) -> Any:
    # The SDK sends ids as strings; let tests pass the int primary key they have.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def wire_visitor_id(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, str):
        return value.strip().lower()
    return value


def same(expected: Any, actual: Any) -> bool:
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
        return same(expected.value, actual)
    if isinstance(expected, uuid.UUID) and isinstance(actual, str):
        return str(expected) == actual.lower()
    if isinstance(expected, (_dt.date, _dt.datetime)) and isinstance(actual, str):
        return same_moment(expected, actual)
    if isinstance(expected, (tuple, list, set, frozenset)) and isinstance(actual, list):
        items = sorted(expected, key=repr) if isinstance(expected, (set, frozenset)) else expected
        return len(items) == len(actual) and all(map(same, items, actual))
    if isinstance(expected, Mapping) and isinstance(actual, Mapping):
        return {str(key) for key in expected} == set(actual) and all(
            same(value, actual[str(key)]) for key, value in expected.items()
        )
    return bool(expected == actual)


def same_moment(expected: _dt.date, actual: str) -> bool:
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


def listed(message: str) -> AssertionError:
    """An AssertionError whose message already lists the events (the plugin adds no copy)."""
    error = AssertionError(message)
    error._ripples_listed = True  # type: ignore[attr-defined]
    return error
