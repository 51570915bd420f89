"""The background sender: a bounded buffer, batching, retries, flush watermarks.

Tracking calls only append to a deque under a lock; one daemon thread per
sender turns the buffer into batches and posts them. The rules that keep the
promise "never slow the app, never lose or duplicate a revenue event":

- The caller's thread never does network I/O, and the lock is never held
  while calling user code, logging or sending.
- ``$event_id`` is set once, the first time an event is taken for sending,
  so every retry of it carries the same id and the API de-duplicates.
- A transient failure (timeout, connection error, 408, 429, 5xx) is retried
  with exponential backoff and jitter, honouring ``Retry-After``; when the
  retries are spent the batch goes back to the *front* of the buffer and the
  sender backs off, so an outage loses nothing that fits in the buffer.
- A batch refused with a 4xx is split in halves until the culprit event is
  alone; only that event is dropped (and reported).
- The buffer is bounded: when full, the oldest event is dropped and the drop
  is counted and reported from the sender thread.
- ``flush()`` waits for a watermark (events queued before the call), never for
  "an empty queue", which under steady traffic would never come.
- After ``fork()`` the child gets fresh locks, an empty buffer and no thread:
  the parent's events are the parent's to send.
- At interpreter exit no thread is started (Python 3.12+ refuses); a live
  thread is asked to drain, otherwise the exiting thread drains, both with a
  deadline so a hanging API never hangs the exit.
"""

from __future__ import annotations

import atexit
import logging
import os
import random
import threading
import time
import weakref
from collections import deque
from typing import Any, Callable, NamedTuple, Optional

from ._errors import RipplesAPIError, RipplesBufferOverflowError, RipplesError
from ._transport import HttpTransport, TransientError, Transport
from ._wire import complete_event

logger = logging.getLogger("ripples")

ErrorCallback = Optional[Callable[[Exception], None]]
#: A queued event: its wire dict (system fields completed when first sent),
#: its time as epoch seconds, and the on_error of the client that made it.
Item = tuple[dict[str, Any], float, ErrorCallback]

_IDLE_EXIT_SECONDS = 30.0
#: How long a wake-up waits for more events before sending, so that the
#: per-request wakes of a busy web server coalesce into one batch.
_LINGER_SECONDS = 0.02
_BASE_BACKOFF = 0.25
_MAX_BACKOFF = 30.0


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


def _report(exc: RipplesError, callbacks: set[ErrorCallback], level: int) -> None:
    """Tell the ripples logger and every interested on_error; never raise."""
    logger.log(level, "%s", exc)
    for callback in callbacks:
        if callback is None:
            continue
        try:
            callback(exc)
        except Exception:
            logger.exception("ripples: the on_error callback raised")


