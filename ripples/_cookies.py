"""The visitor id, read from raw ``Cookie`` header values: the one parser every integration uses.

This runs on every request, on bytes anyone can send. So it looks for
``_rpl_vid`` only (it never parses the other cookies), reads a bounded
amount of a hostile or huge header, examines a bounded number of
candidates, and never raises; a candidate counts only if it is a well-formed
UUID (the core's visitor id rules: optional quotes and blanks,
any case, returned lowercased).

The rules, the same for Django, Flask and every ASGI framework:

- every ``Cookie`` header counts, in order (HTTP/2 clients send several;
  WSGI servers join them with ``,`` and Django's ASGI handler with ``;``, so
  both ``;`` and ``,`` separate pairs: neither may appear in a cookie value);
- the name is case-sensitive and must start a pair (``x_rpl_vid`` and
  ``a=_rpl_vid=...`` are not it); blanks around ``=`` are allowed;
- with duplicates, **the first well-formed UUID wins**: a junk
  ``_rpl_vid`` (a stale or foreign cookie on a parent domain) cannot shadow a
  good one, whichever comes first;
- at most :data:`MAX_BYTES` of header text and :data:`MAX_CANDIDATES`
  occurrences of the name are examined; what lies beyond is ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Union

from ._context import VISITOR_COOKIE, normalize_visitor_id

#: Cookie-header characters read per request, all headers together. Browsers cap a
#: cookie near 4 KiB and servers cap all headers near 8-64 KiB, so a real cookie is
#: never missed, while a hostile megabyte costs one bounded ``str.find``.
MAX_BYTES = 64 * 1024
#: Occurrences of the cookie name examined per request, junk repeats included.
MAX_CANDIDATES = 8

HeaderValue = Union[str, bytes, bytearray, memoryview, None]

# After the name: optional blanks, "=", then a value of at most 80 characters up to a
# separator or the end (a UUID is 36, 38 quoted); a longer value is no candidate at all.
_VALUE = re.compile(r"[ \t]{0,16}=([^;,]{0,80})(?:[;,]|\Z)")
_SEPARATORS = ";,"
_SEPARATOR_SET = frozenset(_SEPARATORS)
_NAME_LENGTH = len(VISITOR_COOKIE)
_CLEAN_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_BLANKS = " \t"


def visitor_id_from_cookie_headers(values: Iterable[HeaderValue]) -> str | None:
    """The lowercased ``_rpl_vid`` UUID in raw ``Cookie`` header values, or None.

    ``values`` are the request's ``Cookie`` header values in order, as
    ``str`` (WSGI ``HTTP_COOKIE``, latin-1) or bytes (ASGI); it is consumed
    lazily and only until the byte budget is spent. ``None`` items are
    skipped. Never raises.
    """
    try:
        budget = MAX_BYTES
        candidates = MAX_CANDIDATES
        for value in values:
            if not value:
                continue
            if len(value) > budget:
                value = value[:budget]
            budget -= len(value)
            text = value if isinstance(value, str) else bytes(value).decode("latin-1")
            start = text.find(VISITOR_COOKIE)
            while start != -1:
                found = _candidate(text, start)
                if found is not None:
                    return found
                candidates -= 1
                if candidates <= 0:
                    return None
                start = text.find(VISITOR_COOKIE, start + 1)
            if budget <= 0:
                return None
    except Exception:  # untrusted input or a malformed header list: no visitor, never an error
        return None
    return None


def _candidate(text: str, start: int) -> str | None:
    """The visitor id of the pair named at ``start``: None unless it is one, well-formed."""
    # The usual header, ``...; _rpl_vid=<lowercase uuid>; ...`` as the browser script
    # writes it, in a few C-level checks; anything else takes the general rules below,
    # which give the same answer for this case.
    value_at = start + _NAME_LENGTH + 1
    end = value_at + 36
    if (
        text[value_at - 1 : value_at] == "="
        and (start == 0 or text[start - 1] == ";" or text[start - 2 : start] == "; ")
        and (end == len(text) or text[end : end + 1] in _SEPARATOR_SET)
        and _CLEAN_UUID.fullmatch(text, value_at, end)
    ):
        return text[value_at:end]
    if start and text[start - 1] not in _SEPARATORS and not _starts_a_pair(text, start):
        return None
    match = _VALUE.match(text, start + len(VISITOR_COOKIE))
    if match is None:
        return None
    return normalize_visitor_id(match[1])


def _starts_a_pair(text: str, start: int) -> bool:
    """True when only blanks stand between a separator and ``start`` (not so in ``a=_rpl_vid``)."""
    limit = max(0, start - 16)
    while start > limit and text[start - 1] in _BLANKS:
        start -= 1
    return start == 0 or text[start - 1] in _SEPARATORS
