"""The sender itself: the ledger's bookkeeping, poison isolation and forks that skip the hooks."""

from __future__ import annotations

import ctypes
import json
import math
import os
import sys
import time
from collections.abc import Iterator

import pytest

from ripples import Ripples
from ripples._config import SenderConfig
from ripples._registry import shared_sender
from ripples._sender import Sender
from ripples.dev import DevServer

from ..polling import wait_until


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


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="libc fork via ctypes")
def test_a_fork_that_skips_the_python_hooks_still_gets_a_working_sender(
    server: DevServer,
) -> None:
    """uWSGI and C extensions fork without os.register_at_fork hooks: the pid check catches it."""
    client = Ripples("priv_test_0123456789", base_url=server.url, flush_interval=0.05)
    client.track("parent before fork", "parent")
    assert client.flush(timeout=10)
    client.track("parent pending", "parent")  # queued in the parent at the moment of the fork
    read_end, write_end = os.pipe()
    pid = ctypes.CDLL(None).fork()  # libc's fork: Python's at-fork hooks do not run
    if pid == 0:  # the child: report the outcome through the pipe, then leave at once
        try:
            client.track("child event", "child")
            ok = client.flush(timeout=10)
            stats = client.stats()
            os.write(write_end, json.dumps([ok, stats.tracked, stats.delivered]).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        ok, tracked, delivered = json.loads(pipe.read() or "[false, -1, -1]")
    os.waitpid(pid, 0)
    assert (ok, tracked, delivered) == (True, 1, 1)  # the child never re-sent the parent's events
    assert client.flush(timeout=10)
    wait_until(lambda: len(server.events()) == 3, what="the three events")
    assert sorted(e["$name"] for e in server.events()) == [
        "child event",
        "parent before fork",
        "parent pending",
    ]
    client.close(timeout=2)
