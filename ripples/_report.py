"""Telling the user about delivery problems: the ``ripples`` logger and ``on_error``."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Callable, Optional

from ._errors import RipplesAPIError, RipplesBufferOverflowError, RipplesError

if TYPE_CHECKING:
    from ._buffer import Buffer, Item
    from ._delivery import Outcome

logger = logging.getLogger("ripples")

#: A client's ``on_error``: called from the sender thread (or the exiting thread).
ErrorCallback = Optional[Callable[[Exception], None]]


def report(exc: Exception, callbacks: Iterable[ErrorCallback], level: int) -> None:
    """Log ``exc`` and pass it to each distinct ``on_error``; never raises.

    Callbacks are told apart by identity: an ``on_error`` may be unhashable.
    """
    logger.log(level, "%s", exc)
    distinct = {id(callback): callback for callback in callbacks if callback is not None}
    for callback in distinct.values():
        try:
            callback(exc)
        except Exception:
            logger.exception("ripples: the on_error callback raised")


def lost_errors(
    events: list[dict[str, Any]], outcome: Outcome
) -> list[tuple[RipplesError, list[int]]]:
    """One error per distinct failure of ``outcome.lost`` (a 401 refuses a whole batch
    with one), with the indices of the events it concerns."""
    groups: dict[int, tuple[str, RipplesError, list[int]]] = {}
    for index, reason, exc in outcome.lost:
        groups.setdefault(id(exc), (reason, exc, []))[2].append(index)
    errors: list[tuple[RipplesError, list[int]]] = []
    for reason, exc, indices in groups.values():
        if reason == "refused":
            first = events[indices[0]]
            what = (
                f"event {first.get('$event_id')} ({first.get('$type')})"
                if len(indices) == 1
                else f"{len(indices)} events"
            )
            exc = RipplesAPIError(
                f"ripples: the API refused {what} with HTTP {exc.status_code}: {exc}",
                exc.status_code,
                events=len(indices),
            )
        elif reason == "send_error":
            exc = RipplesError(f"ripples: dropped {len(indices)} events: {exc}")
        errors.append((exc, indices))
    return errors


class Reporter:
    """Reports about one sender's events: to the log, their clients' ``on_error``, the ledger."""

    def __init__(self, buffer: Buffer) -> None:
        self._buffer = buffer
        self._last_overflow_report = 0.0

    def problem(self, exc: Exception, items: Iterable[Item], level: int) -> None:
        """Report ``exc`` about ``items`` and remember it as the ledger's ``last_error``."""
        self._buffer.note_error(str(exc), time.time())
        report(exc, self._buffer.callbacks(items), level)

    def lost(self, events: list[dict[str, Any]], items: list[Item], outcome: Outcome) -> None:
        """One error report per distinct reason some ``events`` (queued as ``items``) were lost."""
        if outcome.lost:
            for exc, indices in lost_errors(events, outcome):
                self.problem(exc, [items[i] for i in indices], logging.ERROR)

    def overflow(self, *, force: bool = False) -> None:
        """Report events dropped for a full buffer, at most once a second unless ``force``."""
        now = time.monotonic()
        if not self._buffer.overflowed or (not force and now - self._last_overflow_report < 1.0):
            return
        self._last_overflow_report = now
        dropped, callbacks = self._buffer.take_overflow_report()
        if dropped:
            report(
                RipplesBufferOverflowError(
                    f"ripples: the buffer was full (max_buffer_size="
                    f"{self._buffer.max_buffer_size}), so the {dropped} oldest events were dropped",
                    dropped,
                ),
                callbacks,
                logging.WARNING,
            )
