"""The Cookie-header reader: untrusted bytes in, a lowercased UUID or None out, never an error."""

from __future__ import annotations

import time
from typing import Any

import pytest

from ripples._cookies import MAX_BYTES
from ripples_asgi._cookies import visitor_id_from_scope

VID = "3f2b8c1e-6a4d-4e8f-9b7a-1c2d3e4f5a6b"
OTHER = "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"


def scope(*cookie_headers: bytes, extra: Any = ()) -> dict[str, Any]:
    headers = [(b"host", b"example.com"), *extra]
    headers += [(b"cookie", value) for value in cookie_headers]
    return {"type": "http", "headers": headers}


@pytest.mark.parametrize(
    "header",
    [
        b"_rpl_vid=" + VID.encode(),
        b"a=1; _rpl_vid=" + VID.encode() + b"; b=2",
        b"a=1;_rpl_vid=" + VID.encode() + b";b=2",
        b"  _rpl_vid = " + VID.encode() + b" ;",
        b'_rpl_vid="' + VID.encode() + b'"',
        b"_rpl_vid=" + VID.upper().encode(),
        b"\t_rpl_vid=" + VID.encode(),
        b"x=\xff\xfe; _rpl_vid=" + VID.encode(),
    ],
)
def test_a_well_formed_cookie_is_found_and_lowercased(header: bytes) -> None:
    assert visitor_id_from_scope(scope(header)) == VID


@pytest.mark.parametrize(
    "header",
    [
        b"",
        b"a=1; b=2",
        b"_rpl_vid=",
        b"_rpl_vid",
        b"_rpl_vid=not-a-uuid",
        b"_rpl_vid=" + VID.encode() + b"x",
        b"_rpl_vid=" + VID[:-1].encode(),
        b"_rpl_vid=" + VID.encode() + b"0" * 200,
        b"_rpl_vid=" + VID.replace("-", "").encode(),
        b"x_rpl_vid=" + VID.encode(),
        b"a=_rpl_vid=" + VID.encode(),
        b"a=b _rpl_vid=" + VID.encode(),
        b"_RPL_VID=" + VID.encode(),
        b"_rpl_vid=" + VID.encode()[:8] + b"\x00" + VID.encode()[9:],
    ],
)
def test_junk_gives_no_visitor(header: bytes) -> None:
    assert visitor_id_from_scope(scope(header)) is None


def test_every_cookie_header_counts_and_the_first_well_formed_value_wins() -> None:
    good, other = b"_rpl_vid=" + VID.encode(), b"_rpl_vid=" + OTHER.encode()
    split = scope(b"a=1", b"_rpl_vid=junk", good, other)
    assert visitor_id_from_scope(split) == VID
    joined = scope(b"_rpl_vid=junk; _rpl_vid=" + OTHER.encode() + b"; _rpl_vid=" + VID.encode())
    assert visitor_id_from_scope(joined) == OTHER


def test_header_names_are_matched_without_regard_to_case() -> None:
    assert visitor_id_from_scope({"headers": [(b"Cookie", b"_rpl_vid=" + VID.encode())]}) == VID
    assert visitor_id_from_scope({"headers": [(b"x-cookie", b"_rpl_vid=" + VID.encode())]}) is None


@pytest.mark.parametrize(
    "bad_scope",
    [
        {},
        {"headers": None},
        {"headers": 42},
        {"headers": [(b"cookie",)]},
        {"headers": [("cookie", "_rpl_vid=" + VID)]},
        {"headers": [(b"cookie", None)]},
        {"headers": [None, (b"cookie", b"_rpl_vid=" + VID.encode())]},
    ],
)
def test_a_malformed_scope_gives_no_visitor_and_never_raises(bad_scope: dict[str, Any]) -> None:
    assert visitor_id_from_scope(bad_scope) is None


def test_bytearray_and_memoryview_values_are_read() -> None:
    value = b"_rpl_vid=" + VID.encode()
    assert visitor_id_from_scope({"headers": [(b"cookie", bytearray(value))]}) == VID
    assert visitor_id_from_scope({"headers": [(b"cookie", memoryview(value))]}) == VID


def test_a_cookie_within_the_first_64_kib_is_found_behind_other_cookies() -> None:
    filler = b"; ".join(b"c%d=%s" % (n, b"v" * 4000) for n in range(12))  # ~48 KiB
    assert visitor_id_from_scope(scope(filler + b"; _rpl_vid=" + VID.encode())) == VID


def test_huge_and_hostile_headers_cost_a_bounded_scan() -> None:
    beyond_cap = scope(b"a=" + b"x" * MAX_BYTES + b"; _rpl_vid=" + VID.encode())
    many_names = scope(b"_rpl_vid=;" * 500_000 + b"_rpl_vid=" + VID.encode())
    padded = scope((b" " * 100_000 + b"_rpl_vid=x;") * 40)
    many_headers = scope(*[b"a=" + b"y" * 60_000] * 200, b"_rpl_vid=" + VID.encode())
    started = time.perf_counter()
    for hostile in (beyond_cap, many_names, padded, many_headers):
        assert visitor_id_from_scope(hostile) is None
    # Unbounded parsing of these would take seconds; the bound is generous.
    assert time.perf_counter() - started < 0.5
