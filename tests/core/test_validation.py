"""Bad input raises a clear error at the call site, and nothing is queued."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Callable

import pytest

from ripples import Ripples, RipplesError, RipplesValidationError
from ripples.dev import DevServer

BAD_CALLS: list[tuple[str, Callable[[Ripples], Any], str]] = [
    ("amount bool", lambda c: c.revenue(True, "u1"), "amount"),
    ("amount None", lambda c: c.revenue(None, "u1"), "amount"),
    ("amount str", lambda c: c.revenue("49.99", "u1"), "amount"),
    ("amount nan", lambda c: c.revenue(float("nan"), "u1"), "amount"),
    ("amount inf", lambda c: c.revenue(float("inf"), "u1"), "amount"),
    ("amount Decimal nan", lambda c: c.revenue(Decimal("NaN"), "u1"), "amount"),
    ("user None", lambda c: c.signup(None), "user_id"),
    ("user empty", lambda c: c.signup(""), "user_id"),
    ("user blank", lambda c: c.identify("   "), "user_id"),
    ("user bool", lambda c: c.identify(True), "user_id"),
    ("action empty", lambda c: c.track("", "u1"), "action_name"),
    ("action None", lambda c: c.track(None, "u1"), "action_name"),
    ("area empty", lambda c: c.track("x", "u1", area=""), "area"),
    ("activated str", lambda c: c.track("x", "u1", activated="yes"), "activated"),
    ("property object", lambda c: c.track("x", "u1", thing=object()), "thing"),
    ("property bytes", lambda c: c.signup("u1", blob=b"\x00"), "blob"),
    ("property nan", lambda c: c.signup("u1", score=float("nan")), "score"),
    ("nested property", lambda c: c.signup("u1", meta={"a": [object()]}), "meta.a[0]"),
    ("dollar key", lambda c: c.signup("u1", **{"$type": "revenue"}), "$type"),
    ("timestamp junk", lambda c: c.signup("u1", timestamp="yesterday"), "timestamp"),
    ("timestamp int", lambda c: c.signup("u1", timestamp=1700000000), "timestamp"),
    ("sub status", lambda c: c.subscription("s", "u1", "cancelled", 9), "status"),
    ("sub interval", lambda c: c.subscription("s", "u1", "active", 9, "monthly"), "interval"),
    ("sub amount", lambda c: c.subscription("s", "u1", "active", -1), "amount"),
    ("sub id", lambda c: c.subscription("", "u1", "active", 9), "subscription_id"),
]


@pytest.mark.parametrize(
    ("call", "argument"), [(c, a) for _, c, a in BAD_CALLS], ids=[name for name, _, _ in BAD_CALLS]
)
def test_bad_input_raises_naming_the_argument(
    server: DevServer, client: Ripples, call: Callable[[Ripples], Any], argument: str
) -> None:
    with pytest.raises(RipplesValidationError) as info:
        call(client)
    assert argument in str(info.value)
    assert isinstance(info.value, ValueError) and isinstance(info.value, RipplesError)
    client.track("after", "u1")  # the client keeps working, and the bad call queued nothing
    assert client.flush(timeout=10)
    assert [e["$name"] for e in server.wait_for(1)] == ["after"]
    assert server.stats["events"] == 1


def test_int_user_id_is_converted(server: DevServer, client: Ripples) -> None:
    client.signup(42)
    assert client.flush(timeout=10)
    assert server.wait_for(1)[0]["$user_id"] == "42"


def test_missing_key_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RIPPLES_SECRET_KEY", raising=False)
    with pytest.raises(RipplesError, match="RIPPLES_SECRET_KEY"):
        Ripples()


def test_key_and_url_come_from_the_environment(
    server: DevServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RIPPLES_SECRET_KEY", "priv_from_env")
    monkeypatch.setenv("RIPPLES_URL", server.url)
    client = Ripples()
    client.signup("u1")
    assert client.flush(timeout=10)
    assert server.wait_for(1)
    assert server.last_request_headers["Authorization"] == "Bearer priv_from_env"
    client.close()


@pytest.mark.parametrize(
    "options",
    [
        {"timeout": 0},
        {"max_queue_size": 0},
        {"max_buffer_size": -1},
        {"flush_interval": "1"},
        {"base_url": "ftp://example.com"},
        {"base_url": 123},
        {"on_error": "log"},
        {"max_retries": 1.5},
    ],
)
def test_bad_options_are_refused(options: dict[str, Any]) -> None:
    with pytest.raises(RipplesError):
        Ripples("priv_x", **options)
