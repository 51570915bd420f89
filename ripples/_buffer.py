"""The buffer: pending events in tracking order, the flush waiters and the ledger.

Tracking calls append to :attr:`Buffer.queue` *without* a lock: ``deque.append``
is atomic, so a thread the interpreter switches away from in the middle of a
call never holds up the others (issue 17: with a lock there, one preempted
caller stalled every other caller for a switch interval). Everything else, the
sender taking events, putting them back, dropping and booking, happens under
:attr:`Buffer.lock`, and only ever from the front of the queue.

Every accepted event has a sequence number, its position in tracking order:
an event in :attr:`Buffer.queue` is number ``head + index``, so appending needs
no counter. Events that were taken and come back (a failed attempt, a spool
that could not be written) keep their numbers in :attr:`Buffer.retry`, which
is sent before the queue. A waiter for "everything tracked before my call" is
done when the lowest pending number reaches its target. Every move of an event
out of "pending" is booked in the :class:`~ripples._ledger.Ledger` here, in the
same critical section, which is why the counts always balance.

Methods ending in ``_locked`` expect the caller to hold :attr:`Buffer.lock`
(the sender also uses it to start and stop its thread).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable
from itertools import islice
from typing import Any, Callable, Union

from ._delivery import Outcome
from ._ledger import DeliveryStats, Ledger
from ._report import ErrorCallback, logger

#: A queued event: its wire dict (whose ``$sent_at`` holds the event's time as epoch
#: seconds until :func:`~ripples._wire.complete_batch` formats it), or, for a client
#: whose ``on_error`` is not the buffer's own, the pair ``(dict, on_error)``. A bare
#: dict saves a tuple per event: most processes have one ``on_error`` per sender.
Item = Union[dict[str, Any], tuple[dict[str, Any], ErrorCallback]]


class Waiter:
    """A flush() or close() waiting for every event with a sequence number below ``target``."""

    __slots__ = ("lost", "release", "target")

    def __init__(self, target: int, release: Callable[[bool], None] | None) -> None:
        self.target = target
        self.release = release
        self.lost = False  # an event it covers was not delivered (refused, dropped, spooled)


class Taken:
    """Events taken from the front of the buffer, oldest first, with their numbers.

    The first ``len(retried)`` items came back from :attr:`Buffer.retry` with the
    numbers in ``retried``; the rest came from the queue, numbered from ``base``.
    """

    __slots__ = ("base", "events", "items", "retried")

    def __init__(self, items: list[Item], retried: list[int], base: int) -> None:
        self.items = items
        self.retried = retried
        self.base = base
        self.events = [item if type(item) is dict else item[0] for item in items]  # type: ignore[index]

    def __len__(self) -> int:
        return len(self.items)

    def seq(self, index: int) -> int:
        retried = self.retried
        return retried[index] if index < len(retried) else self.base + index - len(retried)


class Buffer:
    """See the module docstring.

    ``max_queue_size`` is the batch trigger; ``spooling`` lets the buffer grow to
    twice ``max_buffer_size``; ``on_error`` is the callback of bare-dict items.
    """

    def __init__(
        self,
        max_buffer_size: int,
        *,
        spooling: bool,
        max_queue_size: int,
        on_error: ErrorCallback = None,
    ) -> None:
        self.lock = threading.Lock()
        self.queue: deque[Item] = deque()  # appended without the lock (see above)
        self.head = 0  # the sequence number of queue[0]: events ever taken from the queue
        self.retry: deque[tuple[Item, int]] = deque()  # taken, put back: sent first
        self.in_flight: Taken | None = None  # at most one batch: one drainer at a time
        self.spilling: list[Taken] = []  # taken for the spool, not yet booked (2 may overlap)
        self.waiters: list[Waiter] = []
        self.ledger = Ledger()
        self.on_error = on_error
        self.overflowed = 0  # dropped for a full buffer, not yet reported
        self.overflow_callbacks: dict[int, ErrorCallback] = {}  # by id: may be unhashable
        self.max_buffer_size = max_buffer_size
        self.max_queue_size = max_queue_size
        # With a spool, a full buffer spills instead of dropping: the caller's thread
        # only drops past twice the bound, if the sender thread cannot keep up.
        self.hard_cap = max_buffer_size * (2 if spooling else 1)
        self.spill_mark = max_buffer_size if spooling else -1
        #: A tracking call whose append makes ``len(queue)`` reach this calls
        #: :meth:`crossed_locked`: the sender is woken on each crossing of
        #: ``max_queue_size``, the spill mark and the cap, not on every call.
        self.wake_at = 0
        self.rearm_locked()

    @property
    def enqueued(self) -> int:
        """Events tracked so far, which is also the next one's sequence number."""
        return self.head + len(self.queue)

    def queued(self) -> int:
        """Events waiting to be taken (not in flight, not being spilled)."""
        return len(self.retry) + len(self.queue)

    def callback_of(self, item: Item) -> ErrorCallback:
        return item[1] if type(item) is tuple else self.on_error

    def callbacks(self, items: Iterable[Item]) -> list[ErrorCallback]:
        return [self.callback_of(item) for item in items]

    # -- pending events ----------------------------------------------------------

    def rearm_locked(self) -> None:
        """Set the next queue length that wakes the sender (after the queue changed)."""
        total = self.queued()
        marks = (self.max_queue_size, self.spill_mark, self.hard_cap + 1)
        # Past the cap (calls appended while the last one trimmed): the next call trims.
        next_mark = min((mark for mark in marks if mark > total), default=self.hard_cap + 1)
        self.wake_at = next_mark - len(self.retry)

    def crossed_locked(self) -> bool:
        """A tracking call reached :attr:`wake_at`: drop past the cap, move the mark on.

        Returns whether to wake the sender: at ``max_queue_size`` and the spill
        mark, and at the first event dropped for a full buffer (to report it).
        """
        if len(self.queue) < self.wake_at:
            return False  # another call got here first
        over = self.queued() - self.hard_cap
        wake = over <= 0 or not self.overflowed
        if over > 0:
            self.overflow_locked(over)
        self.rearm_locked()
        return wake

    def take_locked(self, size: int | None = None) -> Taken:
        """Take up to ``size`` events (all when None) from the front, retried ones first."""
        retry = self.retry
        items: list[Item] = []
        retried: list[int] = []
        while retry and (size is None or len(items) < size):
            item, seq = retry.popleft()
            items.append(item)
            retried.append(seq)
        queue = self.queue
        count = len(queue) if size is None else min(len(queue), size - len(items))
        popleft = queue.popleft  # one by one: tracking calls may append meanwhile
        items += [popleft() for _ in range(count)]
        taken = Taken(items, retried, self.head)
        self.head += count
        self.rearm_locked()
        return taken

    def take_batch_locked(self, size: int) -> Taken:
        self.in_flight = batch = self.take_locked(size)
        return batch

    def take_all(self) -> Taken:
        """Everything queued (not in flight), moved aside for the spool, oldest first.

        The items stay counted as pending until :meth:`book_spill_locked`.
        """
        with self.lock:
            taken = self.take_locked()
            self.spilling.append(taken)
        return taken

    def pending_before_locked(self, target: int) -> list[Item]:
        """The pending events numbered below ``target``, oldest first."""
        found: list[Item] = []
        for taken in self._taken():
            found += [taken.items[i] for i in range(len(taken)) if taken.seq(i) < target]
        found += [item for item, seq in self.retry if seq < target]
        found += islice(self.queue, max(0, target - self.head))  # in C: appends wait
        return found

    def lowest_pending_locked(self) -> int:
        low = [self.head]  # the queue's front, or the next event's number when it is empty
        low += [taken.seq(0) for taken in self._taken() if len(taken)]
        if self.retry:
            low.append(self.retry[0][1])  # retry is kept in order (requeue_locked)
        return min(low)

    def _taken(self) -> list[Taken]:
        """The batches out of the queues: the one in flight and those being spilled."""
        return [*self.spilling, *([self.in_flight] if self.in_flight is not None else [])]

    def requeue_locked(self, taken: Taken, indices: Iterable[int]) -> list[Item]:
        """Put the taken events at ``indices`` back at the front, in order, keeping the
        bound; returns their items."""
        pairs = [(taken.items[i], taken.seq(i)) for i in indices]
        retry = self.retry
        if pairs and retry and pairs[-1][1] > retry[0][1]:
            # A spill and a batch in flight came back in the other order: merge by number.
            self.retry = deque(sorted((*pairs, *retry), key=lambda pair: pair[1]))
        else:
            retry.extendleft(reversed(pairs))  # the usual case: older than all put back so far
        over = self.queued() - self.hard_cap
        if over > 0:
            self.overflow_locked(over)
        self.rearm_locked()
        return [item for item, _ in pairs]

    def requeue_in_flight_locked(self) -> None:
        """Put a batch stuck in flight back (the exit path spools it)."""
        stuck, self.in_flight = self.in_flight, None
        if stuck is not None:
            self.requeue_locked(stuck, range(len(stuck)))

    def overflow_locked(self, count: int) -> None:
        """Drop the ``count`` oldest queued items; counted here, reported by the sender."""
        for _ in range(count):
            if self.retry:
                dropped, seq = self.retry.popleft()
            else:
                dropped, seq = self.queue.popleft(), self.head
                self.head += 1
            self.ledger.drop("buffer_full")
            self.mark_lost_locked(seq)
            self.overflowed += 1
            callback = self.callback_of(dropped)
            self.overflow_callbacks[id(callback)] = callback

    def take_overflow_report(self) -> tuple[int, list[ErrorCallback]]:
        with self.lock:
            dropped, self.overflowed = self.overflowed, 0
            callbacks, self.overflow_callbacks = self.overflow_callbacks, {}
        return dropped, list(callbacks.values())

    def stop_spooling_locked(self) -> None:
        """The spool became unusable: back to the plain bound."""
        self.hard_cap = self.max_buffer_size
        self.spill_mark = -1
        self.rearm_locked()

    # -- booking outcomes --------------------------------------------------------

    def settle_locked(self, batch: Taken, outcome: Outcome, now: float) -> list[Item]:
        """Book a batch's outcome; returns the items that stay pending (requeued)."""
        self.in_flight = None
        self._book_locked(outcome, now)
        for index, _, _ in outcome.lost:
            self.mark_lost_locked(batch.seq(index))
        if outcome.kept_from >= len(batch):
            return []
        return self.requeue_locked(batch, range(outcome.kept_from, len(batch)))

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
        self,
        taken: Taken,
        unencodable: list[int],
        written: list[int],
        result: tuple[int, int, int],
    ) -> None:
        """Book the spill of ``taken`` (from :meth:`take_all`): the events at ``unencodable``
        and ``written`` (indices) left memory; ``result`` is (spooled, dropped, evicted)."""
        self.spilling.remove(taken)
        if unencodable:
            self.ledger.drop("unencodable", len(unencodable))
        for index in (*unencodable, *written):
            self.mark_lost_locked(taken.seq(index))  # not delivered by this process
        spooled, dropped, evicted = result
        self.ledger.spooled += spooled
        self.book_eviction_locked(dropped, evicted)

    def book_eviction_locked(self, dropped: int, evicted: int) -> None:
        """Events the spool dropped for lack of room: ``dropped`` new, ``evicted`` older
        spooled ones (counted as recovered, then dropped)."""
        if dropped or evicted:
            self.ledger.drop("spool_full", dropped + evicted)
        self.ledger.recovered += evicted

    def note_error(self, message: str, when: float) -> None:
        with self.lock:
            self.ledger.error(message, when)

    def abandon(self) -> list[Item]:
        """At exit: everything pending becomes undelivered; returns it."""
        with self.lock:
            stuck = self.in_flight.items if self.in_flight is not None else []
            self.in_flight = None
            items = [*stuck, *self.take_locked().items]
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
        queued = len(self.queue)  # read once: tracking calls append without the lock
        return self.ledger.snapshot(
            tracked=self.head + queued,
            pending=queued + len(self.retry) + sum(len(taken) for taken in self._taken()),
            spool_bytes=spool_bytes,
            backing_off_until=backing_off_until,
        )
