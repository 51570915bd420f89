"""The Cookie headers every integration must read the same way (one parser: ripples._cookies).

Each case is ``(id, headers, expected)``: the values of the request's ``Cookie``
headers in the order sent (several for HTTP/2-style split headers) and the
visitor the event must carry. ASGI apps receive the headers separately;
WSGI servers (and so Django's and Flask's test clients) join them with ", ",
as gunicorn and Werkzeug do. The duplicate rule: the first well-formed UUID
wins. Tests in tests/django, tests/flask and tests/asgi send each case through
their framework and compare with ``expected``.
"""

from __future__ import annotations

VID = "3f2b8c1e-6a4d-4e8f-9b7a-1c2d3e4f5a6b"
OTHER = "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"
#: Past the parser's 64 KiB budget.
HUGE = "x" * 100_000

CASES: list[tuple[str, list[str], str | None]] = [
    ("alone", [f"_rpl_vid={VID}"], VID),
    ("among-others", [f"a=1; _rpl_vid={VID}; b=2"], VID),
    ("no-spaces", [f"a=1;_rpl_vid={VID};b=2"], VID),
    ("spaces-around-equals", [f"  _rpl_vid = {VID} ;"], VID),
    ("tab-before", [f"a=1;\t_rpl_vid={VID}"], VID),
    ("quoted", [f'_rpl_vid="{VID}"'], VID),
    ("upper-case-value", [f"_rpl_vid={VID.upper()}"], VID),
    ("junk-then-uuid", [f"_rpl_vid=junk; _rpl_vid={VID}"], VID),
    ("uuid-then-junk", [f"_rpl_vid={VID}; _rpl_vid=junk"], VID),
    ("empty-then-uuid", [f"_rpl_vid=; _rpl_vid={VID}"], VID),
    ("two-uuids-first-wins", [f"_rpl_vid={OTHER}; _rpl_vid={VID}"], OTHER),
    ("junk-only", ["_rpl_vid=junk"], None),
    ("empty-value", ["_rpl_vid="], None),
    ("name-only", ["_rpl_vid"], None),
    ("no-cookie", ["a=1; b=2"], None),
    ("no-header", [], None),
    ("upper-case-name", [f"_RPL_VID={VID}"], None),
    ("prefixed-name", [f"x_rpl_vid={VID}"], None),
    ("name-inside-a-value", [f"a=_rpl_vid={VID}"], None),
    ("uuid-without-dashes", [f"_rpl_vid={VID.replace('-', '')}"], None),
    ("uuid-with-a-tail", [f"_rpl_vid={VID}x"], None),
    ("overlong-value", [f"_rpl_vid={VID}{'0' * 200}"], None),
    ("latin-1-junk-before", [f"x=\xff\xfe; _rpl_vid={VID}"], VID),
    ("several-headers", ["a=1", f"_rpl_vid={VID}"], VID),
    ("several-headers-junk-first", ["_rpl_vid=junk", f"_rpl_vid={VID}"], VID),
    ("several-headers-uuid-first", [f"_rpl_vid={OTHER}", f"_rpl_vid={VID}"], OTHER),
    ("huge-header-cookie-first", [f"_rpl_vid={VID}; big={HUGE}"], VID),
    ("huge-header-cookie-past-the-budget", [f"big={HUGE}; _rpl_vid={VID}"], None),
    ("huge-header-then-a-second-header", [f"big={HUGE}", f"_rpl_vid={VID}"], None),
    ("many-junk-repeats", ["; ".join(["_rpl_vid=junk"] * 20 + [f"_rpl_vid={VID}"])], None),
]

IDS = [case[0] for case in CASES]


def wsgi_header(headers: list[str]) -> str | None:
    """The ``HTTP_COOKIE`` a WSGI server makes of several ``Cookie`` headers."""
    return ", ".join(headers) if headers else None
