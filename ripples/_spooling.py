"""How the sender uses the spool: spill while delivery fails, spool at shutdown, recover later.

Only the sender thread (or the thread running a shutdown path) touches the
disk; a tracking call never does. The spool opens lazily on first need; a
directory that cannot be used is one warning, after which the sender keeps
working in memory as it would without a spool.

- **Spill.** While batches stay failed, what is buffered is written out at
  most every :data:`SPILL_INTERVAL` seconds, in segments of at most
  ``max_batch_size`` events, so a ``kill -9`` loses at most the last interval.
- **Shutdown.** ``close()`` and the exit drain write whatever they could not
  deliver within their deadline.
- **Recovery.** Any process with the same configuration and directory sends
  spooled segments, oldest first, when its sender starts and then every
  :data:`RECOVER_INTERVAL` seconds while the API is healthy. A segment is
  deleted only after each of its events was delivered or refused for good.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ._buffer import Buffer
from ._delivery import Deliverer, Outcome
from ._errors import RipplesError
from ._report import Reporter, logger
from ._spool import Segment, Spool, SpoolUnavailable, spool_namespace
from ._wire import complete_event, encode

#: Seconds between spills while delivery fails (what a kill -9 can lose at most).
SPILL_INTERVAL = 1.0
#: Seconds between looks for spooled segments while delivery works.
RECOVER_INTERVAL = 5.0


def encode_event(event: dict[str, Any]) -> bytes:
    """One completed wire event as spool bytes; ValueError/TypeError if JSON cannot carry it."""
    return encode(event)


@dataclass
class SpillResult:
    """What writing some events to the spool did (counts of events)."""

    spooled: int = 0
    dropped: int = 0  # rejected for lack of room, or unencodable
    evicted: int = 0  # older spooled events deleted to make room
    failed: bool = False  # the spool is unusable: the caller keeps the events in memory
    attempted: int = 0  # events of the chunks written (spooled or rejected), oldest first


class SpoolKeeper:
    """The spool of one sender: opened lazily, failing once, spilling and recovering."""

    def __init__(self, directory: str, base_url: str, secret_key: str, max_bytes: int) -> None:
        self.directory = directory
        self._base_url = base_url
        self._secret_key = secret_key
        self._max_bytes = max_bytes
        self._spool: Spool | None = None
        self._broken = False
        self.last_spill = 0.0
        self.next_recovery = 0.0  # monotonic: right at the first look
        self.size_bytes = 0

    def __repr__(self) -> str:
        return f"<SpoolKeeper {self.directory!r}>"

    @property
    def usable(self) -> bool:
        return not self._broken

    def _open(self) -> Spool | None:
        if self._spool is None and not self._broken:
            try:
                namespace = spool_namespace(self._base_url, self._secret_key)
                self._spool = Spool(self.directory, namespace, self._max_bytes)
                self.refresh_size()
            except (SpoolUnavailable, OSError, ValueError) as exc:
                self._fail(exc)
        return self._spool

    def _fail(self, exc: Exception) -> None:
        if not self._broken:
            self._broken = True
            logger.warning(
                "ripples: the spool directory %s cannot be used (%s); events stay in memory only",
                self.directory,
                exc,
            )

    def spill(self, encoded: Sequence[bytes], chunk: int) -> SpillResult:
        """Write ``encoded`` events, oldest first, in segments of at most ``chunk``."""
        result = SpillResult()
        spool = self._open()
        if spool is None:
            result.failed = True
            return result
        for start in range(0, len(encoded), chunk):
            try:
                written = spool.write(encoded[start : start + chunk])
            except SpoolUnavailable as exc:
                result.evicted += exc.evicted_events
                self._fail(exc)
                result.failed = True
                return result
            result.attempted += len(encoded[start : start + chunk])
            result.spooled += written.written_events
            result.dropped += written.rejected_events
            result.evicted += written.evicted_events
        self.last_spill = time.monotonic()
        self.refresh_size()
        return result

    def claim(self) -> tuple[Segment, list[dict[str, Any]]] | None:
        """The oldest unclaimed segment and its events as wire dicts, or None."""
        spool = self._open()
        if spool is None:
            return None
        try:
            segment = spool.claim()
        except (SpoolUnavailable, OSError) as exc:
            self._fail(exc)
            return None
        if segment is None:
            self.refresh_size()
            return None
        events: list[dict[str, Any]] = []
        for data in segment.events:
            try:
                events.append(json.loads(data))
            except ValueError:
                segment.damaged += 1
        return segment, events

    def finish(self, segment: Segment, *, delete: bool) -> None:
        """Delete a segment whose events were all resolved, or give it back."""
        try:
            if delete:
                segment.delete()
            else:
                segment.release()
        except SpoolUnavailable as exc:
            logger.warning("ripples: %s; its events will be sent again (harmless)", exc)
        self.refresh_size()

    def refresh_size(self) -> None:
        if self._spool is not None:
            with contextlib.suppress(SpoolUnavailable, OSError):
                self.size_bytes = self._spool.size_bytes()

    def describe(self) -> str:
        return self._spool.path if self._spool is not None else os.fspath(self.directory)


class SpoolDriver:
    """Moves one sender's events between its buffer and its spool, booking each move."""

    def __init__(
        self,
        keeper: SpoolKeeper,
        buffer: Buffer,
        deliverer: Deliverer,
        reporter: Reporter,
        *,
        max_batch_size: int,
        max_spool_bytes: int,
    ) -> None:
        self.keeper = keeper
        self._buffer = buffer
        self._deliverer = deliverer
        self._reporter = reporter
        self._chunk = max_batch_size
        self._max_spool_bytes = max_spool_bytes

    def due(self, failing: bool) -> bool:
        """Whether to spill now: the buffer is full, or delivery fails and the interval passed."""
        queued = self._buffer.queued()
        if not queued or not self.keeper.usable:
            return False
        if queued >= self._buffer.max_buffer_size:
            return True
        return failing and time.monotonic() - self.keeper.last_spill >= SPILL_INTERVAL

    def spill(self, why: str) -> None:
        """Move every queued event to the spool; what cannot be written stays queued."""
        buffer = self._buffer
        taken = buffer.take_all()
        encoded: list[bytes] = []
        kept: list[int] = []  # indices of the events encoded, in order
        unencodable = Outcome(len(taken))
        for index, event in enumerate(taken.events):
            try:
                encoded.append(encode_event(complete_event(event)))
                kept.append(index)
            except (ValueError, TypeError, OverflowError, RecursionError) as exc:
                error = RipplesError(f"ripples: an event cannot be encoded as JSON ({exc})")
                unencodable.lost.append((index, "unencodable", error))
        result = self.keeper.spill(encoded, self._chunk)
        written = kept[: result.attempted]
        with buffer.lock:
            bad = [index for index, _, _ in unencodable.lost]
            booked = (result.spooled, result.dropped, result.evicted)
            buffer.book_spill_locked(taken, bad, written, booked)
            if result.failed:
                buffer.stop_spooling_locked()
                buffer.requeue_locked(taken, kept[result.attempted :])
        self._reporter.lost(taken.events, taken.items, unencodable)
        if result.dropped or result.evicted:
            self._reporter.problem(
                RipplesError(
                    f"ripples: the spool is full (max_spool_bytes={self._max_spool_bytes}):"
                    f" {result.dropped + result.evicted} events were dropped"
                ),
                [taken.items[index] for index in written],
                logging.ERROR,
            )
        if result.spooled:
            logger.warning(
                "ripples: %d events %s were written to the spool %s",
                result.spooled,
                why,
                self.keeper.describe(),
            )

    def recover(self, limit: int = 4) -> Outcome | None:
        """Send up to ``limit`` spooled segments (of any process of this configuration).

        Returns the outcome that left events on disk (a transient failure: the
        caller backs off), or None when all went well.
        """
        keeper = self.keeper
        for _ in range(limit):
            claimed = keeper.claim()
            if claimed is None:
                keeper.next_recovery = time.monotonic() + RECOVER_INTERVAL
                return None
            segment, events = claimed
            outcome = self._deliverer.deliver(events, None)
            resolved = outcome.kept_from
            rest = events[resolved:]
            rewrite = SpillResult()
            if rest and resolved:
                # Keep only what is still owed, so nothing is counted (or sent) twice.
                rewrite = keeper.spill([encode_event(event) for event in rest], len(rest))
            gone = not rest or (resolved > 0 and not rewrite.failed)
            if not gone:  # the file stays as it was: it is all booked when it goes
                outcome.kept_from, outcome.lost = 0, []
            damaged = segment.damaged if gone else 0
            with self._buffer.lock:
                self._buffer.book_recovery_locked(outcome, damaged, time.time())
                if rewrite.evicted:
                    self._buffer.book_eviction_locked(0, rewrite.evicted)
            # Spooled events have no on_error of ours: (event, None) says so.
            self._reporter.lost(events, [(event, None) for event in events], outcome)
            if damaged:
                self._reporter.problem(
                    RipplesError(
                        f"ripples: {segment.damaged} damaged records in the spool segment "
                        f"{segment.path} were lost; the rest of it was recovered"
                    ),
                    [],
                    logging.ERROR,
                )
            keeper.finish(segment, delete=gone)
            if rest:
                return outcome
        keeper.next_recovery = time.monotonic()  # more may be waiting: look again next round
        return None
