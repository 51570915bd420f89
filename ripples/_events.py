"""Turning tracking calls into wire events, and refusing bad input at the call site.

Everything here runs in the caller's thread, so the common case (plain str,
int and float values) is a tight loop; anything richer (Decimal, datetime,
UUID, enums, containers) takes a slower path that converts it to JSON types.
A value that cannot become JSON raises :class:`RipplesValidationError` naming
the argument, and nothing is queued: one bad event must never poison a batch.
"""

from __future__ import annotations

import math
import numbers
import sys
import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from ._errors import RipplesValidationError

SUBSCRIPTION_STATUSES = frozenset({"active", "canceled", "past_due", "trialing", "paused"})
BILLING_INTERVALS = frozenset({"month", "year", "week", "day"})


#: The namespace of every ``$event_id`` derived from an idempotency key (a fixed
#: UUID of our own: changing it would break de-duplication across SDK versions).
IDEMPOTENCY_NAMESPACE = uuid.UUID("5b0f3c56-2d8e-4a57-9a43-7e1d6c2f9b10")
MAX_IDEMPOTENCY_KEY_LENGTH = 255
#: The tracking methods an idempotency key can be scoped to.
TRACKING_METHODS = frozenset({"revenue", "signup", "track", "identify", "subscription"})

_MAX_DEPTH = 20
_PLAIN_TYPES = frozenset({str, int, bool, type(None)})


def user_id_arg(method: str, user_id: Any, argument: str = "user_id") -> str:
    """An id as a non-blank string; ints (database keys) are converted."""
    if type(user_id) is str:
        if user_id and not user_id.isspace():
            return user_id
    elif isinstance(user_id, int) and not isinstance(user_id, bool):
        return str(user_id)
    raise RipplesValidationError(
        f"{method}(): {argument} must be a non-empty string (or an int), got {user_id!r}"
    )


def name_arg(method: str, argument: str, value: Any) -> str:
    if type(value) is str and value and not value.isspace():
        return value
    raise RipplesValidationError(
        f"{method}(): {argument} must be a non-empty string, got {value!r}"
    )


def idempotency_key_arg(method: str, key: Any) -> str:
    """A key as a non-empty ``str`` of at most 255 characters, else a validation error."""
    if (
        isinstance(key, str)
        and 0 < len(key) <= MAX_IDEMPOTENCY_KEY_LENGTH
        and not key.isspace()
        and key.isprintable()
    ):
        text = str(key)  # a subclass (e.g. a lazy or safe string) as its plain value
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: no stable bytes to derive an id from
            raise RipplesValidationError(
                f"{method}(): idempotency_key must be valid Unicode text, got {key!r}"
            ) from None
        return text
    if isinstance(key, str) and len(key) > MAX_IDEMPOTENCY_KEY_LENGTH:
        got = f"a string of {len(key)} characters"
    else:
        got = repr(key)
    raise RipplesValidationError(
        f"{method}(): idempotency_key must be a non-empty, printable string of at most "
        f"{MAX_IDEMPOTENCY_KEY_LENGTH} characters, got {got}"
    )


def event_id_for(method: str, idempotency_key: str) -> str:
    """The ``$event_id`` a tracking call sends for ``idempotency_key``.

    ``method`` is the tracking method called (``"revenue"``, ``"signup"``,
    ``"track"``, ``"identify"`` or ``"subscription"``), so one key used by two
    methods gives two events. The id is a name-based (version 5) UUID string,
    the same in every process and SDK version, which is how a retried task or
    webhook sends the same event id and the API stores the event once.

    Raises :class:`RipplesValidationError` for an unknown method or a key that
    is not a non-empty string of at most 255 characters.
    """
    if method not in TRACKING_METHODS:
        raise RipplesValidationError(
            f"event_id_for(): method must be one of {sorted(TRACKING_METHODS)}, got {method!r}"
        )
    key = idempotency_key_arg(method, idempotency_key)
    return str(uuid.uuid5(IDEMPOTENCY_NAMESPACE, method + "\n" + key))


def amount_arg(method: str, argument: str, amount: Any) -> float | int:
    """A finite real number as a JSON number; Decimal (Django money fields) included.

    The amount must also fit a double (the API's number type): ``Decimal("1E+400")``,
    a huge ``Fraction`` or an int beyond about 1.8e308 is refused here, not at send time.
    """
    kind = type(amount)
    if kind is int:
        if -_MAX_FLOAT_INT <= amount <= _MAX_FLOAT_INT:
            return amount  # type: ignore[no-any-return]
    elif kind is float:
        if math.isfinite(amount):
            return amount  # type: ignore[no-any-return]
    elif kind is bool:
        pass  # True is an int to Python, never an amount to a user
    elif isinstance(amount, (Decimal, numbers.Real)):
        value = _as_float(amount)
        if math.isfinite(value):
            if isinstance(amount, numbers.Integral):
                return int(amount)
            return value
    raise RipplesValidationError(
        f"{method}(): {argument} must be a finite number (int, float or Decimal) that fits "
        f"a double, got {amount!r}"
    )


