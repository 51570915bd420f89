"""The buffer: pending events in tracking order, the flush waiters and the ledger, under one lock.

Every accepted event gets a sequence number. Pending events (queued, or in
the one batch in flight) are always taken from and put back at the front, so
they stay in order, and a waiter for "everything tracked before my call" is
done when the lowest pending sequence number reaches its target. Every move
of an event out of "pending" is booked in the :class:`~ripples._ledger.Ledger`
here, in the same critical section, which is why the counts always balance.

Methods ending in ``_locked`` expect the caller to hold :attr:`Buffer.lock`
(the sender also uses it to start and stop its thread atomically with a put).
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any, Callable

from ._delivery import Outcome
from ._ledger import DeliveryStats, Ledger
from ._report import ErrorCallback, logger

#: A queued event: its wire dict (system fields completed when first sent), its
#: time as epoch seconds, the on_error of the client that made it, its sequence number.
Item = tuple[dict[str, Any], float, ErrorCallback, int]


class Waiter:
    """A flush() or close() waiting for every event with a sequence number below ``target``."""

    __slots__ = ("lost", "release", "target")

    def __init__(self, target: int, release: Callable[[bool], None] | None) -> None:
        self.target = target
        self.release = release
        self.lost = False  # an event it covers was not delivered (refused, dropped, spooled)


class Buffer:
    """See the module docstring. ``spooling`` lets the buffer grow to twice its bound."""

    def __init__(self, max_buffer_size: int, *, spooling: bool) -> None:
        self.lock = threading.Lock()
        self.queue: deque[Item] = deque()
        self.in_flight: list[Item] = []  # at most one batch: one drainer at a time
        self.spilling: list[Item] = []  # taken for the spool, not yet written
        self.enqueued = 0  # events tracked, and the next one's sequence number
        self.waiters: list[Waiter] = []
        self.ledger = Ledger()
        self.overflowed = 0  # dropped for a full buffer, not yet reported
        self.overflow_callbacks: dict[int, ErrorCallback] = {}  # by id: may be unhashable
        self.max_buffer_size = max_buffer_size
        # With a spool, a full buffer spills instead of dropping: the caller's thread
        # only drops past twice the bound, if the sender thread cannot keep up.
        self.hard_cap = max_buffer_size * (2 if spooling else 1)
        self.spill_mark = max_buffer_size if spooling else -1

    # -- pending events ----------------------------------------------------------

    def append_locked(self, data: dict[str, Any], ts: float, on_error: ErrorCallback) -> int:
        """Queue one event (dropping the oldest past the cap); returns the queue's length."""
        queue = self.queue
        if len(queue) >= self.hard_cap:
            self.overflow_locked(1)
        queue.append((data, ts, on_error, self.enqueued))
        self.enqueued += 1
        return len(queue)

    def take_batch_locked(self, size: int) -> list[Item]:
        queue = self.queue
        if size >= len(queue):  # the usual case: everything, copied in C, not popped one by one
            batch = list(queue)
            queue.clear()
        else:
            batch = [queue.popleft() for _ in range(size)]
        self.in_flight = batch
        return batch

    def take_all(self) -> list[Item]:
        """Everything queued (not in flight), moved aside for the spool, oldest first.

        The items stay counted as pending until :meth:`book_spill_locked`.
        """
        with self.lock:
            items = list(self.queue)
            self.queue.clear()
            self.spilling = items
        return items

    def pending_before_locked(self, target: int) -> list[Item]:
        return [item for item in (*self.in_flight, *self.queue) if item[3] < target]

    def lowest_pending_locked(self) -> int:
        if self.in_flight:
            return self.in_flight[0][3]
        if self.queue:
            return self.queue[0][3]
        return self.enqueued

    def requeue_locked(self, items: list[Item]) -> None:
        """Put unsent items back at the front, oldest first, keeping the buffer bound."""
        self.queue.extendleft(reversed(items))
        overflow = len(self.queue) - self.hard_cap
        if overflow > 0:
            self.overflow_locked(overflow)

    def overflow_locked(self, count: int) -> None:
        """Drop the ``count`` oldest items; counted here, reported by the sender thread."""
        for _ in range(count):
            dropped = self.queue.popleft()
            self.ledger.drop("buffer_full")
            self.mark_lost_locked(dropped[3])
            self.overflowed += 1
            self.overflow_callbacks[id(dropped[2])] = dropped[2]

    def take_overflow_report(self) -> tuple[int, list[ErrorCallback]]:
        with self.lock:
            dropped, self.overflowed = self.overflowed, 0
            callbacks, self.overflow_callbacks = self.overflow_callbacks, {}
        return dropped, list(callbacks.values())

    def stop_spooling_locked(self) -> None:
        """The spool became unusable: back to the plain bound."""
        self.hard_cap = self.max_buffer_size
        self.spill_mark = -1

    # -- booking outcomes --------------------------------------------------------

    def settle_locked(self, batch: list[Item], outcome: Outcome, now: float) -> list[Item]:
        """Book a batch's outcome; returns the items that stay pending (requeued)."""
        self.in_flight = []
        self._book_locked(outcome, now)
        for index, _, _ in outcome.lost:
            self.mark_lost_locked(batch[index][3])
        kept = batch[outcome.kept_from :]
        if kept:
            self.requeue_locked(kept)
        return kept

    def book_recovery_locked(self, outcome: Outcome, damaged: int, now: float) -> None:
        """Book spooled events read back: those resolved now (and damaged records) count."""
        self.ledger.recovered += outcome.kept_from + damaged
        self._book_locked(outcome, now)
        if damaged:
            self.ledger.drop("spool_damaged", damaged)

    def _book_locked(self, outcome: Outcome, now: float) -> None:
        ledger = self.ledger
        ledger.retries += outcome.retries
        delivered = outcome.delivered()
        ledger.delivered += delivered
        if delivered:
            ledger.last_success_at = now
        for _, reason, _ in outcome.lost:
            if reason == "refused":
                ledger.refused += 1
            else:
                ledger.drop(reason)

    def book_spill_locked(
        self, unencodable: list[Item], written: list[Item], spooled: int, dropped: int, evicted: int
    ) -> None:
        """Book a spill: ``written`` left memory (spooled, or dropped for lack of room)."""
        self.spilling = []
        ledger = self.ledger
        for item in unencodable:
            ledger.drop("unencodable")
            self.mark_lost_locked(item[3])
        for item in written:
            self.mark_lost_locked(item[3])  # not delivered by this process
        ledger.spooled += spooled
        if dropped or evicted:
            ledger.drop("spool_full", dropped + evicted)
        ledger.recovered += evicted  # older spooled events taken out to make room

    def note_error(self, message: str, when: float) -> None:
        with self.lock:
            self.ledger.error(message, when)

    def abandon(self) -> list[Item]:
        """At exit: everything pending becomes undelivered; returns it."""
        with self.lock:
            items = [*self.in_flight, *self.queue]
            self.in_flight = []
            self.queue.clear()
            self.ledger.undelivered_at_exit += len(items)
        return items

    # -- waiters -----------------------------------------------------------------

    def mark_lost_locked(self, seq: int) -> None:
        for waiter in self.waiters:
            if waiter.target > seq:
                waiter.lost = True

    def has_flush_waiter_locked(self) -> bool:
        return any(w.release is not None for w in self.waiters)

    def release_waiters(self, everyone: bool) -> None:
        """Release the flush waiters whose events were all attempted (``everyone``: after a
        failure, with False); called without the lock held."""
        for waiter in self._ready_waiters(everyone):
            assert waiter.release is not None
            try:
                waiter.release(not everyone and not waiter.lost)
            except Exception:  # pragma: no cover - our own callbacks
                logger.exception("ripples: releasing a flush waiter failed")

    def _ready_waiters(self, everyone: bool) -> list[Waiter]:
        """Remove and return the waiters whose events were all attempted (or all of them)."""
        with self.lock:
            if not self.waiters:
                return []
            low = self.lowest_pending_locked()
            ready = [
                w for w in self.waiters if w.release is not None and (everyone or w.target <= low)
            ]
            for waiter in ready:
                self.waiters.remove(waiter)
        return ready

    def snapshot_locked(self, spool_bytes: int, backing_off_until: float | None) -> DeliveryStats:
        return self.ledger.snapshot(
            tracked=self.enqueued,
            pending=len(self.queue) + len(self.in_flight) + len(self.spilling),
            spool_bytes=spool_bytes,
            backing_off_until=backing_off_until,
        )
