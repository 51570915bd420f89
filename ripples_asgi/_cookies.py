"""The visitor id of an ASGI scope: its ``cookie`` headers handed to the core's one parser."""

from __future__ import annotations

from ripples import visitor_id_from_cookie_headers

from ._types import Scope


def visitor_id_from_scope(scope: Scope) -> str | None:
    """The lowercased ``_rpl_vid`` UUID of the request, or None; never raises.

    Every ``cookie`` header counts (HTTP/2 may split them), whatever the case of
    its name; the rules are :func:`ripples.visitor_id_from_cookie_headers`'s.
    """
    try:
        values = []
        for name, value in scope["headers"]:  # a loop, not a comprehension: no extra frame
            if name == b"cookie" or (len(name) == 6 and bytes(name).lower() == b"cookie"):
                values.append(value)
        return visitor_id_from_cookie_headers(values) if values else None
    except Exception:  # a malformed scope: no visitor, never an error
        return None
