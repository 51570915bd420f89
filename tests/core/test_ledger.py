"""The event ledger through the public API: ``stats()``, ``flush()`` and ``close()`` are exact."""

from __future__ import annotations

import logging
import threading
import time
from decimal import Decimal
from fractions import Fraction
from typing import Any, Callable

import pytest

from ripples import DeliveryStats, Ripples, RipplesAPIError, RipplesError, RipplesValidationError
from ripples.dev import DevServer

from ..polling import wait_until

MakeClient = Callable[..., Ripples]


class Errors(list):  # type: ignore[type-arg]
    """An ``on_error`` that keeps what it was given, safe to call from the sender thread."""

    def __call__(self, exc: Exception) -> None:
        self.append(exc)


def test_a_fresh_client_has_an_empty_balanced_ledger(client: Ripples) -> None:
    stats = client.stats()
    assert isinstance(stats, DeliveryStats)
    assert (stats.tracked, stats.delivered, stats.pending, stats.lost) == (0, 0, 0, 0)
    assert stats.balanced
    assert stats.last_success_at is None and stats.backing_off_until is None


def test_delivered_events_are_counted_once_and_the_ledger_balances(
    make_client: MakeClient, server: DevServer
) -> None:
    client = make_client(flush_interval=600)
    for i in range(25):
        client.track("created a budget", f"user_{i}", area="budgets")
    pending = client.stats()
    assert pending.tracked == 25 and pending.pending == 25 and pending.balanced

    before = time.time()
    assert client.flush(timeout=10) is True
    stats = client.stats()
    assert (stats.tracked, stats.delivered, stats.pending) == (25, 25, 0)
    assert stats.balanced and stats.lost == 0
    assert stats.last_success_at is not None and stats.last_success_at >= before - 1
    assert len(server.events()) == 25


def test_clients_with_one_configuration_share_one_ledger(make_client: MakeClient) -> None:
    first, second = make_client(flush_interval=600), make_client(flush_interval=600)
    first.signup("user_1")
    second.signup("user_2")
    assert first.stats().tracked == second.stats().tracked == 2


def test_a_refused_event_is_counted_reported_and_makes_flush_false(
    make_client: MakeClient, server: DevServer
) -> None:
    errors = Errors()
    client = make_client(flush_interval=600, on_error=errors)
    client.track("refused", "user_1")
    client.track("refused", "user_2")
    server.fail_status = 400
    server.fail_rate = 1.0
    assert client.flush(timeout=10) is False
    stats = client.stats()
    assert stats.refused == 2 and stats.delivered == 0 and stats.balanced
    assert stats.last_error is not None and "400" in stats.last_error
    refusals = [e for e in errors if isinstance(e, RipplesAPIError)]
    assert refusals and all(not e.retryable for e in refusals)

    server.fail_rate = 0.0
    client.track("after", "user_3")
    assert client.flush(timeout=10) is True  # a new flush covers only the new event
    assert [e["$name"] for e in server.events()] == ["after"]


def test_close_on_a_hanging_api_returns_false_and_reports_what_is_left(
    make_client: MakeClient, server: DevServer
) -> None:
    errors = Errors()
    client = make_client(on_error=errors, timeout=0.3, connect_timeout=0.3)
    server.hang = True
    for i in range(3):
        client.revenue(9.99, f"user_{i}")
    assert client.close(timeout=1) is False
    stats = client.stats()
    assert stats.delivered == 0 and stats.pending == 3 and stats.balanced
    assert any(getattr(e, "events", 0) == 3 for e in errors), errors
    server.hang = False
    assert client.close(timeout=10) is True
    assert client.stats().delivered == 3 and len(server.events()) == 3


def test_close_delivers_even_while_the_sender_backs_off(
    make_client: MakeClient, server: DevServer
) -> None:
    """A shutdown path never takes the request path's "backing off" shortcut."""
    client = make_client(max_retries=0, flush_interval=600)
    server.fail_rate = 1.0
    client.revenue(49.99, "user_1", transaction_id="t1")
    assert client.flush(timeout=10) is False
    backing_off = client.stats().backing_off_until
    assert backing_off is not None and backing_off > time.time()
    assert client.flush(timeout=10) is False  # the request path: no waiting out an outage
    server.fail_rate = 0.0
    assert client.close(timeout=10) is True
    assert client.stats().delivered == 1 and len(server.events()) == 1


def test_retries_and_the_last_error_are_in_the_ledger(
    make_client: MakeClient, server: DevServer
) -> None:
    client = make_client(max_retries=2, flush_interval=600)
    server.fail_rate = 1.0
    server.fail_status = 503
    client.track("a", "user_1")
    assert client.flush(timeout=20) is False
    stats = client.stats()
    assert stats.retries == 2 and stats.pending == 1 and stats.balanced
    assert stats.last_error is not None and "503" in stats.last_error
    assert "priv_" not in stats.last_error


@pytest.mark.parametrize(
    "amount", [Decimal("1E+400"), Decimal("-1e309"), Fraction(10**400, 3), 10**400, -(10**309)]
)
def test_amounts_that_are_no_finite_double_are_refused_at_the_call_site(
    make_client: MakeClient, amount: Any
) -> None:
    client = make_client()
    with pytest.raises(RipplesValidationError, match="amount"):
        client.revenue(amount, "user_1")
    with pytest.raises(RipplesValidationError, match="amount"):
        client.subscription("sub_1", "user_1", "active", amount)
    assert client.stats().tracked == 0


