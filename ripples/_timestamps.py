"""One timestamp parser, with the same answers on every supported Python.

``datetime.fromisoformat`` accepts far more on 3.11+ than on 3.9 and 3.10
(fractions other than 3 or 6 digits, ``Z``, ``+0000``, ``+00``), so a string
that works in development on 3.12 would raise in production on 3.9. This
module parses RFC 3339 and the ISO 8601 variants other systems emit, by
hand (a regular expression, no dependency), identically on 3.9 to 3.13:

- a date ``YYYY-MM-DD`` (or ``YYYYMMDD``), alone or followed by ``T``, ``t``
  or a space and a time ``HH:MM[:SS[.fraction]]`` (or ``HHMM[SS]``);
- the fraction has any number of digits (``.5``, ``.123456789``) and is
  truncated to microseconds; ``,`` works as the decimal sign too;
- an optional offset ``Z``/``z``, ``±HH:MM``, ``±HHMM`` or ``±HH``; without
  one the time is UTC (as for naive datetimes).
"""

from __future__ import annotations

import calendar
import re
import time
from datetime import date, datetime, timedelta, timezone
from typing import Any

from ._errors import RipplesValidationError

_ISO = re.compile(
    r"""
    (?P<year>\d{4})-?(?P<month>\d{2})-?(?P<day>\d{2})
    (?:
        [Tt\ ]
        (?P<hour>\d{2}):?(?P<minute>\d{2})
        (?::?(?P<second>\d{2})(?:[.,](?P<fraction>\d+))?)?
        (?P<offset>[Zz]|[+-]\d{2}(?::?\d{2})?)?
    )?
    """,
    re.VERBOSE | re.ASCII,
)
#: The years a timestamp may have: ``$sent_at`` is ``YYYY-...``, and older dates are mistakes.
_YEARS = range(1900, 10000)


def parse_iso8601(text: str) -> datetime:
    """An aware UTC ``datetime`` for an RFC 3339 / ISO 8601 string; ValueError if it is not one."""
    match = _ISO.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"not an ISO 8601 date-time: {text!r}")
    fields = match.groupdict()
    fraction = (fields["fraction"] or "")[:6].ljust(6, "0")
    value = datetime(
        int(fields["year"]),
        int(fields["month"]),
        int(fields["day"]),
        int(fields["hour"] or 0),
        int(fields["minute"] or 0),
        int(fields["second"] or 0),
        int(fraction),
        tzinfo=timezone.utc,
    )
    offset = fields["offset"]
    if offset and offset not in ("Z", "z"):
        digits = offset[1:].replace(":", "")
        delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
        if delta >= timedelta(hours=24):
            raise ValueError(f"offset out of range in {text!r}")
        value = value - delta if offset[0] == "+" else value + delta
    return value


def timestamp_arg(method: str, timestamp: Any) -> float:
    """Seconds since the epoch; naive datetimes are UTC, strings are ISO 8601 (see above)."""
    if timestamp is None:
        return time.time()
    value = timestamp
    if isinstance(value, str):
        try:
            value = parse_iso8601(value)
        except (ValueError, OverflowError):
            raise RipplesValidationError(
                f"{method}(): timestamp {timestamp!r} is not an ISO 8601 date-time "
                "(e.g. 2024-05-01T12:00:00Z)"
            ) from None
    try:
        if isinstance(value, datetime):
            if value.tzinfo is not None:
                value = value.astimezone(timezone.utc)
            if value.year in _YEARS:
                return calendar.timegm(value.timetuple()) + value.microsecond / 1e6
        elif isinstance(value, date):
            if value.year in _YEARS:
                return float(calendar.timegm(value.timetuple()))
        else:
            value = None
    except (OverflowError, ValueError):
        pass  # out of datetime's range once converted to UTC
    if value is not None:
        raise RipplesValidationError(
            f"{method}(): timestamp {timestamp!r} is out of range (years 1900 to 9999, UTC)"
        )
    raise RipplesValidationError(
        f"{method}(): timestamp must be a datetime, a date or an ISO 8601 string, "
        f"got {type(timestamp).__name__}"
    )
