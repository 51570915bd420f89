"""The background sender: a bounded buffer drained by one thread, with an exact ledger.

Tracking calls only append to a deque; one daemon thread per
configuration turns the buffer into batches and hands them to a
:class:`~ripples._delivery.Deliverer`. The rules that keep the promise
"never slow the app, never lose or duplicate a revenue event":

- The caller's thread never does network I/O and, in the common case, takes
  no lock: a tracking call appends to a deque (see :mod:`ripples._buffer`).
  The lock is never held while calling user code, logging or sending.
- Every event gets a sequence number when it is accepted. Pending events
  (queued or in flight) are always taken from and put back at the front, in
  order, so ``flush()`` and ``close()`` know exactly which of the events they
  cover were delivered, and the ledger (:mod:`ripples._ledger`) balances.
- ``$event_id`` is set once, the first time an event is taken for sending,
  so every retry carries the same id and the API de-duplicates.
- The request path never waits out an outage: during a backoff ``flush()``
  returns False at once. Shutdown paths (``close()``, lifespan and worker
  shutdown, the exit drain) always attempt delivery within their deadline.
- Fork safety holds without at-fork hooks (uWSGI, C extensions fork without
  running them): every path that enqueues, wakes or waits compares the pid.
"""

from __future__ import annotations

import logging
import threading
import time
from os import getpid
from typing import Any, Callable

from . import _lifecycle
from ._buffer import Buffer, Item, Taken, Waiter
from ._config import SenderConfig
from ._delivery import Deliverer, Outcome, backoff, encode_batch
from ._errors import RipplesAPIError
from ._ledger import DeliveryStats
from ._report import ErrorCallback, Reporter, logger, report
from ._spooling import SPILL_INTERVAL, SpoolDriver, SpoolKeeper
from ._transport import MAX_RETRY_AFTER, HttpTransport, Transport
from ._wire import complete_batch

_IDLE_EXIT_SECONDS = 30.0
#: How long a wake-up waits for more events before sending, so that the
#: per-request wakes of a busy web server coalesce into one batch.
_LINGER_SECONDS = 0.02
#: Wake-ups (a request or task ended) post at most this often: under load, the
#: per-request wakes of a busy server become a few large batches, not a POST each.
_WAKE_INTERVAL = 0.2


