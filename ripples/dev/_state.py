"""The live state a ``DevServer`` shares with its request handler: counters and the hang switch.

Both are used from the handler threads and from the thread that owns the
``DevServer``, so each carries its own lock; the server reads and resets them
through these methods, the handler updates them, and neither reaches into the other.
"""

from __future__ import annotations

import threading

#: The counters of ``DevServer.stats``.
STAT_NAMES = (
    "requests",
    "accepted_batches",
    "refused_batches",
    "simulated_failures",
    "events",
    "duplicates",
)


class Counters:
    """Thread-safe ingest counters (``DevServer.stats``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values = dict.fromkeys(STAT_NAMES, 0)

    def add(self, name: str) -> None:
        """Count one ``name`` (one of :data:`STAT_NAMES`)."""
        with self._lock:
            self._values[name] += 1

    def add_batch(self, accepted: int, duplicates: int) -> None:
        """Count one stored batch with its newly stored and duplicate events."""
        with self._lock:
            values = self._values
            values["accepted_batches"] += 1
            values["events"] += accepted
            values["duplicates"] += duplicates

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._values)

    def reset(self) -> None:
        with self._lock:
            self._values = dict.fromkeys(STAT_NAMES, 0)


class HangSwitch:
    """While on, ingest requests are held unanswered (``DevServer.hang``)."""

    def __init__(self) -> None:
        self._on = False
        self._changed = threading.Condition(threading.Lock())

    @property
    def on(self) -> bool:
        return self._on

    def set(self, value: bool) -> None:
        with self._changed:
            self._on = bool(value)
            self._changed.notify_all()

    def wait_while_on(self, stopping: threading.Event) -> bool:
        """Block until switched off (True) or ``stopping`` is set (False).

        Whoever sets ``stopping`` must then call :meth:`wake` to release waiters.
        """
        with self._changed:
            while self._on and not stopping.is_set():
                self._changed.wait()
        return not stopping.is_set()

    def wake(self) -> None:
        """Make waiters re-check their condition (after a stop was requested)."""
        with self._changed:
            self._changed.notify_all()
