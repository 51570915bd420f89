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
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ._report import logger
from ._spool import Segment, Spool, SpoolUnavailable, spool_namespace

#: Seconds between spills while delivery fails (what a kill -9 can lose at most).
SPILL_INTERVAL = 1.0
#: Seconds between looks for spooled segments while delivery works.
RECOVER_INTERVAL = 5.0


def encode_event(event: dict[str, Any]) -> bytes:
    """One completed wire event as spool bytes; ValueError/TypeError if JSON cannot carry it."""
    return json.dumps(event, allow_nan=False, separators=(",", ":")).encode()


@dataclass
class SpillResult:
    """What writing some events to the spool did (counts of events)."""

    spooled: int = 0
    dropped: int = 0  # rejected for lack of room, or unencodable
    evicted: int = 0  # older spooled events deleted to make room
    failed: bool = False  # the spool is unusable: the caller keeps the events in memory
    attempted: int = 0  # events of the chunks written (spooled or rejected), oldest first
    paths: list[str] = field(default_factory=list)


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
            if written.path:
                result.paths.append(written.path)
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
