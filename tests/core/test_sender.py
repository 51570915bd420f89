"""The sender itself: the ledger's bookkeeping, poison isolation and forks that skip the hooks."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from typing import Callable

import pytest

from ripples import _sender
from ripples._config import SenderConfig
from ripples._registry import shared_sender
from ripples._sender import Sender
from ripples.dev import DevServer


def _config(url: str, **overrides: object) -> SenderConfig:
    options: dict[str, object] = dict(
        secret_key="priv_test_0123456789",
        base_url=url,
        timeout=3.0,
        connect_timeout=2.0,
        max_queue_size=100,
        max_batch_size=500,
        max_buffer_size=1000,
        max_retries=1,
        flush_interval=600.0,
        shutdown_timeout=2.0,
    )
    options.update(overrides)
    return SenderConfig(**options)  # type: ignore[arg-type]


@pytest.fixture
def sender(server: DevServer) -> Iterator[Sender]:
    sender = Sender(_config(server.url))
    yield sender
    sender.close(2)


def _event(name: str, **extra: object) -> dict[str, object]:
    return {"$type": "track", "$user_id": "user_1", "$name": name, **extra}


def test_an_unencodable_event_is_dropped_alone_and_the_rest_flows(
    sender: Sender, server: DevServer
) -> None:
    """Values the call site could not see (here infinity, put straight into the sender)."""
    errors: list[Exception] = []
    sender.put(_event("a"), time.time(), errors.append)
    sender.put(_event("poison", price=math.inf), time.time(), errors.append)
    sender.put(_event("b"), time.time(), errors.append)
    assert sender.flush(10) is False  # one event it covered was dropped
    stats = sender.stats()
    assert (stats.delivered, stats.dropped_by_reason) == (2, {"unencodable": 1})
    assert stats.balanced
    assert sorted(e["$name"] for e in server.events()) == ["a", "b"]
    assert len(errors) == 1 and "JSON" in str(errors[0])
    sender.put(_event("c"), time.time(), None)
    assert sender.flush(10) is True


def test_pending_events_keep_their_order_through_failures(
    sender: Sender, server: DevServer
) -> None:
    server.fail_rate = 1.0
    for i in range(20):
        sender.put(_event(f"e{i:02d}"), time.time(), None)
    assert sender.flush(10) is False
    assert sender.stats().pending == 20
    server.fail_rate = 0.0
    assert sender.close(10) is True
    assert [e["$name"] for e in server.events()] == [f"e{i:02d}" for i in range(20)]


def test_a_batch_retried_after_failures_is_stored_once(
    sender: Sender, server: DevServer
) -> None:
    server.fail_rate = 1.0
    sender.put(_event("a"), time.time(), None)
    sender.flush(10)
    server.fail_rate = 0.0
    assert sender.close(10) is True
    assert server.stats["duplicates"] == 0 and len(server.events()) == 1


def test_clients_of_one_configuration_get_one_sender(server: DevServer) -> None:
    config = _config(server.url)
    assert shared_sender(config) is shared_sender(config)


# A fork that skips Python's at-fork hooks is tested for real in tests/deploy (uWSGI without
# --py-call-uwsgi-fork-hooks): a raw libc fork from ctypes would also skip the interpreter's
# own re-initialisation, which no real server does.


def test_an_event_tracked_as_the_thread_stops_is_still_sent(
    server: DevServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``put()`` takes no lock: an event appended between the sender thread's last look at
    the buffer and its stopping must find the thread stopped and start another.

    The interleaving is forced: the thread's exit condition (it stops as soon as it is idle
    here) lets another thread track after it found the buffer empty. No flush() follows,
    so only a running thread can send that event.
    """
    monkeypatch.setattr(_sender, "_IDLE_EXIT_SECONDS", 0.0)  # 30 s in production
    late = threading.Thread(target=lambda: sender.put(_event("late"), time.time(), None))

    class Racing(Sender):
        def _exit_if(self, condition: Callable[[], bool]) -> bool:
            def racing() -> bool:
                stopping = condition()
                if stopping and not late.ident:
                    late.start()
                    late.join(timeout=1)  # appends; finding the thread stopped, waits for the lock
                return stopping

            return super()._exit_if(racing)

    sender = Racing(_config(server.url, flush_interval=0.05))
    try:
        sender.put(_event("first"), time.time(), None)
        names = [e["$name"] for e in server.wait_for(2, timeout=10)]
        assert names == ["first", "late"]
    finally:
        late.join(timeout=10)
        sender.close(2)