@pytest.mark.parametrize("value", [Decimal("1E+400"), Fraction(10**400, 3)])
def test_property_values_that_overflow_a_double_are_refused(
    make_client: MakeClient, value: Any
) -> None:
    with pytest.raises(RipplesValidationError, match="price"):
        make_client().track("a", "user_1", price=value)


def test_the_field_replay_of_an_unencodable_amount_delivers_everything_else(
    make_client: MakeClient, server: DevServer
) -> None:
    client = make_client(flush_interval=600)
    client.track("a", "u1")
    with pytest.raises(RipplesValidationError):
        client.revenue(Decimal("1E+400"), "u1")
    client.track("b", "u1")
    assert client.flush(timeout=10) is True
    assert sorted(e["$name"] for e in server.events()) == ["a", "b"]


class _RaisingPost(Ripples):
    """The 0.1.x seam with a bug: any event carrying ``poison`` makes ``_post`` raise."""

    def _post(self, path: str, data: dict[str, Any]) -> None:
        if any("poison" in event for event in data["events"]):
            raise TypeError("cannot serialise poison")
        super()._post(path, data)


def test_a_bug_in_a_custom_post_drops_only_the_events_it_fails_on(server: DevServer) -> None:
    errors = Errors()
    client = _RaisingPost(
        "priv_test_0123456789abcdef", base_url=server.url, flush_interval=600, on_error=errors
    )
    try:
        for i in range(9):
            if i == 4:
                client.track("bad", f"user_{i}", poison=True)
            else:
                client.track("good", f"user_{i}")
        assert client.flush(timeout=10) is False  # one event it covered was dropped
        stats = client.stats()
        assert stats.delivered == 8 and stats.dropped_by_reason == {"send_error": 1}
        assert stats.balanced
        assert len(server.events(name="good")) == 8
        assert any("TypeError" in str(e) for e in errors if isinstance(e, RipplesError))
        client.track("later", "user_x")
        assert client.flush(timeout=10) is True  # nothing is stuck at the head of the queue
    finally:
        client.close(timeout=2)


class _CountingPost(Ripples):
    """A client per request with only ``_post`` overridden, the documented 0.1.x pattern."""

    posts: list[int] = []

    def _post(self, path: str, data: dict[str, Any]) -> None:
        type(self).posts.append(len(data["events"]))
        super()._post(path, data)


def test_a_client_per_request_with_a_custom_post_shares_one_sender(server: DevServer) -> None:
    threads_before = threading.active_count()
    clients = []
    for i in range(60):
        client = _CountingPost("priv_test_0123456789abcdef", base_url=server.url)
        client.signup(f"user_{i}")
        clients.append(client)
    assert threading.active_count() <= threads_before + 1
    assert clients[0].flush(timeout=10) is True
    assert sum(_CountingPost.posts) == 60 and len(server.events()) == 60
    clients[-1].close(timeout=2)


def test_a_wrong_key_is_refused_and_never_appears_in_stats() -> None:
    with DevServer(key="priv_right_key_0123456") as server:
        client = Ripples("priv_wrong_key_abcdef", base_url=server.url, max_retries=0)
        client.track("a", "user_1")
        client.track("b", "user_1")
        assert client.flush(timeout=10) is False
        stats = client.stats()
        client.close(timeout=1)
    assert stats.refused == 2 and stats.balanced
    assert stats.last_error is not None and "401" in stats.last_error
    assert "priv_wrong_key_abcdef" not in repr(stats)


def test_a_disabled_client_reports_an_empty_ledger() -> None:
    client = Ripples(disabled=True)
    client.track("a", "user_1")
    assert client.stats() == DeliveryStats()


def test_delivery_problems_are_logged_without_raising(
    make_client: MakeClient, server: DevServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="ripples")
    client = make_client(max_retries=0, flush_interval=600)
    server.fail_rate = 1.0
    client.track("a", "user_1")
    assert client.flush(timeout=10) is False
    wait_until(lambda: "could not deliver 1 events" in caplog.text, what="the warning")


@pytest.mark.parametrize("key", ["priv_abc\u200b", "priv_a\r\nb", "priv a b", "priv_é"])
def test_a_key_that_cannot_travel_in_a_header_is_refused_without_showing_it(key: str) -> None:
    with pytest.raises(RipplesError) as raised:
        Ripples(key)
    assert "HTTP header" in str(raised.value) and key.strip() not in str(raised.value)


@pytest.mark.parametrize("retry_after", ["inf", "1000000000"])
def test_an_absurd_retry_after_is_bounded(
    make_client: MakeClient, server: DevServer, retry_after: str
) -> None:
    """``Retry-After: inf`` must not crash the sender, nor a huge one stall it for years."""
    server.fail_rate = 1.0
    server.fail_status = 503
    server.retry_after = float(retry_after)
    client = make_client(max_retries=0, flush_interval=600)
    client.track("a", "user_1")
    assert client.flush(timeout=10) is False
    until = client.stats().backing_off_until
    assert until is not None and until <= time.time() + 121
    server.fail_rate = 0.0
    assert client.close(timeout=10) is True