class Sender:
    """A bounded buffer drained by one background thread (see the module docstring)."""

    def __init__(self, config: SenderConfig, transport: Transport | None = None) -> None:
        self.config = config
        self._http: HttpTransport | None = None
        if transport is None:
            self._http = HttpTransport(config.base_url, config.secret_key)
            transport = self._http.send
        self._send = transport
        self._timeout = (config.connect_timeout, config.timeout)
        self._reset()
        _all_senders.add(self)

    def __repr__(self) -> str:
        return f"<Sender base_url={self.config.base_url!r} queued={len(self._queue)}>"

    def _reset(self) -> None:
        """(Re)create all mutable state: at construction and in a forked child."""
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._wake_event = threading.Event()
        self._queue: deque[Item] = deque()
        self._enqueued = 0
        self._resolved = 0
        self._waiters: list[tuple[int, Callable[[bool], None]]] = []
        self._dropped = 0
        self._lost = 0  # events refused or dropped, ever: flush() reports them as not delivered
        self._drop_callbacks: set[ErrorCallback] = set()
        self._thread: threading.Thread | None = None
        self._running = False
        self._stopping = False
        self._retry_at = 0.0
        self._last_drop_report = 0.0
        self._failures = 0

    # -- called from application threads ---------------------------------

    def put(self, data: dict[str, Any], ts: float, on_error: ErrorCallback) -> None:
        with self._lock:
            queue = self._queue
            if len(queue) >= self.config.max_buffer_size:
                self._drop_oldest_locked(1)
            queue.append((data, ts, on_error))
            self._enqueued += 1
            if not self._running:
                self._start_thread()
            # Wake the thread only on crossings, so a full buffer during an
            # outage does not turn every call into a wake-up.
            wake = len(queue) == self.config.max_queue_size or self._dropped == 1
        if wake:
            self._wake_event.set()

    def wake(self) -> None:
        """Send what is queued now, from the sender thread; never blocks."""
        with self._lock:
            if not self._queue:
                return
            if not self._running:
                self._start_thread()
        if not self._wake_event.is_set():
            self._wake_event.set()

    def flush(self, timeout: float | None) -> bool:
        """Wait until every event queued before the call was attempted; True if all delivered."""
        done = threading.Event()
        outcome: list[bool] = []

        def release(ok: bool) -> None:
            outcome.append(ok)
            done.set()

        lost_before = self._lost
        state = self.add_waiter(release)
        if state == "waiting":
            if not self._running:
                # No thread could be started (interpreter exit): do the work here.
                limit = self.config.shutdown_timeout if timeout is None else timeout
                self._drain_with_deadline(time.monotonic() + limit)
            done.wait(timeout)
            return bool(outcome and outcome[0]) and self._lost == lost_before
        return state == "done" and self._lost == lost_before

    def add_waiter(self, release: Callable[[bool], None]) -> str:
        """Register ``release(ok)`` for when the current watermark has been attempted.

        Returns ``"waiting"`` when registered, ``"done"`` when there was nothing
        to wait for, or ``"backing-off"`` when the API failed moments ago and
        the caller should not wait out the outage (the events stay buffered).
        """
        with self._lock:
            target = self._enqueued
            if self._resolved >= target:
                return "done"
            if self._retry_at > time.monotonic() and not self._stopping:
                return "backing-off"
            self._waiters.append((target, release))
            if not self._running:
                self._start_thread()
        self._wake_event.set()
        return "waiting"

    def close(self, timeout: float) -> bool:
        """Drain with a deadline, then let the thread exit. True if everything was delivered."""
        deadline = time.monotonic() + timeout
        with self._lock:
            self._stopping = True
            thread = self._thread if self._running else None
        self._wake_event.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(max(0.0, deadline - time.monotonic()))
        if not self._running:
            self._drain_with_deadline(deadline)
        with self._lock:
            self._stopping = False
            delivered = not self._queue
        if self._http is not None and not self._running:
            self._http.close()
        return delivered

    def _start_thread(self) -> None:
        """Start the sender thread; the caller holds ``self._lock``."""
        thread = threading.Thread(target=self._run, name="ripples-sender", daemon=True)
        try:
            thread.start()
        except RuntimeError:
            # Interpreter shutdown: the atexit drain (or flush) sends instead.
            return
        self._thread = thread
        self._running = True

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
                if self._dropped:
                    wait = min(wait, 1.0)
                self._wake_event.wait(wait)
                self._wake_event.clear()
                self._report_drops()
                if self._stopping:
                    self._drain_with_deadline(None)
                    if self._exit_if(lambda: self._stopping or not self._queue):
                        return
                    continue
                if self._retry_at > time.monotonic():
                    continue  # backing off: only close() ends a backoff early
                if self._queue:
                    self._linger()
                    self._drain()
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
        """Drain from the calling thread (exit, close), within ``deadline``."""
        if not self._send_lock.acquire(
            timeout=-1 if deadline is None else max(0.0, deadline - time.monotonic())
        ):
            return
        try:
            self._drain_locked(deadline)
        finally:
            self._send_lock.release()
        self._report_drops(force=True)

    def _drain(self) -> None:
        with self._send_lock:
            self._drain_locked(None)

    def _drain_locked(self, deadline: float | None) -> None:
        """Send what was queued at the wake-up, then more only while a trigger holds.

        Under steady traffic the queue never empties: draining "until empty"
        would post a handful of events per request. After the events that were
        waiting are sent, another batch goes out only for a full batch, a
        pending ``flush()`` or a shutdown; the rest waits for the next wake-up.
        Stops at the first batch that stays failed.
        """
        with self._lock:
            owed = len(self._queue)
        while True:
            with self._lock:
                queued = len(self._queue)
                if not queued or (owed <= 0 and not self._trigger_holds(queued)):
                    break
                size = min(queued, self.config.max_batch_size)
                batch = [self._queue.popleft() for _ in range(size)]
            owed -= size
            if not self._send_batch(batch, deadline):
                with self._lock:
                    self._requeue_locked(batch)
                self._release_waiters(everyone=True)
                return
            with self._lock:
                self._resolved += len(batch)
            self._release_waiters(everyone=False)
        self._release_waiters(everyone=False)

    def _requeue_locked(self, items: list[Item]) -> None:
        """Put unsent items back at the front, oldest first, keeping the buffer bound."""
        self._queue.extendleft(reversed(items))
        overflow = len(self._queue) - self.config.max_buffer_size
        if overflow > 0:
            self._drop_oldest_locked(overflow)

    def _drop_oldest_locked(self, count: int) -> None:
        """Drop the ``count`` oldest items; counted here, reported by the sender thread."""
        for _ in range(count):
            dropped = self._queue.popleft()
            self._dropped += 1
            self._lost += 1
            self._resolved += 1
            self._drop_callbacks.add(dropped[2])

    def _trigger_holds(self, queued: int) -> bool:
        """Whether to keep sending now; the caller holds ``self._lock``."""
        return (
            queued >= self.config.max_queue_size
            or self._stopping
            or any(target > self._resolved for target, _ in self._waiters)
        )

    def _release_waiters(self, everyone: bool) -> None:
        with self._lock:
            if not self._waiters:
                return
            resolved = self._resolved
            ready = [w for w in self._waiters if everyone or w[0] <= resolved]
            self._waiters = [w for w in self._waiters if w not in ready]
            ok = not everyone
        for _, release in ready:
            try:
                release(ok)
            except Exception:  # pragma: no cover - our own callbacks
                logger.exception("ripples: releasing a flush waiter failed")

    def _send_batch(self, batch: list[Item], deadline: float | None) -> bool:
        """Deliver ``batch`` or decide its fate; False means "keep it for later"."""
        events = [complete_event(data, ts) for data, ts, _ in batch]
        attempt = 0
        while True:
            try:
                self._send({"events": events}, self._attempt_timeout(deadline))
            except TransientError as exc:
                attempt += 1
                delay = self._backoff(attempt, exc.retry_after)
                out_of_time = deadline is not None and time.monotonic() + delay >= deadline
                if attempt > self.config.max_retries or out_of_time or self._stopping:
                    pause = self._pause_after_failure(exc.retry_after)
                    _report(
                        RipplesAPIError(
                            f"ripples: could not deliver {len(events)} events ({exc}); "
                            f"they stay buffered and will be retried in {pause:.1f}s",
                            exc.status_code,
                            events=len(events),
                            retryable=True,
                        ),
                        {item[2] for item in batch},
                        logging.WARNING,
                    )
                    return False
                logger.debug("ripples: retrying a batch in %.2fs after %s", delay, exc)
                self._wait_retry(delay)
                continue
            except RipplesAPIError as exc:  # the API answered: not an outage
                self._refused(batch, exc, deadline)
            except Exception as exc:  # a bug in a transport must not kill the thread
                logger.exception("ripples: unexpected error while sending")
                self._pause_after_failure(None)
                _report(
                    RipplesError(f"ripples: unexpected error while sending: {exc!r}"),
                    {item[2] for item in batch},
                    logging.DEBUG,
                )
                return False
            self._failures = 0
            self._retry_at = 0.0
            return True

    def _pause_after_failure(self, retry_after: float | None) -> float:
        """Back off after a batch stayed failed: longer with each failure in a row."""
        self._failures += 1
        pause = max(retry_after or 0.0, self._backoff(self._failures + 2, None))
        self._retry_at = time.monotonic() + pause
        return pause

    def _refused(self, batch: list[Item], exc: RipplesAPIError, deadline: float | None) -> None:
        """A 4xx for the whole batch: find the bad event(s) by splitting, keep the rest."""
        status = exc.status_code
        if len(batch) == 1 or status in (401, 403, 404, 405):
            with self._lock:
                self._lost += len(batch)
            what = (
                f"event {batch[0][0].get('$event_id')} ({batch[0][0].get('$type')})"
                if len(batch) == 1
                else f"{len(batch)} events"
            )
            _report(
                RipplesAPIError(
                    f"ripples: the API refused {what} with HTTP {status}: {exc}",
                    status,
                    events=len(batch),
                ),
                {item[2] for item in batch},
                logging.ERROR,
            )
            return
        middle = len(batch) // 2
        for half in (batch[:middle], batch[middle:]):
            if not self._send_batch(half, deadline):
                # A transient failure while isolating: keep the rest for later.
                with self._lock:
                    self._resolved -= len(half)
                    self._requeue_locked(half)

    def _attempt_timeout(self, deadline: float | None) -> tuple[float, float]:
        if deadline is None:
            return self._timeout
        left = max(0.05, deadline - time.monotonic())
        return (min(self._timeout[0], left), min(self._timeout[1], left))

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, _MAX_BACKOFF * 4)
        ceiling = min(_MAX_BACKOFF, _BASE_BACKOFF * 2.0 ** (attempt - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def _wait_retry(self, delay: float) -> None:
        """Sleep before a retry; cut short when close() asks us to stop."""
        end = time.monotonic() + delay
        while not self._stopping:
            left = end - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, 0.05))

    def _report_drops(self, force: bool = False) -> None:
        """Report dropped events, at most once a second unless ``force``."""
        now = time.monotonic()
        if not self._dropped or (not force and now - self._last_drop_report < 1.0):
            return
        with self._lock:
            self._last_drop_report = now
            dropped, self._dropped = self._dropped, 0
            callbacks, self._drop_callbacks = self._drop_callbacks, set()
        if dropped:
            _report(
                RipplesBufferOverflowError(
                    f"ripples: the buffer was full (max_buffer_size="
                    f"{self.config.max_buffer_size}), so the {dropped} oldest events were dropped",
                    dropped,
                ),
                callbacks,
                logging.WARNING,
            )

    def after_fork_in_child(self) -> None:
        self._reset()
        if self._http is not None:
            self._http.forget_session()


