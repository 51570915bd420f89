"""The background sender: a bounded buffer drained by one thread, with an exact ledger.

Tracking calls only append to a deque under a lock; one daemon thread per
configuration turns the buffer into batches and hands them to a
:class:`~ripples._delivery.Deliverer`. The rules that keep the promise
"never slow the app, never lose or duplicate a revenue event":

- The caller's thread never does network I/O, and the lock is never held
  while calling user code, logging or sending.
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
from collections import deque
from os import getpid
from typing import Any, Callable, NamedTuple

from . import _lifecycle
from ._delivery import Deliverer, Outcome, backoff, encode_batch
from ._errors import RipplesAPIError, RipplesBufferOverflowError, RipplesError
from ._ledger import DeliveryStats, Ledger
from ._report import ErrorCallback, logger, report
from ._transport import HttpTransport, Transport
from ._wire import complete_event

#: A queued event: its wire dict (system fields completed when first sent), its
#: time as epoch seconds, the on_error of the client that made it, its sequence number.
Item = tuple[dict[str, Any], float, ErrorCallback, int]

_IDLE_EXIT_SECONDS = 30.0
#: How long a wake-up waits for more events before sending, so that the
#: per-request wakes of a busy web server coalesce into one batch.
_LINGER_SECONDS = 0.02


class SenderConfig(NamedTuple):
    """Everything that decides how events are sent; equal configs share a sender."""

    secret_key: str
    base_url: str
    timeout: float
    connect_timeout: float
    max_queue_size: int
    max_batch_size: int
    max_buffer_size: int
    max_retries: int
    flush_interval: float
    shutdown_timeout: float

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{name}={value!r}" for name, value in self._asdict().items() if name != "secret_key"
        )
        return f"SenderConfig(secret_key=***, {fields})"


class _Waiter:
    """A flush() or close() waiting for every event with a sequence number below ``target``."""

    __slots__ = ("lost", "release", "target")

    def __init__(self, target: int, release: Callable[[bool], None] | None) -> None:
        self.target = target
        self.release = release
        self.lost = False  # an event it covers was refused or dropped


class Sender:
    """A bounded buffer drained by one background thread (see the module docstring)."""

    def __init__(self, config: SenderConfig, transport: Transport | None = None) -> None:
        self.config = config
        self._http: HttpTransport | None = None
        if transport is None:
            self._http = HttpTransport(config.base_url, config.secret_key)
            transport = self._http.send
        self._deliverer = Deliverer(
            transport,
            (config.connect_timeout, config.timeout),
            config.max_retries,
            lambda: self._stop_generation,
        )
        self._reset()
        _lifecycle.track(self)

    def __repr__(self) -> str:
        return f"<Sender base_url={self.config.base_url!r} queued={len(self._queue)}>"

    def _reset(self) -> None:
        """(Re)create all mutable state: at construction and in a forked child."""
        self._pid = getpid()
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._wake_event = threading.Event()
        self._queue: deque[Item] = deque()
        self._enqueued = 0  # events tracked, and the next one's sequence number
        self._in_flight: list[Item] = []  # at most one batch: one drainer at a time
        self._waiters: list[_Waiter] = []
        self._ledger = Ledger()
        self._overflowed = 0  # dropped for a full buffer, not yet reported
        self._overflow_callbacks: dict[int, ErrorCallback] = {}  # by id: may be unhashable
        self._last_overflow_report = 0.0
        self._thread: threading.Thread | None = None
        self._running = False
        self._stopping = False
        self._stop_deadline: float | None = None
        self._stop_generation = 0
        self._retry_at = 0.0  # monotonic time of the next attempt while backing off
        self._failures = 0
        self._gave_up_at = -1  # _enqueued when a close() last timed out
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
        if self._pid != getpid():
            _lifecycle.forked_without_hooks()
        with self._lock:
            queue = self._queue
            if len(queue) >= self.config.max_buffer_size:
                self._overflow_locked(1)
            queue.append((data, ts, on_error, self._enqueued))
            self._enqueued += 1
            if not self._running:
                self._start_thread()
            # Wake the thread only on crossings, so a full buffer during an
            # outage does not turn every call into a wake-up.
            wake = len(queue) == self.config.max_queue_size or self._overflowed == 1
        if wake:
            self._wake_event.set()

    def wake(self) -> None:
        """Send what is queued now, from the sender thread; never blocks."""
        self._check_fork()
        with self._lock:
            if not self._queue:
                return
            if not self._running:
                self._start_thread()
        if not self._wake_event.is_set():
            self._wake_event.set()

    def stats(self) -> DeliveryStats:
        """A consistent snapshot of this configuration's ledger."""
        self._check_fork()
        with self._lock:
            left = self._retry_at - time.monotonic()
            return self._ledger.snapshot(
                tracked=self._enqueued,
                pending=len(self._queue) + len(self._in_flight),
                spool_bytes=0,
                backing_off_until=time.time() + left if left > 0 else None,
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
        with self._lock:
            target = self._enqueued
            if self._lowest_pending_locked() >= target:
                return "done"
            if self._retry_at > time.monotonic() and not self._stopping:
                return "backing-off"
            self._waiters.append(_Waiter(target, release))
            if not self._running:
                self._start_thread()
        self._wake_event.set()
        return "waiting"

    def close(self, timeout: float, *, at_exit: bool = False) -> bool:
        """Deliver what is pending within ``timeout`` seconds, whatever the backoff state.

        True if every event tracked before the call was delivered. What is left
        stays buffered and is reported; a later exit drain does not wait for
        it again unless new events arrived meanwhile.
        """
        self._check_fork()
        if at_exit and self._gave_up_at == self._enqueued:
            timeout = 0.0
        deadline = time.monotonic() + timeout
        waiter = _Waiter(0, None)
        with self._lock:
            waiter.target = self._enqueued
            self._waiters.append(waiter)
            self._stopping = True
            self._stop_deadline = deadline
            self._stop_generation += 1
            thread = self._thread if self._running else None
        self._wake_event.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(max(0.0, deadline - time.monotonic()))
        if not self._running:
            self._drain_with_deadline(deadline)
        with self._lock:
            self._stopping = False
            if waiter in self._waiters:
                self._waiters.remove(waiter)
            left = [item for item in (*self._in_flight, *self._queue) if item[3] < waiter.target]
            delivered = not waiter.lost and not left
            if left:
                self._gave_up_at = self._enqueued
        if left and not at_exit:
            report(
                RipplesAPIError(
                    f"ripples: close() could not deliver {len(left)} events within "
                    f"{timeout:.1f}s; they stay buffered",
                    events=len(left),
                    retryable=True,
                ),
                [item[2] for item in left],
                logging.WARNING,
            )
        if self._http is not None and not self._running:
            self._http.close()
        return delivered

    def abandon_at_exit(self) -> int:
        """Account for what could not be delivered before exit; report and return the count."""
        with self._lock:
            items = [*self._in_flight, *self._queue]
            self._in_flight = []
            self._queue.clear()
            self._abandoned = True
            self._ledger.undelivered_at_exit += len(items)
        if items:
            report(
                RipplesAPIError(
                    f"ripples: {len(items)} events could not be delivered before exit "
                    f"(shutdown_timeout={self.config.shutdown_timeout}s)",
                    events=len(items),
                ),
                [item[2] for item in items],
                logging.WARNING,
            )
        return len(items)

    def has_work(self) -> bool:
        return bool(self._queue or self._in_flight or self._running or self._overflowed)

    def post(self, payload: dict[str, Any]) -> None:
        """POST ``{"events": [...]}`` now, in the calling thread (``Ripples._post``'s default)."""
        if self._http is None:
            self._http = HttpTransport(self.config.base_url, self.config.secret_key)
        events = list(payload.get("events", ()))
        timeout = (self.config.connect_timeout, self.config.timeout)
        self._http.send(encode_batch(events), events, timeout)

    def _start_thread(self) -> None:
        """Start the sender thread; the caller holds ``self._lock``."""
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
        try:
            while True:
                wait = interval
                backoff_left = self._retry_at - time.monotonic()
                if backoff_left > 0:
                    wait = backoff_left
                if self._overflowed:
                    wait = min(wait, 1.0)
                self._wake_event.wait(wait)
                self._wake_event.clear()
                self._report_overflow()
                if self._stopping:
                    self._drain_with_deadline(self._stop_deadline)
                    if self._exit_if(lambda: self._stopping or not self._queue):
                        return
                    continue
                if self._retry_at > time.monotonic():
                    continue  # backing off: only a shutdown path ends a backoff early
                if self._queue:
                    self._linger()
                    with self._send_lock:
                        self._drain_locked(None)
                    idle_since = time.monotonic()
                elif time.monotonic() - idle_since > _IDLE_EXIT_SECONDS and self._exit_if(
                    lambda: not self._queue and not self._waiters
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
        if not (self._stopping or self._waiters or len(self._queue) >= self.config.max_queue_size):
            time.sleep(_LINGER_SECONDS)

    def _exit_if(self, condition: Callable[[], bool]) -> bool:
        """Mark the thread stopped if ``condition`` holds under the lock (no event can slip in)."""
        with self._lock:
            if condition():
                self._running = False
                return True
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
        self._report_overflow(force=True)

    def _drain_locked(self, deadline: float | None) -> None:
        """Send what was queued at the wake-up, then more only while a trigger holds.

        Under steady traffic the queue never empties: draining "until empty"
        would post a handful of events per request. After the events that were
        waiting are sent, another batch goes out only for a full batch, a
        pending ``flush()`` or a shutdown. Stops at the first batch that stays failed.
        """
        with self._lock:
            owed = len(self._queue)
        while True:
            with self._lock:
                queued = len(self._queue)
                if not queued or (owed <= 0 and not self._trigger_holds_locked(queued)):
                    break
                size = min(queued, self.config.max_batch_size)
                batch = [self._queue.popleft() for _ in range(size)]
                self._in_flight = batch
            owed -= size
            events = [complete_event(item[0], item[1]) for item in batch]
            if not self._settle(batch, self._deliverer.deliver(events, deadline)):
                return
        self._release_waiters(everyone=False)

    def _settle(self, batch: list[Item], outcome: Outcome) -> bool:
        """Book the outcome of ``batch`` in the ledger; False when events stayed pending."""
        now = time.time()
        kept = batch[outcome.kept_from :]
        with self._lock:
            self._in_flight = []
            if self._abandoned:
                return False  # the exit already accounted for these
            ledger = self._ledger
            ledger.retries += outcome.retries
            delivered = outcome.delivered()
            ledger.delivered += delivered
            if delivered:
                ledger.last_success_at = now
            for index, reason, _ in outcome.lost:
                if reason == "refused":
                    ledger.refused += 1
                else:
                    ledger.drop(reason)
                self._mark_lost_locked(batch[index][3])
            if kept:
                self._requeue_locked(kept)
        self._report_lost(batch, outcome)
        if kept:
            transient = outcome.transient
            status = transient.status_code if transient else None
            pause = self._pause_after_failure(transient.retry_after if transient else None)
            cause = f"HTTP {status}: {transient}" if status else str(transient)
            self._report(
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
            self._release_waiters(everyone=True)
            return False
        self._failures = 0
        self._retry_at = 0.0
        self._release_waiters(everyone=False)
        return True

    def _report_lost(self, batch: list[Item], outcome: Outcome) -> None:
        """One report per distinct failure (a 401 refuses a whole batch with one error)."""
        groups: dict[int, tuple[str, RipplesError, list[Item]]] = {}
        for index, reason, exc in outcome.lost:
            groups.setdefault(id(exc), (reason, exc, []))[2].append(batch[index])
        for reason, exc, items in groups.values():
            if reason == "refused":
                first = items[0][0]
                what = (
                    f"event {first.get('$event_id')} ({first.get('$type')})"
                    if len(items) == 1
                    else f"{len(items)} events"
                )
                exc = RipplesAPIError(
                    f"ripples: the API refused {what} with HTTP {exc.status_code}: {exc}",
                    exc.status_code,
                    events=len(items),
                )
            elif reason == "send_error":
                exc = RipplesError(f"ripples: dropped {len(items)} events: {exc}")
            self._report(exc, items, logging.ERROR)

    def _report(self, exc: RipplesError, items: list[Item], level: int) -> None:
        """Report a delivery problem about ``items`` and remember it as ``last_error``."""
        with self._lock:
            self._ledger.error(str(exc), time.time())
        report(exc, [item[2] for item in items], level)

    def _pause_after_failure(self, retry_after: float | None) -> float:
        """Back off after a batch stayed failed: longer with each failure in a row."""
        self._failures += 1
        pause = max(retry_after or 0.0, backoff(self._failures + 2, None))
        self._retry_at = time.monotonic() + pause
        return pause

    # -- bookkeeping under self._lock --------------------------------------

    def _lowest_pending_locked(self) -> int:
        if self._in_flight:
            return self._in_flight[0][3]
        if self._queue:
            return self._queue[0][3]
        return self._enqueued

    def _mark_lost_locked(self, seq: int) -> None:
        for waiter in self._waiters:
            if waiter.target > seq:
                waiter.lost = True

    def _requeue_locked(self, items: list[Item]) -> None:
        """Put unsent items back at the front, oldest first, keeping the buffer bound."""
        self._queue.extendleft(reversed(items))
        overflow = len(self._queue) - self.config.max_buffer_size
        if overflow > 0:
            self._overflow_locked(overflow)

    def _overflow_locked(self, count: int) -> None:
        """Drop the ``count`` oldest items; counted here, reported by the sender thread."""
        for _ in range(count):
            dropped = self._queue.popleft()
            self._ledger.drop("buffer_full")
            self._mark_lost_locked(dropped[3])
            self._overflowed += 1
            self._overflow_callbacks[id(dropped[2])] = dropped[2]

    def _trigger_holds_locked(self, queued: int) -> bool:
        return (
            queued >= self.config.max_queue_size
            or self._stopping
            or any(w.release is not None for w in self._waiters)
        )

    def _release_waiters(self, everyone: bool) -> None:
        """Release the waiters whose events were all attempted (``everyone``: after a failure)."""
        with self._lock:
            if not self._waiters:
                return
            low = self._lowest_pending_locked()
            ready = [
                w
                for w in self._waiters
                if w.release is not None and (everyone or w.target <= low)
            ]
            for waiter in ready:
                self._waiters.remove(waiter)
        for waiter in ready:
            assert waiter.release is not None
            try:
                waiter.release(not everyone and not waiter.lost)
            except Exception:  # pragma: no cover - our own callbacks
                logger.exception("ripples: releasing a flush waiter failed")

    def _report_overflow(self, force: bool = False) -> None:
        """Report events dropped for a full buffer, at most once a second unless ``force``."""
        now = time.monotonic()
        if not self._overflowed or (not force and now - self._last_overflow_report < 1.0):
            return
        with self._lock:
            self._last_overflow_report = now
            dropped, self._overflowed = self._overflowed, 0
            callbacks, self._overflow_callbacks = self._overflow_callbacks, {}
        if dropped:
            report(
                RipplesBufferOverflowError(
                    f"ripples: the buffer was full (max_buffer_size="
                    f"{self.config.max_buffer_size}), so the {dropped} oldest events were dropped",
                    dropped,
                ),
                callbacks.values(),
                logging.WARNING,
            )
