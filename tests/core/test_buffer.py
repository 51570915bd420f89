"""The buffer's numbering: events put back (a failed batch, a failed spill) stay in order."""

from __future__ import annotations

import time

from ripples._buffer import Buffer
from ripples._delivery import Outcome


def _fill(buffer: Buffer, count: int) -> None:
    for i in range(count):
        buffer.queue.append({"$type": "track", "i": i, "$sent_at": time.time()})


def test_events_put_back_in_either_order_stay_sorted_by_number() -> None:
    """A batch in flight fails and is put back; then a spill of newer events (taken by
    close() meanwhile) fails too and puts them back: the oldest stays first, and the lowest
    pending number (what flush() waits for) is still the oldest event's."""
    buffer = Buffer(100, spooling=True, max_queue_size=10)
    _fill(buffer, 3)
    with buffer.lock:
        batch = buffer.take_batch_locked(1)  # event 0 in flight (the sender thread)
    spill = buffer.take_all()  # events 1 and 2 taken by close()'s spill
    failed = Outcome(1)
    failed.kept_from = 0  # a transient failure: event 0 stays pending
    with buffer.lock:
        buffer.settle_locked(batch, failed, time.time())
    with buffer.lock:  # the spool could not be written: events 1 and 2 come back
        buffer.book_spill_locked(spill, [], [], (0, 0, 0))
        buffer.stop_spooling_locked()
        buffer.requeue_locked(spill, range(len(spill)))
        assert buffer.lowest_pending_locked() == 0
        assert [seq for _, seq in buffer.retry] == [0, 1, 2]
        assert [event["i"] for event in buffer.take_locked().events] == [0, 1, 2]


def test_a_spill_in_progress_counts_as_pending_and_holds_back_the_low_mark() -> None:
    buffer = Buffer(100, spooling=True, max_queue_size=10)
    _fill(buffer, 4)
    first = buffer.take_all()
    _fill(buffer, 2)
    second = buffer.take_all()  # two spills overlap (the sender thread and close())
    with buffer.lock:
        assert buffer.snapshot_locked(0, None).pending == 6
        assert buffer.lowest_pending_locked() == 0
        buffer.book_spill_locked(second, [], list(range(2)), (2, 0, 0))
        assert buffer.lowest_pending_locked() == 0  # the first spill is still being written
        assert buffer.snapshot_locked(0, None).balanced
        buffer.book_spill_locked(first, [], list(range(4)), (4, 0, 0))
        stats = buffer.snapshot_locked(0, None)
        assert (stats.tracked, stats.pending, stats.spooled) == (6, 0, 6) and stats.balanced
        assert buffer.lowest_pending_locked() == 6
