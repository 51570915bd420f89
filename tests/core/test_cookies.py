"""The one Cookie-header parser, on the shared table and on what only the core sees."""

from __future__ import annotations

import pytest

from ripples import visitor_id_from_cookie_headers
from tests.cookie_cases import CASES, IDS, VID, wsgi_header


@pytest.mark.parametrize(("case", "headers", "expected"), CASES, ids=IDS)
def test_separate_and_joined_headers_give_the_table_result(
    case: str, headers: list[str], expected: str | None
) -> None:
    assert visitor_id_from_cookie_headers(headers) == expected
    assert visitor_id_from_cookie_headers([v.encode("latin-1") for v in headers]) == expected
    assert visitor_id_from_cookie_headers([wsgi_header(headers)]) == expected
    assert visitor_id_from_cookie_headers([h.replace(", ", "; ") for h in headers]) == expected


def test_the_headers_are_consumed_lazily_and_only_within_the_budget() -> None:
    consumed: list[int] = []

    def endless() -> object:
        n = 0
        while True:
            consumed.append(n)
            n += 1
            yield "a=" + "y" * 10_000

    assert visitor_id_from_cookie_headers(endless()) is None  # type: ignore[arg-type]
    assert len(consumed) <= 8  # 64 KiB of 10 KB headers


def test_anything_unreadable_is_no_visitor() -> None:
    assert visitor_id_from_cookie_headers([None, 42, f"_rpl_vid={VID}"]) is None  # type: ignore[list-item]
    assert visitor_id_from_cookie_headers([None, f"_rpl_vid={VID}"]) == VID
