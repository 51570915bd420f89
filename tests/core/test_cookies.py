"""The one Cookie-header parser, on the shared table and on what only the core sees."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


_NAMES = st.sampled_from(["_rpl_vid"] * 4 + ["x_rpl_vid", "_RPL_VID", "a", "sessionid"])
_VALUES = st.sampled_from(
    [
        VID,
        VID.upper(),
        f'"{VID}"',
        f" {VID}",
        f"{VID} ",
        VID[:-1],
        VID + "0",
        "junk",
        "",
        f"_rpl_vid={VID}",
    ]
)
_JOINERS = st.sampled_from([";", "; ", ",", ", ", " ;", ";  "])
_PAIRS = st.tuples(_NAMES, st.sampled_from(["="] * 4 + [" =", "= ", ":"]), _VALUES).map("".join)


@settings(max_examples=400)
@given(st.lists(st.tuples(_JOINERS, _PAIRS), min_size=1, max_size=5), st.booleans())
def test_the_clean_cookie_shortcut_agrees_with_the_general_rules(
    pairs: list[tuple[str, str]], leading_blank: bool
) -> None:
    header = ("  " if leading_blank else "") + "".join(j + p for j, p in pairs)[len(pairs[0][0]) :]
    # A blank before "=" is allowed by the rules and never takes the shortcut, so the
    # rewritten header is read by the general rules alone: both must agree.
    general = header.replace("_rpl_vid=", "_rpl_vid =")
    assert visitor_id_from_cookie_headers([header]) == visitor_id_from_cookie_headers([general])
    assert visitor_id_from_cookie_headers([header.encode("latin-1")]) == (
        visitor_id_from_cookie_headers([general])
    )


@pytest.mark.parametrize("junk", [":", "_", " ", "=="])
def test_a_uuid_glued_to_the_name_is_no_visitor(junk: str) -> None:
    assert visitor_id_from_cookie_headers([f"_rpl_vid{junk}{VID}"]) is None
    assert visitor_id_from_cookie_headers([f"a=1; _rpl_vid{junk}{VID}; b=2"]) is None
