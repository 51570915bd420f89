"""``ripples._context``: which visitor the current request belongs to, seen via real delivery."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from typing import Any, Callable

import pytest

from ripples import (
    Ripples,
    VisitorBinding,
    bind_visitor,
    set_visitor_id,
    visitor_id_from_cookies,
)
from ripples._context import current_binding, normalize_visitor_id
from ripples.dev import DevServer

VID = "3f2b8c1e-6a4d-4e8f-9b7a-1c2d3e4f5a6b"
OTHER = "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (VID, VID),
        (VID.upper(), VID),
        (f'"{VID}"', VID),
        (f"  {VID} ", VID),
        (f'" {VID} "', VID),
        ("not-a-uuid", None),
        (VID.replace("-", ""), None),
        (VID + "0", None),
        ("", None),
        (None, None),
        (42, None),
        (" " * 30 + VID + " " * 30, None),  # longer than any cookie value we accept
    ],
)
def test_normalize_visitor_id(value: Any, expected: str | None) -> None:
    assert normalize_visitor_id(value) == expected


def test_visitor_id_from_cookies_survives_a_hostile_mapping() -> None:
    class Hostile(dict):  # type: ignore[type-arg]
        def get(self, *args: Any) -> Any:
            raise RuntimeError("boom")

    assert visitor_id_from_cookies({"_rpl_vid": VID.upper()}) == VID
    assert visitor_id_from_cookies({"_rpl_vid": "junk"}) is None
    assert visitor_id_from_cookies(Hostile()) is None


def test_a_binding_is_scoped_nested_and_restored() -> None:
    assert current_binding() is None
    outer = bind_visitor(VID)
    with outer:
        assert current_binding() is outer
        with bind_visitor(OTHER) as inner:
            assert current_binding() is inner and inner.visitor_id == OTHER
        assert current_binding() is outer
        with outer:  # re-entered, as integrations do around each streamed chunk
            assert current_binding() is outer
        assert current_binding() is outer
    assert current_binding() is None
    assert bind_visitor("junk").visitor_id is None


def test_events_carry_the_bound_visitor_and_an_explicit_one_wins(
    server: DevServer, make_client: Callable[..., Ripples]
) -> None:
    client = make_client()
    with bind_visitor(VID.upper()):
        client.signup("bound")
        client.signup("explicit", visitor_id=OTHER)
        client.signup("malformed-explicit", visitor_id="junk")  # falls back to the binding
    client.signup("unbound")
    assert client.flush(timeout=10)
    visitors = {e["$user_id"]: e.get("$visitor_id") for e in server.wait_for(4)}
    assert visitors == {
        "bound": VID,
        "explicit": OTHER,
        "malformed-explicit": VID,
        "unbound": None,
    }


def test_flush_soon_delivers_what_the_binding_saw_without_a_flush(
    server: DevServer, make_client: Callable[..., Ripples]
) -> None:
    client = make_client(flush_interval=60, max_queue_size=1000)
    binding = bind_visitor(VID)
    assert not binding.tracked
    with binding:
        client.track("after the response", "u1")
    assert binding.tracked
    binding.flush_soon()  # non-blocking: the sender thread sends now, not in 60 s
    (event,) = server.wait_for(1, timeout=10)
    assert event["$visitor_id"] == VID
    assert not binding.tracked  # each flush_soon() consumes what was seen


def test_a_binding_does_not_leak_into_other_threads_or_later_contexts(
    server: DevServer, make_client: Callable[..., Ripples]
) -> None:
    client = make_client()
    seen_elsewhere: list[VisitorBinding | None] = []
    with bind_visitor(VID):
        thread = threading.Thread(target=lambda: seen_elsewhere.append(current_binding()))
        thread.start()
        thread.join()
        copied = contextvars.copy_context()
    assert seen_elsewhere == [None]  # a plain thread starts with an empty context
    assert copied.run(current_binding) is not None  # a copied context (asgiref, anyio) sees it

    def legacy_request() -> None:  # the 0.1.x call, unscoped, in a request's own context
        set_visitor_id(OTHER)
        client.signup("legacy")

    contextvars.copy_context().run(legacy_request)
    client.signup("after")
    assert client.flush(timeout=10)
    visitors = {e["$user_id"]: e.get("$visitor_id") for e in server.wait_for(2)}
    assert visitors == {"legacy": OTHER, "after": None}


def test_concurrent_tasks_keep_their_own_visitor(
    server: DevServer, make_client: Callable[..., Ripples]
) -> None:
    client = make_client()

    async def request(user: str, visitor: str) -> None:
        with bind_visitor(visitor):
            await asyncio.sleep(0)  # interleave with the other task
            client.track("viewed", user)

    async def main() -> None:
        await asyncio.gather(request("a", VID), request("b", OTHER))

    asyncio.run(main())
    assert client.flush(timeout=10)
    visitors = {e["$user_id"]: e["$visitor_id"] for e in server.wait_for(2)}
    assert visitors == {"a": VID, "b": OTHER}
