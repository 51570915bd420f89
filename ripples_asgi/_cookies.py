"""The visitor id, read straight from the raw ``Cookie`` headers of an ASGI scope.

This runs before any framework, on every request, on bytes anyone can send.
So it looks for ``_rpl_vid`` only, reads a bounded amount of a hostile or
huge header, examines a bounded number of candidates, and never raises; the
value is then normalised by the core (a well-formed UUID or nothing).
"""

from __future__ import annotations

import re

from ripples import VISITOR_COOKIE, visitor_id_from_cookies

from ._types import Scope

_NAME = VISITOR_COOKIE.encode("ascii")
#: Cookie-header bytes read per request. Browsers cap a cookie near 4 KiB and
#: servers cap all headers near 8-64 KiB, so a real cookie is never missed,
#: while a hostile megabyte costs one bounded ``bytes.find``.
MAX_BYTES = 64 * 1024
#: Occurrences of the cookie name examined per request, junk repeats included.
MAX_CANDIDATES = 8
# After the name: optional blanks, "=", then a value of at most 80 bytes up to ";" or the
# end (a UUID is 36, 38 quoted); a longer value is no candidate at all.
_VALUE = re.compile(rb"[ \t]{0,16}=([^;]{0,80})(?:;|\Z)")
_BLANKS = b" \t"


def visitor_id_from_scope(scope: Scope) -> str | None:
    """The lowercased ``_rpl_vid`` UUID of the request, or None.

    Every ``cookie`` header counts (HTTP/2 may split them); the first
    well-formed value wins, so a junk duplicate cannot shadow a good one.
    """
    try:
        budget = MAX_BYTES
        candidates = MAX_CANDIDATES
        for name, value in scope["headers"]:
            if name != b"cookie" and (len(name) != 6 or bytes(name).lower() != b"cookie"):
                continue
            if type(value) is not bytes:
                value = bytes(value)
            if len(value) > budget:
                value = value[:budget]
            budget -= len(value)
            start = value.find(_NAME)
            while start != -1:
                found = _candidate(value, start)
                if found is not None:
                    return found
                candidates -= 1
                if candidates <= 0:
                    return None
                start = value.find(_NAME, start + 1)
            if budget <= 0:
                return None
    except Exception:  # untrusted input or a malformed scope: no visitor, never an error
        return None
    return None


def _candidate(raw: bytes, start: int) -> str | None:
    """The visitor id of the pair named at ``start``: None unless it is one, well-formed."""
    if start and raw[start - 1] != 0x3B and not _starts_a_pair(raw, start):  # 0x3B: ";"
        return None
    match = _VALUE.match(raw, start + len(_NAME))
    if match is None:
        return None
    return visitor_id_from_cookies({VISITOR_COOKIE: match[1].decode("latin-1")})


def _starts_a_pair(raw: bytes, start: int) -> bool:
    """True when only blanks stand between a ";" and ``start`` (not so in ``a=_rpl_vid``)."""
    limit = max(0, start - 16)
    while start > limit and raw[start - 1] in _BLANKS:
        start -= 1
    return start == 0 or raw[start - 1] == 0x3B  # ";"
