"""The ingest contract, checked strictly, one batch at a time.

The hosted API refuses a whole batch when one event in it is malformed, and
says which; the dev collector does the same so that a mistake shows up on a
laptop rather than as silently missing data in production. Messages name the
event's index and the field: ``events[3].$visitor_id: not a UUID``.

This runs on the ingest path for every event, so it is a few dict lookups and
precompiled regular expressions per field, no per-event allocation beyond
what the checks need.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any, NoReturn

EVENT_TYPES = ("identify", "revenue", "signup", "track")

_COMMON = ("$type", "$user_id", "$sent_at", "$event_id", "$sdk_name", "$sdk_version", "$platform")
_REQUIRED: dict[str, tuple[str, ...]] = {
    "identify": _COMMON,
    "revenue": (*_COMMON, "$amount"),
    "signup": _COMMON,
    "track": (*_COMMON, "$name"),
}
_OPTIONAL: dict[str, tuple[str, ...]] = {
    "identify": ("$visitor_id",),
    "revenue": ("$visitor_id", "$name"),
    "signup": ("$visitor_id",),
    "track": ("$visitor_id", "$area", "$activated"),
}
_ALLOWED = {kind: frozenset(_REQUIRED[kind] + _OPTIONAL[kind]) for kind in EVENT_TYPES}
_REQUIRED_SETS = {kind: frozenset(fields) for kind, fields in _REQUIRED.items()}
_KNOWN_SYSTEM = frozenset().union(*_ALLOWED.values())
_ABSENT = object()
_SDK_FIELDS = ("$sdk_name", "$sdk_version", "$platform")

_is_uuid = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}").fullmatch
_is_any_case_uuid = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
).fullmatch
_is_sent_at_shape = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z").fullmatch

# Events of one batch usually share their second and their SDK fields;
# remembering valid values keeps strptime and string checks off the hot path.
# Bounded, and they only ever hold valid values.
_valid_stamps: set[str] = set()
_valid_texts: set[str] = set()
_CACHE_SIZE = 4096


class ContractError(ValueError):
    """A batch the hosted API would refuse; ``str()`` is the message sent back."""


def validate_batch(payload: Any) -> list[dict[str, Any]]:
    """Return the batch's events if every one is valid, else raise ContractError."""
    if type(payload) is not dict:
        raise ContractError('body must be a JSON object {"events": [...]}')
    events = payload.get("events")
    if type(events) is not list:
        raise ContractError(
            'body must be a JSON object {"events": [...]}: "events" is missing or not an array'
        )
    for index, event in enumerate(events):
        validate_event(index, event)
    return events


def validate_event(index: int, event: Any) -> None:
    """Check one event against the contract; the message names ``events[index].field``."""
    if type(event) is not dict:
        raise ContractError(f"events[{index}]: not a JSON object")
    kind = event.get("$type")
    if type(kind) is not str or kind not in _ALLOWED:
        raise _error(
            index,
            "$type",
            f"must be one of {', '.join(EVENT_TYPES)}" if "$type" in event else "required",
        )
    keys = event.keys()
    if not _REQUIRED_SETS[kind] <= keys:
        missing = next(field for field in _REQUIRED[kind] if field not in event)
        raise _error(index, missing, f"required on {kind} events")
    for key in keys - _ALLOWED[kind]:  # custom keys, and system keys that do not belong here
        if key[:1] == "$":
            _system_key_error(index, kind, event)

    value = event["$user_id"]
    if type(value) is not str or not value.strip():
        raise _error(index, "$user_id", "must be a non-empty string")
    for field in _SDK_FIELDS:
        value = event[field]
        if type(value) is not str or value not in _valid_texts:
            if type(value) is not str or not value.strip():
                raise _error(index, field, "must be a non-empty string")
            _remember(_valid_texts, value)
    value = event["$event_id"]
    if type(value) is not str or not _is_uuid(value):
        _uuid_error(index, "$event_id", value)
    value = event.get("$visitor_id", _ABSENT)
    if value is not _ABSENT and (type(value) is not str or not _is_uuid(value)):
        _uuid_error(index, "$visitor_id", value)
    value = event["$sent_at"]
    if type(value) is not str or value not in _valid_stamps:
        _check_sent_at(index, value)

    if kind == "revenue":
        _check_amount(index, event["$amount"])
    value = event.get("$name", _ABSENT)
    if value is not _ABSENT and (type(value) is not str or not value.strip()):
        raise _error(index, "$name", "must be a non-empty string")
    if kind == "track":
        value = event.get("$area", _ABSENT)
        if value is not _ABSENT and (type(value) is not str or not value.strip()):
            raise _error(index, "$area", "must be a non-empty string")
        value = event.get("$activated", False)
        if type(value) is not bool:
            raise _error(index, "$activated", "must be true or false")


def _error(index: int, field: str, message: str) -> ContractError:
    return ContractError(f"events[{index}].{field}: {message}")


def _system_key_error(index: int, kind: str, event: dict[str, Any]) -> NoReturn:
    for key in event:
        if key[:1] == "$" and key not in _ALLOWED[kind]:
            if key in _KNOWN_SYSTEM:
                raise _error(index, key, f"not a field of {kind} events")
            raise _error(index, key, "unknown system field (custom keys may not start with '$')")
    raise AssertionError("unreachable")


def _uuid_error(index: int, field: str, value: Any) -> NoReturn:
    if type(value) is str and _is_any_case_uuid(value):
        raise _error(index, field, "not a lowercase UUID")
    raise _error(index, field, "not a UUID")


def _check_sent_at(index: int, value: Any) -> None:
    if type(value) is not str or not _is_sent_at_shape(value):
        raise _error(index, "$sent_at", "must be a UTC time as YYYY-MM-DDTHH:MM:SSZ")
    try:
        datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        raise _error(index, "$sent_at", "not a valid date and time") from None
    _remember(_valid_stamps, value)


def _remember(cache: set[str], value: str) -> None:
    if len(cache) >= _CACHE_SIZE:
        cache.clear()
    cache.add(value)


def _check_amount(index: int, value: Any) -> None:
    kind = type(value)
    if kind is float:
        if math.isfinite(value):
            return
    elif kind is int:
        try:
            if math.isfinite(float(value)):
                return
        except OverflowError:
            pass
    else:
        raise _error(index, "$amount", "must be a number")
    raise _error(index, "$amount", "not a finite number")
