"""Idempotency keys: a call repeated with the same key is one stored event."""

from __future__ import annotations

import uuid
from typing import Any, Callable

import pytest

import ripples
from ripples import Ripples, RipplesValidationError, event_id_for
from ripples.dev import DevServer

CALLS: dict[str, Callable[..., None]] = {
    "revenue": lambda c, **kw: c.revenue(49, "u1", **kw),
    "signup": lambda c, **kw: c.signup("u1", **kw),
    "track": lambda c, **kw: c.track("paid", "u1", **kw),
    "identify": lambda c, **kw: c.identify("u1", **kw),
    "subscription": lambda c, **kw: c.subscription("sub_1", "u1", "active", 29, **kw),
}


@pytest.mark.parametrize("method", sorted(CALLS))
@pytest.mark.parametrize(
    "key",
    ["", 42, b"stripe:evt_1", "x" * 256, ["k"], "evt_\ud800"],
    ids=["empty", "int", "bytes", "256", "list", "surrogate"],
)
def test_bad_keys_are_refused_at_the_call_site(
    method: str, key: Any, server: DevServer, client: Ripples
) -> None:
    with pytest.raises(RipplesValidationError, match=rf"^{method}\(\): idempotency_key"):
        CALLS[method](client, idempotency_key=key)
    assert client.flush(5)
    assert server.events() == []


def test_a_key_of_255_characters_is_accepted() -> None:
    assert uuid.UUID(event_id_for("revenue", "k" * 255)).version == 5


def test_a_str_subclass_is_its_plain_value() -> None:
    class Safe(str):
        pass

    assert event_id_for("signup", Safe("confirm:7")) == event_id_for("signup", "confirm:7")
    assert event_id_for("signup", "café ☕") == event_id_for("signup", "café ☕")


def test_event_id_is_deterministic_and_scoped_by_method() -> None:
    first = event_id_for("revenue", "stripe:evt_1")
    assert first == event_id_for("revenue", "stripe:evt_1")
    assert first == str(uuid.UUID(first))  # canonical lowercase form
    others = {event_id_for(method, "stripe:evt_1") for method in CALLS if method != "revenue"}
    assert first not in others and len(others) == 4
    assert event_id_for("revenue", "stripe:evt_2") != first
    # A newline (which could forge another method's scope) is no key at all.
    with pytest.raises(RipplesValidationError, match="printable"):
        event_id_for("track", "revenue\nstripe:evt_1")


def test_event_id_for_refuses_unknown_methods() -> None:
    with pytest.raises(RipplesValidationError, match="method"):
        event_id_for("page_view", "k")


@pytest.mark.parametrize("method", sorted(CALLS))
def test_the_wire_id_is_the_derived_one(method: str, server: DevServer, client: Ripples) -> None:
    CALLS[method](client, idempotency_key="order:7")
    assert client.flush(5)
    (event,) = server.events()
    assert event["$event_id"] == event_id_for(method, "order:7")
    for field in ("$sent_at", "$sdk_name", "$sdk_version", "$platform"):
        assert field in event  # a preset id still gets every other common field


def test_same_key_twice_is_stored_once(server: DevServer, client: Ripples) -> None:
    client.revenue(49, "u1", idempotency_key="stripe:evt_1")
    client.revenue(49, "u1", idempotency_key="stripe:evt_1")
    client.revenue(49, "u1")  # no key: a new event each time
    assert client.flush(5)
    assert len(server.events(type="revenue")) == 2
    assert server.stats["duplicates"] == 1


def test_same_key_from_two_clients_is_stored_once(
    server: DevServer, make_client: Callable[..., Ripples]
) -> None:
    first, second = make_client(), make_client(max_batch_size=1)
    first.signup("u1", idempotency_key="confirm:u1")
    assert first.flush(5)
    second.signup("u1", idempotency_key="confirm:u1")
    assert second.flush(5)
    assert len(server.events(type="signup")) == 1


def test_same_key_two_methods_are_two_events(server: DevServer, client: Ripples) -> None:
    client.revenue(49, "u1", idempotency_key="order:7")
    client.track("paid", "u1", idempotency_key="order:7")
    assert client.flush(5)
    assert sorted(e["$type"] for e in server.events()) == ["revenue", "track"]


def test_current_visitor_id_follows_the_binding() -> None:
    visitor = "3f2b8c1e-6a4d-4e8f-9b7a-1c2d3e4f5a6b"
    assert ripples.current_visitor_id() is None
    with ripples.bind_visitor(visitor.upper()):
        assert ripples.current_visitor_id() == visitor
        with ripples.bind_visitor("junk"):
            assert ripples.current_visitor_id() is None
        assert ripples.current_visitor_id() == visitor
    assert ripples.current_visitor_id() is None
