"""Delivering one batch: encode it, post it, retry what is transient, isolate what never will be.

The outcome of a batch is decided per event, so one bad event cannot hold
back the others:

- A transient failure (timeout, connection error, 408, 429, 5xx) is retried
  with exponential backoff and jitter, honouring ``Retry-After``, within the
  caller's deadline. When the retries are spent, the events from the failed
  one on stay pending (the sender puts them back at the front and backs off).
- A batch whose JSON body passes :data:`MAX_BATCH_BYTES` is split in halves
  before it is posted, so no proxy in front of the API refuses it for its size.
- A deterministic failure is never retried at the head of the queue: a 4xx
  refusal, an event JSON cannot encode (``Decimal("1E+400")`` is finite but
  becomes ``inf``), or a custom ``_post`` raising something other than a
  network or HTTP error. The batch is split in halves until each culprit is
  alone; only the culprits are lost, and the rest is delivered.

Pending events always form a suffix of the batch (``kept_from``), so the
sender's queue stays in tracking order.
"""

from __future__ import annotations

import random
import time
from typing import Any, Callable

from ._errors import RipplesAPIError, RipplesError
from ._report import logger
from ._transport import PermanentError, TransientError, Transport
from ._wire import encode

#: A batch whose body passes this is split in halves before it is posted: request-size
#: limits in front of an API (nginx's 1 MiB default, load balancers) answer 413 above them.
#: A single event larger than this is still posted, alone.
MAX_BATCH_BYTES = 512 * 1024
_BASE_BACKOFF = 0.25
_MAX_BACKOFF = 30.0
#: A refusal of these means "the whole request is wrong" (key, URL): splitting cannot help.
_WHOLE_BATCH_STATUSES = frozenset({401, 403, 404, 405})


def backoff(attempt: int, retry_after: float | None) -> float:
    """Seconds before attempt ``attempt + 1``: ``Retry-After``, or exponential with jitter."""
    if retry_after is not None:
        return min(retry_after, _MAX_BACKOFF * 4)
    ceiling = min(_MAX_BACKOFF, _BASE_BACKOFF * 2.0 ** (attempt - 1))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def encode_batch(events: list[dict[str, Any]]) -> bytes:
    """The request body; raises ValueError/TypeError/OverflowError for a value JSON cannot carry."""
    return encode({"events": events})


class Outcome:
    """What happened to each event of a batch (indices into the batch)."""

    __slots__ = ("kept_from", "lost", "retries", "transient")

    def __init__(self, size: int) -> None:
        #: ``(index, reason, error)`` for each event that will never be delivered;
        #: reason is ``"refused"`` or a drop reason (``unencodable``, ``send_error``).
        self.lost: list[tuple[int, str, RipplesError]] = []
        #: Events ``[kept_from:]`` stay pending; ``size`` when none do.
        self.kept_from = size
        self.retries = 0
        #: The failure that made events stay pending, if any.
        self.transient: TransientError | None = None

    def delivered(self) -> int:
        return self.kept_from - len(self.lost)


class Deliverer:
    """Posts batches through a transport; knows nothing of queues or threads."""

    def __init__(
        self,
        send: Transport,
        timeout: tuple[float, float],
        max_retries: int,
        stop_requested: Callable[[], int],
        between_attempts: Callable[[], None] = lambda: None,
    ) -> None:
        self._send = send
        self._timeout = timeout
        self._max_retries = max_retries
        #: A counter that changes when close() asks to stop: cuts a retry wait short.
        self._stop_requested = stop_requested
        #: Called while a batch waits for its next attempt (the sender spills then).
        self._between_attempts = between_attempts

    def deliver(self, events: list[dict[str, Any]], deadline: float | None) -> Outcome:
        """Deliver ``events`` (completed wire dicts) or decide each one's fate."""
        outcome = Outcome(len(events))
        self._send_range(events, 0, len(events), deadline, outcome)
        return outcome

    def _send_range(
        self,
        events: list[dict[str, Any]],
        lo: int,
        hi: int,
        deadline: float | None,
        outcome: Outcome,
    ) -> bool:
        """Deliver ``events[lo:hi]``; False when a transient failure left ``[lo:]`` pending."""
        part = events[lo:hi]
        try:
            body = encode_batch(part)
        except (ValueError, TypeError, OverflowError, RecursionError) as exc:
            if hi - lo == 1:
                outcome.lost.append(
                    (lo, "unencodable", _event_error(part[0], f"cannot be encoded as JSON: {exc}"))
                )
                return True
            return self._split(events, lo, hi, deadline, outcome)
        if len(body) > MAX_BATCH_BYTES and hi - lo > 1:
            return self._split(events, lo, hi, deadline, outcome)
        try:
            self._post_with_retries(body, part, deadline, outcome)
        except TransientError as exc:
            outcome.kept_from = lo
            outcome.transient = exc
            return False
        except (RipplesAPIError, PermanentError) as exc:
            whole = exc.status_code in _WHOLE_BATCH_STATUSES
            if hi - lo > 1 and not whole:
                return self._split(events, lo, hi, deadline, outcome)
            reason = "refused" if isinstance(exc, RipplesAPIError) else "send_error"
            for index in range(lo, hi):
                outcome.lost.append((index, reason, exc))
        return True

    def _split(
        self,
        events: list[dict[str, Any]],
        lo: int,
        hi: int,
        deadline: float | None,
        outcome: Outcome,
    ) -> bool:
        middle = (lo + hi) // 2
        return self._send_range(events, lo, middle, deadline, outcome) and self._send_range(
            events, middle, hi, deadline, outcome
        )

    def _post_with_retries(
        self,
        body: bytes,
        events: list[dict[str, Any]],
        deadline: float | None,
        outcome: Outcome,
    ) -> None:
        attempt = 0
        while True:
            try:
                self._send(body, events, self._attempt_timeout(deadline))
                return
            except TransientError as exc:
                attempt += 1
                delay = backoff(attempt, exc.retry_after)
                out_of_time = deadline is not None and time.monotonic() + delay >= deadline
                if attempt > self._max_retries or out_of_time:
                    raise
                outcome.retries += 1
                logger.debug("ripples: retrying a batch in %.2fs after %s", delay, exc)
                self._between_attempts()
                self._wait(delay)

    def _attempt_timeout(self, deadline: float | None) -> tuple[float, float]:
        if deadline is None:
            return self._timeout
        left = max(0.05, deadline - time.monotonic())
        return (min(self._timeout[0], left), min(self._timeout[1], left))

    def _wait(self, delay: float) -> None:
        """Sleep before a retry; cut short when close() starts (it retries on its deadline)."""
        end = time.monotonic() + delay
        asked = self._stop_requested()
        while self._stop_requested() == asked:
            left = end - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, 0.05))


def _event_error(event: dict[str, Any], problem: str) -> RipplesError:
    return RipplesError(
        f"ripples: event {event.get('$event_id')} ({event.get('$type')}) {problem}; "
        "it was dropped and the rest of its batch delivered"
    )