class Sender:
    """A bounded buffer drained by one background thread (see the module docstring)."""

    def __init__(
        self,
        config: SenderConfig,
        transport: Transport | None = None,
        on_error: ErrorCallback = None,
    ) -> None:
        self.config = config
        #: The ``on_error`` of the client that made this sender: its events are
        #: queued as bare dicts, other clients' with their callback.
        self._on_error = on_error
        self._http: HttpTransport | None = None
        if transport is None:
            self._http = HttpTransport(config.base_url, config.secret_key)
            transport = self._http.send
        self._deliverer = Deliverer(
            transport,
            (config.connect_timeout, config.timeout),
            config.max_retries,
            lambda: self._stop_generation,
            self._spill_between_attempts,
        )
        self._keeper: SpoolKeeper | None = None
        if config.spool_dir:
            self._keeper = SpoolKeeper(
                config.spool_dir, config.base_url, config.secret_key, config.max_spool_bytes
            )
        self._reset()
        _lifecycle.track(self)

    def __repr__(self) -> str:
        return f"<Sender base_url={self.config.base_url!r} queued={self._buffer.queued()}>"

    def _reset(self) -> None:
        """(Re)create all mutable state: at construction and in a forked child."""
        self._pid = getpid()
        keeper = self._keeper
        self._buffer = Buffer(
            self.config.max_buffer_size,
            spooling=keeper is not None and keeper.usable,
            max_queue_size=self.config.max_queue_size,
            on_error=self._on_error,
        )
        self._lock = self._buffer.lock
        self._reporter = Reporter(self._buffer)
        self._spooler: SpoolDriver | None = None
        if keeper is not None:
            self._spooler = SpoolDriver(
                keeper,
                self._buffer,
                self._deliverer,
                self._reporter,
                max_batch_size=self.config.max_batch_size,
                max_spool_bytes=self.config.max_spool_bytes,
            )
        self._send_lock = threading.Lock()
        self._wake_event = threading.Event()
        self._thread: threading.Thread | None = None
        self._running = False
        self._stopping = False
        self._stop_deadline: float | None = None
        self._stop_generation = 0
        self._retry_at = 0.0  # monotonic time of the next attempt while backing off
        self._failures = 0
        self._last_post = 0.0  # monotonic time the last batch was settled
        self._gave_up_at = -1  # events tracked when a close() last timed out
        self._abandoned = False

    def _check_fork(self) -> None:
        """A fork that ran no at-fork hook (uWSGI, C code): start over as the hook would."""
        if self._pid != getpid():
            _lifecycle.forked_without_hooks()

    def after_fork_in_child(self) -> None:
        """The parent's events are the parent's to send: empty buffer, no thread, new sockets."""
        self._reset()
        if self._http is not None:
            self._http.forget_session()

    # -- called from application threads ---------------------------------

    def put(self, data: dict[str, Any], ts: float, on_error: ErrorCallback) -> None:
        """Queue one event stamped ``ts`` (epoch seconds); takes no lock in the common case."""
        if self._pid != getpid():  # _check_fork(), inlined: every tracking call comes here
            _lifecycle.forked_without_hooks()
        data["$sent_at"] = ts  # formatted when first sent (see _wire.complete_batch)
        buffer = self._buffer
        queue = buffer.queue
        # One atomic append: no lock, so a caller switched out here never holds up the
        # others. A crossing (a full batch, the spill mark, the cap) or a stopped
        # thread takes the lock in _after_put.
        queue.append(data if on_error is self._on_error else (data, on_error))
        if len(queue) >= buffer.wake_at or not self._running:
            self._after_put()

    def _after_put(self) -> None:
        buffer = self._buffer
        with buffer.lock:
            # The thread marks itself stopped before its last look at the queue
            # (_exit_if), so an event appended meanwhile is either seen by it or
            # finds it stopped and starts another.
            wake = buffer.crossed_locked()
            if not self._running:
                self._start_thread()
        if wake:
            self._wake_event.set()

    def wake(self) -> None:
        """Send what is queued now, from the sender thread; never blocks."""
        self._check_fork()
        if not self._buffer.queued():
            return
        if not self._running:  # the lock only to start the thread: this runs per request
            with self._lock:
                if self._buffer.queued() and not self._running:
                    self._start_thread()
        if not self._wake_event.is_set():
            self._wake_event.set()

    def stats(self) -> DeliveryStats:
        """A consistent snapshot of this configuration's ledger."""
        self._check_fork()
        with self._lock:
            left = self._retry_at - time.monotonic()
            return self._buffer.snapshot_locked(
                self._keeper.size_bytes if self._keeper is not None else 0,
                time.time() + left if left > 0 else None,
            )

    def flush(self, timeout: float | None) -> bool:
        """Wait until every event queued before the call was attempted; True if all delivered."""
        done = threading.Event()
        outcome: list[bool] = []

        def release(ok: bool) -> None:
            outcome.append(ok)
            done.set()

        state = self.add_waiter(release)
        if state == "waiting":
            if not self._running:
                # No thread could be started (interpreter exit): do the work here.
                limit = self.config.shutdown_timeout if timeout is None else timeout
                self._drain_with_deadline(time.monotonic() + limit)
            done.wait(timeout)
            return bool(outcome and outcome[0])
        return state == "done"

    def add_waiter(self, release: Callable[[bool], None]) -> str:
        """Register ``release(ok)`` for when the events queued so far were attempted.

        Returns ``"waiting"`` when registered, ``"done"`` when there was nothing
        to wait for, or ``"backing-off"`` when the API failed moments ago and
        the caller should not wait out the outage (the events stay buffered).
        """
        self._check_fork()
        buffer = self._buffer
        with buffer.lock:
            if self._keeper is not None and not self._running:
                self._start_thread()  # the first flush() also recovers the spool
            target = buffer.enqueued
            if buffer.lowest_pending_locked() >= target:
                return "done"
            if self._retry_at > time.monotonic() and not self._stopping:
                return "backing-off"
            buffer.waiters.append(Waiter(target, release))
            if not self._running:
                self._start_thread()
        self._wake_event.set()
        return "waiting"

    def close(self, timeout: float, *, at_exit: bool = False) -> bool:
        """Deliver what is pending within ``timeout`` seconds, whatever the backoff state.

        True if every event tracked before the call was delivered. With a spool,
        what is left is written to it; otherwise it stays buffered and is
        reported, and a later exit drain does not wait for it again unless new
        events arrived meanwhile.
        """
        self._check_fork()
        buffer = self._buffer
        if at_exit and self._gave_up_at == buffer.enqueued:
            timeout = 0.0
        deadline = time.monotonic() + timeout
        waiter = Waiter(0, None)
        with buffer.lock:
            waiter.target = buffer.enqueued
            buffer.waiters.append(waiter)
            self._stopping = True
            self._stop_deadline = deadline
            self._stop_generation += 1
            thread = self._thread if self._running else None
        self._wake_event.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(max(0.0, deadline - time.monotonic()))
        if not self._running:
            self._drain_with_deadline(deadline)
        if buffer.queued():
            self._spill(
                "that could not be delivered before exit"
                if at_exit
                else "that close() could not deliver"
            )
        with buffer.lock:
            self._stopping = False
            if waiter in buffer.waiters:
                buffer.waiters.remove(waiter)
            left = buffer.pending_before_locked(waiter.target)
            delivered = not waiter.lost and not left
            if left:
                self._gave_up_at = buffer.enqueued
        if left and not at_exit:
            report(
                RipplesAPIError(
                    f"ripples: close() could not deliver {len(left)} events within "
                    f"{timeout:.1f}s; they stay buffered",
                    events=len(left),
                    retryable=True,
                ),
                buffer.callbacks(left),
                logging.WARNING,
            )
        if self._http is not None and not self._running:
            self._http.close()
        return delivered

    def abandon_at_exit(self) -> int:
        """Account for what could not be delivered before exit; report and return the count.

        With a spool, the events still queued and those of a batch stuck in flight
        are written to it first (a stuck batch may also arrive: the API de-duplicates).
        """
        buffer = self._buffer
        if self._spooler is not None:
            with buffer.lock:
                # From now on a late outcome of the batch in flight is not booked: it is
                # spooled here (and if it did arrive, the API de-duplicates it).
                self._abandoned = True
                buffer.requeue_in_flight_locked()
            self._spill("that could not be delivered before exit")
        self._abandoned = True
        items = buffer.abandon()
        if items:
            report(
                RipplesAPIError(
                    f"ripples: {len(items)} events could not be delivered before exit "
                    f"(shutdown_timeout={self.config.shutdown_timeout}s)",
                    events=len(items),
                ),
                buffer.callbacks(items),
                logging.WARNING,
            )
        return len(items)

    def has_work(self) -> bool:
        buffer = self._buffer
        return bool(buffer.queued() or buffer.in_flight or self._running or buffer.overflowed)

    def post(self, payload: dict[str, Any]) -> None:
        """POST ``{"events": [...]}`` now, in the calling thread (``Ripples._post``'s default)."""
        if self._http is None:
            self._http = HttpTransport(self.config.base_url, self.config.secret_key)
        events = list(payload.get("events", ()))
        timeout = (self.config.connect_timeout, self.config.timeout)
        self._http.send(encode_batch(events), events, timeout)

    def _start_thread(self) -> None:
        """Start the sender thread; the caller holds the buffer's lock."""
        thread = threading.Thread(target=self._run, name="ripples-sender", daemon=True)
        try:
            thread.start()
        except RuntimeError:
            # Interpreter shutdown: the exit drain (or flush) sends instead.
            return
        self._thread = thread
        self._running = True
        _lifecycle.ensure_exit_hooks()

    # -- the sender thread -------------------------------------------------

    def _run(self) -> None:
        idle_since = time.monotonic()
        interval = self.config.flush_interval
        buffer = self._buffer
        try:
            while True:
                wait = interval
                backoff_left = self._retry_at - time.monotonic()
                if backoff_left > 0:
                    wait = backoff_left
                if buffer.overflowed or (self._spooler is not None and self._failures):
                    wait = min(wait, SPILL_INTERVAL)
                self._wake_event.wait(wait)
                self._wake_event.clear()
                self._reporter.overflow()
                if self._stopping:
                    self._drain_with_deadline(self._stop_deadline)
                    if self._exit_if(lambda: self._stopping or not buffer.queued()):
                        return
                    continue
                if self._spooler is not None and self._spooler.due(bool(self._failures)):
                    self._spill("buffered while delivery fails")
                if self._retry_at > time.monotonic():
                    continue  # backing off: only a shutdown path ends a backoff early
                if buffer.queued():
                    self._linger()
                    with self._send_lock:
                        self._drain_locked(None)
                    idle_since = time.monotonic()
                if self._keeper is not None and time.monotonic() >= self._keeper.next_recovery:
                    with self._send_lock:
                        self._recover()
                elif time.monotonic() - idle_since > _IDLE_EXIT_SECONDS and self._exit_if(
                    lambda: not buffer.queued() and not buffer.waiters
                ):
                    return
        except BaseException:  # pragma: no cover - a bug here must not go unnoticed
            logger.exception("ripples: the sender thread crashed; events will be sent on flush")
            with self._lock:
                self._running = False
            raise

    def _linger(self) -> None:
        """Let a burst of wake-ups coalesce into one batch before sending.

        A plain sleep, not a wait on the wake event: a busy server wakes us on
        every response, and answering each wake-up would cost a GIL hand-off
        per request. A pending flush(), close() or a full batch skips it.
        """
        buffer = self._buffer
        if not (self._stopping or buffer.waiters or buffer.queued() >= self.config.max_queue_size):
            since_post = time.monotonic() - self._last_post
            time.sleep(min(_WAKE_INTERVAL, max(_LINGER_SECONDS, _WAKE_INTERVAL - since_post)))

    def _exit_if(self, condition: Callable[[], bool]) -> bool:
        """Mark the thread stopped if ``condition`` holds, atomically with tracking calls.

        ``put()`` appends without the lock, then reads ``_running``; so the flag is
        cleared *before* looking: an event appended after the look finds the
        thread stopped (and starts one), one appended before it is seen here.
        """
        with self._lock:
            self._running = False
            if condition():
                return True
            self._running = True
        return False

    def _drain_with_deadline(self, deadline: float | None) -> None:
        """Drain from a shutdown path, ignoring any backoff, within ``deadline``."""
        if not self._send_lock.acquire(
            timeout=-1 if deadline is None else max(0.0, deadline - time.monotonic())
        ):
            return
        try:
            self._drain_locked(deadline)
        finally:
            self._send_lock.release()
        self._reporter.overflow(force=True)

    def _drain_locked(self, deadline: float | None) -> None:
        """Send what was queued at the wake-up, then more only while a trigger holds.

        Under steady traffic the queue never empties: draining "until empty"
        would post a handful of events per request. After the events that were
        waiting are sent, another batch goes out only for a full batch, a
        pending ``flush()`` or a shutdown. Stops at the first batch that stays failed.
        """
        buffer = self._buffer
        with buffer.lock:
            owed = buffer.queued()
        while True:
            with buffer.lock:
                queued = buffer.queued()
                trigger = (
                    queued >= self.config.max_queue_size
                    or self._stopping
                    or buffer.has_flush_waiter_locked()
                )
                if not queued or (owed <= 0 and not trigger):
                    break
                batch = buffer.take_batch_locked(min(queued, self.config.max_batch_size))
            owed -= len(batch)
            events = complete_batch(batch.events)
            if not self._settle(batch, self._deliverer.deliver(events, deadline)):
                return
        self._buffer.release_waiters(everyone=False)

    def _settle(self, batch: Taken, outcome: Outcome) -> bool:
        """Book the outcome of ``batch``; False when events stayed pending."""
        self._last_post = time.monotonic()
        with self._lock:
            if self._abandoned:
                return False  # the exit already accounted for these
            kept = self._buffer.settle_locked(batch, outcome, time.time())
        self._reporter.lost(batch.events, batch.items, outcome)
        if kept:
            self._back_off(outcome, kept)
            self._buffer.release_waiters(everyone=True)
            return False
        self._failures = 0
        self._retry_at = 0.0
        self._buffer.release_waiters(everyone=False)
        return True

    # -- reporting ---------------------------------------------------------

    def _back_off(self, outcome: Outcome, kept: list[Item]) -> None:
        """Events stayed failed: back off, longer with each failure in a row, and say so."""
        transient = outcome.transient
        status = transient.status_code if transient else None
        retry_after = transient.retry_after if transient else None
        if retry_after is not None:
            retry_after = min(retry_after, MAX_RETRY_AFTER)
        self._failures += 1
        pause = max(retry_after or 0.0, backoff(self._failures + 2, None))
        self._retry_at = time.monotonic() + pause
        if kept:
            cause = f"HTTP {status}: {transient}" if status else str(transient)
            self._reporter.problem(
                RipplesAPIError(
                    f"ripples: could not deliver {len(kept)} events ({cause}); "
                    f"they stay buffered and will be retried in {pause:.1f}s",
                    status,
                    events=len(kept),
                    retryable=True,
                ),
                kept,
                logging.WARNING,
            )

    def _spill_between_attempts(self) -> None:
        """While a batch waits to be retried (the API fails or hangs), keep spilling."""
        if self._spooler is not None and self._spooler.due(failing=True):
            self._spill("buffered while delivery fails")

    def _spill(self, why: str) -> None:
        if self._spooler is not None:
            self._spooler.spill(why)
            self._buffer.release_waiters(everyone=False)

    def _recover(self) -> None:
        if self._spooler is None:
            return
        stuck = self._spooler.recover()
        if stuck is not None:
            self._back_off(stuck, [])