_MAX_FLOAT_INT = int(sys.float_info.max)


def _as_float(value: Any) -> float:
    """``float(value)``, or NaN when it cannot be one (``Fraction(10**400)`` overflows)."""
    try:
        return float(value)
    except (OverflowError, ValueError, TypeError):
        return math.nan


def properties_arg(method: str, attributes: dict[str, Any]) -> dict[str, Any]:
    """Check custom properties, converting rich values to JSON types.

    Returns ``attributes`` itself when every value is already plain JSON,
    which is the common case and costs one type check per value.
    """
    for key, value in attributes.items():
        if key[:1] == "$":
            raise RipplesValidationError(
                f"{method}(): custom property {key!r} may not start with '$' "
                "(system fields are set by the SDK)"
            )
        kind = type(value)
        if kind in _PLAIN_TYPES or (kind is float and math.isfinite(value)):
            continue
        return {k: _json_value(method, k, v, 0) for k, v in attributes.items()}
    return attributes


def _finite(method: str, path: str, value: Any, number: float) -> float:
    if math.isfinite(number):
        return number
    raise RipplesValidationError(
        f"{method}(): property {path!r} must be a finite number, got {value!r}"
    )


def _json_value(method: str, path: str, value: Any, depth: int) -> Any:
    """``value`` as plain JSON types, or a validation error naming ``path``."""
    if type(value) in _PLAIN_TYPES:
        return value
    if depth > _MAX_DEPTH:
        raise RipplesValidationError(f"{method}(): property {path!r} is nested too deeply")
    if isinstance(value, Enum):
        return _json_value(method, path, value.value, depth + 1)
    if isinstance(value, (str, bool)):  # subclasses (e.g. lazy strings) as their base type
        return str(value) if isinstance(value, str) else bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, (float, Decimal, numbers.Real)):
        return _finite(method, path, value, _as_float(value))
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dict):
        result = {}
        for key, item in value.items():
            if not isinstance(key, (str, int, float, bool)) or isinstance(key, Enum):
                raise RipplesValidationError(
                    f"{method}(): property {path!r} has a key of type {type(key).__name__}; "
                    "JSON objects need string keys"
                )
            result[str(key)] = _json_value(method, f"{path}.{key}", item, depth + 1)
        return result
    if isinstance(value, (list, tuple, set, frozenset)):
        return [
            _json_value(method, f"{path}[{i}]", item, depth + 1) for i, item in enumerate(value)
        ]
    raise RipplesValidationError(
        f"{method}(): property {path!r} has a value of type {type(value).__name__}, "
        "which cannot be sent as JSON"
    )


def subscription_fields(
    subscription_id: Any,
    status: Any,
    amount: Any,
    interval: Any,
    attributes: dict[str, Any],
) -> dict[str, Any]:
    """The custom fields of a subscription event, in the 0.1.x wire format.

    Pops ``name``/``plan``, ``currency`` and ``interval_count`` from ``attributes``.
    """
    method = "subscription"
    sub_id = user_id_arg(method, subscription_id, "subscription_id")
    if status not in SUBSCRIPTION_STATUSES:
        raise RipplesValidationError(
            f"subscription(): status must be one of {sorted(SUBSCRIPTION_STATUSES)}, got {status!r}"
        )
    if interval not in BILLING_INTERVALS:
        raise RipplesValidationError(
            f"subscription(): interval must be one of {sorted(BILLING_INTERVALS)}, got {interval!r}"
        )
    per_cycle = amount_arg(method, "amount", amount)
    if per_cycle < 0:
        raise RipplesValidationError(f"subscription(): amount must not be negative, got {amount!r}")
    cents = (
        round(Decimal(str(amount)) * 100)
        if isinstance(amount, (Decimal, float))
        else round(per_cycle * 100)
    )
    count = attributes.pop("interval_count", 1)
    if type(count) is not int or count < 1:
        raise RipplesValidationError(
            f"subscription(): interval_count must be a positive int, got {count!r}"
        )
    name = attributes.pop("name", None)
    plan = attributes.pop("plan", None)
    currency = attributes.pop("currency", None)
    fields: dict[str, Any] = {
        "$amount": 0,
        "subscription_id": sub_id,
        "subscription_status": status,
        "subscription_amount": str(cents),
        "billing_interval": interval,
        "billing_interval_count": str(count),
    }
    if currency is not None:
        fields["currency"] = name_arg(method, "currency", currency)
    plan_name = name if name is not None else plan
    if plan_name is not None:
        fields["$name"] = name_arg(method, "name", plan_name)
    return fields
