"""Spilling while other things happen: overlapping spills, recovery booking meanwhile, and
what leaves the buffer (written by an independent review of the lock-free buffer)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any, Callable

from ripples import Ripples
from ripples._spool_format import decode_segment
from ripples.dev import DevServer
from ripples.testing import record_events

from ..polling import wait_until


def test_two_spills_at_once_are_both_pending_and_a_flush_is_not_told_delivered(
    server: DevServer, make_client: Callable[..., Ripples], tmp_path: Path
) -> None:
    """The sender thread spills at the spill mark (a slow disk, simulated); meanwhile close()
    from another thread spills what came since. Both spills' events stay pending until each
    is booked, so the ledger balances throughout, and a flush() waiting for the first one's
    events returns False: they were spooled, not delivered. (Found by review: a single
    "spilling" slot let the second spill hide the first.)"""
    client = make_client(
        spool_dir=str(tmp_path / "spool"),
        max_buffer_size=5,
        max_queue_size=100,
        flush_interval=600,
    )
    sender = client._sender
    keeper = sender._keeper
    assert keeper is not None
    real_spill = keeper.spill
    a_blocked, release_a = threading.Event(), threading.Event()
    calls: list[str] = []

    def slow_first_spill(encoded: Any, chunk: int) -> Any:
        calls.append(threading.current_thread().name)
        if len(calls) == 1:
            a_blocked.set()
            release_a.wait(10)  # a slow disk, bounded
        return real_spill(encoded, chunk)

    keeper.spill = slow_first_spill  # type: ignore[method-assign]
    try:
        for i in range(5):  # reaches the spill mark: the sender thread spills them
            client.track("spilled", "u1", i=i)
        wait_until(a_blocked.is_set, what="the thread's spill to start writing")
        flushed: list[tuple[bool, int]] = []

        def flusher() -> None:
            ok = client.flush(timeout=10)
            flushed.append((ok, len(server.events())))

        flusher_thread = threading.Thread(target=flusher)
        flusher_thread.start()
        wait_until(lambda: len(sender._buffer.waiters) == 1, what="the flush to wait")
        client.track("late", "u1")
        client.close(timeout=0.2)  # the thread is still writing: close() spills "late" itself
        balanced_while_writing = client.stats().balanced
        release_a.set()
        flusher_thread.join(10)
        wait_until(lambda: not sender._buffer.spilling and len(calls) >= 2)
        assert flushed, "flush() did not return"
        ok, on_server = flushed[0]
        wrong_flush = ok and on_server < 5
        assert balanced_while_writing and not wrong_flush, (
            f"ledger balanced while the first spill wrote: {balanced_while_writing}; "
            f"flush() returned {ok} with {on_server} of the 5 events delivered (all spooled)"
        )
    finally:
        release_a.set()
        keeper.spill = real_spill  # type: ignore[method-assign]


def test_close_is_not_told_delivered_when_recovery_evicts_during_its_spill(
    server: DevServer, make_client: Callable[..., Ripples], tmp_path: Path
) -> None:
    """close() spills what it could not deliver; meanwhile the sender thread's recovery
    rewrites a segment and evicts an old one, and books the eviction. close()'s own spill
    must still be booked as its own: close() returns False, its events were only spooled.

    The recovery's booking is replayed here, from another thread, at the moment it can
    happen: while close()'s spill writes (the spool's write lock serialises only the I/O)."""
    client = make_client(spool_dir=str(tmp_path / "spool"), max_retries=0, flush_interval=600)
    sender = client._sender
    keeper = sender._keeper
    assert keeper is not None
    real_spill = keeper.spill
    buffer = sender._buffer

    def spill_while_recovery_books(encoded: Any, chunk: int) -> Any:
        def recovery_eviction() -> None:
            with buffer.lock:
                buffer.book_eviction_locked(0, 1)

        other = threading.Thread(target=recovery_eviction)
        other.start()
        other.join(5)
        return real_spill(encoded, chunk)

    server.fail_rate, server.fail_status = 1.0, 503
    for i in range(3):
        client.track("x", "u1", i=i)
    keeper.spill = spill_while_recovery_books  # type: ignore[method-assign]
    try:
        delivered = client.close(timeout=0.5)
    finally:
        keeper.spill = real_spill  # type: ignore[method-assign]
    stats = client.stats()
    assert stats.spooled == 3 and len(server.events()) == 0
    assert delivered is False, "close() returned True: its 3 events were spooled, not delivered"


def test_users_only_ever_see_a_formatted_sent_at(
    server: DevServer, make_client: Callable[..., Ripples], tmp_path: Path
) -> None:
    """Recorder events, refused events' ids, spooled records and what recovery sends."""
    with record_events() as recorded:
        make_client().track("rec", "u1")
    assert isinstance(recorded[0]["$sent_at"], str)

    spool = tmp_path / "spool"
    client = make_client(spool_dir=str(spool), max_retries=0, flush_interval=600)
    server.fail_rate, server.fail_status = 1.0, 503
    for i in range(5):
        client.track("spooled", "u1", i=i)
    client.close(timeout=0.5)
    assert client.stats().spooled == 5
    records = []
    for path in spool.rglob("*"):
        if path.is_file() and not path.name.startswith("."):
            decoded = decode_segment(path.read_bytes())
            records += [json.loads(payload) for payload in decoded.events]
    sent = [r.get("$sent_at") for r in records if r.get("$name") == "spooled"]
    assert sent and all(isinstance(s, str) for s in sent), sent
    server.fail_rate = 0.0
    again = make_client(spool_dir=str(spool), max_retries=0, flush_interval=0.05)
    again.track("after", "u1")
    assert again.flush(timeout=10)
    wait_until(lambda: len(server.events(name="spooled")) == 5, what="recovery")
    assert server.stats["refused_batches"] == 0