# -- process-wide bookkeeping ---------------------------------------------

_all_senders: weakref.WeakSet[Sender] = weakref.WeakSet()
# Weak values: a sender lives while a client, a binding or its own thread uses it.
_shared: weakref.WeakValueDictionary[SenderConfig, Sender] = weakref.WeakValueDictionary()
_shared_lock = threading.Lock()


def shared_sender(config: SenderConfig) -> Sender:
    """One sender per configuration, so a client per request stays cheap."""
    sender = _shared.get(config)
    if sender is None:
        with _shared_lock:
            sender = _shared.get(config)
            if sender is None:
                sender = Sender(config)
                _shared[config] = sender
    return sender


def _after_fork_in_child() -> None:
    global _shared_lock
    _shared_lock = threading.Lock()
    for sender in list(_all_senders):
        sender.after_fork_in_child()


def shutdown_all() -> None:
    """Drain every sender at interpreter exit, all within their shutdown deadlines."""
    senders = [s for s in list(_all_senders) if s._queue or s._running]
    if not senders:
        return
    deadline = time.monotonic() + max(s.config.shutdown_timeout for s in senders)
    for sender in senders:
        with sender._lock:
            sender._stopping = True
        sender._wake_event.set()
    for sender in senders:
        sender.close(max(0.0, deadline - time.monotonic()))
    for sender in senders:
        if sender._queue:
            logger.warning(
                "ripples: %d events could not be delivered before exit", len(sender._queue)
            )


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(shutdown_all)
