"""Delivery: batching, flush watermarks, retries, outages, refusals, overflow."""

from __future__ import annotations

import threading
import time
from typing import Any, Callable

import pytest

from ripples import (
    Ripples,
    RipplesAPIError,
    RipplesBufferOverflowError,
    RipplesError,
)
from ripples.dev import DevServer

from ..polling import wait_until


def test_sends_in_background_when_the_queue_is_full(
    server: DevServer, make_client: Callable[..., Ripples]
) -> None:
    client = make_client(max_queue_size=10, flush_interval=600)
    for i in range(10):
        client.track("did", "u1", seq=i)
    assert [e["seq"] for e in server.wait_for(10)] == list(range(10))


def test_sends_every_flush_interval(server: DevServer, make_client: Callable[..., Ripples]) -> None:
    client = make_client(flush_interval=0.2)
    client.signup("u1")
    assert server.wait_for(1)[0]["$type"] == "signup"


def test_flush_returns_under_steady_traffic(
    server: DevServer, make_client: Callable[..., Ripples]
) -> None:
    """flush() waits for a watermark, not for an empty queue (segment #85, posthog #308)."""
    client = make_client(flush_interval=600)
    stop = threading.Event()
    tracked = [0]

    def busy() -> None:  # steady traffic at a pace the collector can keep up with
        while not stop.is_set():
            for _ in range(20):
                client.track("tick", "u1")
            tracked[0] += 20
            time.sleep(0.001)

    thread = threading.Thread(target=busy)
    thread.start()
    try:
        wait_until(lambda: tracked[0] > 2000, what="traffic")
        client.track("marker", "u1")
        started = time.monotonic()
        assert client.flush(timeout=30)
        assert time.monotonic() - started < 20
        assert server.events(user_id="u1") and any(e["$name"] == "marker" for e in server.events())
    finally:
        stop.set()
        thread.join()


def test_flush_with_nothing_queued_returns_true(client: Ripples) -> None:
    assert client.flush(timeout=5) is True


def test_transient_errors_are_retried_without_duplicates(
    server: DevServer, make_client: Callable[..., Ripples]
) -> None:
    server.fail_rate = 0.3
    server.fail_status = 503
    client = make_client(max_queue_size=20, max_batch_size=20)
    for i in range(200):
        client.track("did", "u1", seq=i)
    events = server.wait_for(200, timeout=60)
    # Every event exactly once: a retry with fresh ids would show up here as extra events.
    assert sorted(e["seq"] for e in events) == list(range(200))


def test_retry_after_is_honoured(server: DevServer, make_client: Callable[..., Ripples]) -> None:
    """A 429 asking for an hour is not retried after the 0.25 s backoff; close() still delivers."""
    server.fail_rate = 1.0
    server.fail_status = 429
    server.retry_after = 3600
    client = make_client(max_retries=5)
    client.revenue(10, "u1")
    assert client.flush(timeout=1.5) is False  # several default backoffs would fit in here
    assert server.stats["requests"] == 1
    server.fail_rate = 0.0
    assert client.close(timeout=10) is True  # a shutdown path does not wait out Retry-After
    assert server.stats["requests"] == 2 and len(server.events()) == 1


def test_tracking_stays_fast_while_the_api_hangs(
    server: DevServer, make_client: Callable[..., Ripples]
) -> None:
    server.hang = True
    client = make_client(timeout=0.5, connect_timeout=0.5, max_queue_size=10, max_retries=1)
    worst = 0.0
    for i in range(1000):
        started = time.perf_counter()
        client.track("did", "u1", seq=i)
        worst = max(worst, time.perf_counter() - started)
    assert worst < 0.05  # no call ever waits for the network (generous bound)
    started = time.monotonic()
    assert client.flush(timeout=1.0) is False
    assert time.monotonic() - started < 3.0  # flush is bounded by its timeout
    server.hang = False
    events = server.wait_for(1000, timeout=60)
    assert sorted(e["seq"] for e in events) == list(range(1000))


def test_outage_then_recovery_loses_nothing(
    server: DevServer, make_client: Callable[..., Ripples]
) -> None:
    errors: list[Exception] = []
    client = make_client(on_error=errors.append, max_retries=1)
    server.stop()
    for i in range(50):
        client.revenue(i + 1, f"u{i}", seq=i)
    assert client.flush(timeout=10) is False
    assert errors and isinstance(errors[0], RipplesAPIError) and errors[0].retryable
    server.start()
    events = server.wait_for(50, timeout=60)  # the sender retries by itself after its backoff
    assert sorted(e["seq"] for e in events) == list(range(50))
    assert server.stats["duplicates"] == 0


def test_clients_sharing_a_sender_each_hear_of_their_own_events(
    server: DevServer, make_client: Callable[..., Ripples]
) -> None:
    """Equal options share one sender; each client's refused events go to its own on_error
    (the first client's events are buffered without a reference to it, the others' with)."""
    first: list[Exception] = []
    second: list[Exception] = []
    a = make_client(on_error=first.append, max_retries=0, flush_interval=600)
    b = make_client(on_error=second.append, max_retries=0, flush_interval=600)
    c = make_client(max_retries=0, flush_interval=600)  # no on_error: only the log
    server.fail_rate, server.fail_status = 1.0, 400
    a.signup("u1")
    assert a.flush(timeout=10) is False
    assert len(first) == 1 and not second
    b.signup("u2")
    c.signup("u3")
    assert b.flush(timeout=10) is False
    assert len(first) == 1 and len(second) == 1
    server.fail_rate = 0.0
    for client in (a, b, c):
        client.signup("ok")
    assert c.flush(timeout=10) is True
    assert [e["$user_id"] for e in server.wait_for(3)] == ["ok"] * 3
    assert c.stats().refused == 3 and c.stats().balanced


class Poisoning(Ripples):
    """Corrupts events marked ``poison`` on their way out, as a buggy proxy would."""

    def _post(self, path: str, data: dict[str, Any]) -> None:
        for event in data["events"]:
            if event.get("poison"):
                event["$visitor_id"] = "not-a-uuid"
        super()._post(path, data)


def test_a_poisoned_event_does_not_sink_its_batch(server: DevServer) -> None:
    errors: list[Exception] = []
    client = Poisoning("priv_test", base_url=server.url, on_error=errors.append)
    for i in range(40):
        client.track("did", "u1", seq=i, poison=(i == 17))
    client.flush(timeout=20)
    events = server.wait_for(39)
    assert sorted(e["seq"] for e in events) == [i for i in range(40) if i != 17]
    assert len(errors) == 1
    [error] = errors
    assert isinstance(error, RipplesAPIError) and error.status_code == 400
    assert error.events == 1 and not error.retryable
    assert "visitor" in str(error)
    client.close()


def test_a_bad_key_is_reported_with_status_and_message(make_client: Callable[..., Ripples]) -> None:
    with DevServer(key="priv_right") as strict:
        errors: list[Exception] = []
        client = make_client(base_url=strict.url, on_error=errors.append)
        client.signup("u1")
        assert client.flush(timeout=10) is False  # attempted and refused for good
        wait_until(lambda: bool(errors), what="on_error")
        assert isinstance(errors[0], RipplesAPIError) and errors[0].status_code == 401
        assert strict.stats["events"] == 0


def test_on_error_that_raises_does_not_break_delivery(
    server: DevServer, make_client: Callable[..., Ripples]
) -> None:
    def explode(exc: Exception) -> None:
        raise RuntimeError("user callback bug")

    client = make_client(on_error=explode, max_retries=0)
    server.fail_rate = 1.0
    client.track("x", "u1")
    assert client.flush(timeout=10) is False
    server.fail_rate = 0.0
    assert server.wait_for(1, timeout=30)


def test_full_buffer_drops_the_oldest_and_reports_the_count(
    server: DevServer, make_client: Callable[..., Ripples]
) -> None:
    reports: list[RipplesError] = []
    lock = threading.Lock()

    def on_error(exc: Exception) -> None:
        if isinstance(exc, RipplesBufferOverflowError):
            with lock:
                reports.append(exc)

    client = make_client(on_error=on_error, max_buffer_size=100, max_retries=0, flush_interval=600)
    server.stop()
    for i in range(150):
        client.track("did", "u1", seq=i)
    wait_until(lambda: sum(r.dropped for r in reports) >= 50, what="drop report")
    server.start()
    events = server.wait_for(100, timeout=60)
    assert sorted(e["seq"] for e in events) == list(range(50, 150))
    assert sum(r.dropped for r in reports) == 50


def test_custom_post_receives_every_batch(server: DevServer) -> None:
    batches: list[tuple[str, dict[str, Any]]] = []

    class Recording(Ripples):
        def _post(self, path: str, data: dict[str, Any]) -> None:
            batches.append((path, data))

    client = Recording("priv_test", base_url=server.url)
    client.track("a", "u1")
    client.signup("u1")
    assert client.flush(timeout=10)
    assert [path for path, _ in batches] == ["/v1/ingest/batch"]
    assert [e["$type"] for e in batches[0][1]["events"]] == ["track", "signup"]
    assert server.stats["requests"] == 0  # the SDK's own HTTP was not used
    client.close()


def test_custom_post_exception_is_a_failed_delivery(server: DevServer) -> None:
    calls: list[list[str]] = []
    errors: list[Exception] = []

    class Flaky(Ripples):
        def _post(self, path: str, data: dict[str, Any]) -> None:
            calls.append([e["$event_id"] for e in data["events"]])
            if len(calls) == 1:
                raise ConnectionError("proxy down")

    client = Flaky("priv_test", base_url=server.url, on_error=errors.append, max_retries=2)
    client.track("a", "u1")
    assert client.flush(timeout=10) is True
    assert len(calls) == 2 and calls[0] == calls[1]  # retried, same $event_id
    client.close()


def test_disabled_client_validates_but_sends_nothing(
    server: DevServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RIPPLES_SECRET_KEY", raising=False)
    monkeypatch.setenv("RIPPLES_DISABLED", "1")
    client = Ripples(base_url=server.url)  # no key needed when disabled
    client.track("a", "u1")
    with pytest.raises(RipplesError):
        client.revenue("12", "u1")
    assert client.flush() is True
    explicit = Ripples("priv_x", base_url=server.url, disabled=True)
    explicit.signup("u1")
    explicit.flush()
    assert server.stats["requests"] == 0


def test_a_batch_too_big_for_a_proxy_is_split_before_it_is_posted() -> None:
    """1,000 events of ~1 KiB make a ~1 MiB batch: it goes out in parts of at most 512 KiB,
    so a collector that answers 413 above 600 KB (like a proxy's body limit) refuses none."""
    errors: list[Exception] = []
    with DevServer(max_body_size=600_000) as collector:
        client = Ripples(
            "priv_test", base_url=collector.url, flush_interval=600, on_error=errors.append
        )
        for i in range(1000):
            client.track("uploaded", "u1", seq=i, note="x" * 1000)
        assert client.flush(timeout=20)
        events = collector.wait_for(1000)
        assert sorted(e["seq"] for e in events) == list(range(1000))
        stats = collector.stats
        assert stats["refused_batches"] == 0 and stats["accepted_batches"] >= 2
        assert errors == []
        client.close()
