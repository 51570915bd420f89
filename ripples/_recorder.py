"""``EventRecorder``: captures every event tracked in the process, instead of sending it.

It registers a sink with ``ripples._recording``; while any sink is registered, every
client hands its events (the exact wire dicts) to the sinks and sends nothing.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Iterator, Mapping
from types import TracebackType
from typing import Any, overload

from . import _recording
from ._event_table import event_kind, render, summary
from ._matching import Event, Expected, listed, wire_fields


class EventRecorder:
    """Captures the wire dict of every event tracked in the process while active.

    Thread-safe: events tracked in other threads (a thread pool, a background
    job, a server thread) are recorded too, in the order they were made. Use it
    as a context manager, or call ``start()``/``stop()``. It behaves as a
    read-only sequence of events; the filters return plain lists.
    """

    def __init__(self) -> None:
        self._events: list[Event] = []
        self._changed = threading.Condition(threading.Lock())
        self._sink = self._record  # one bound method, so remove_sink finds it
        self._active = False

    # lifecycle -----------------------------------------------------------
    def start(self) -> EventRecorder:
        """Begin recording (idempotent); from now on events are not sent."""
        if not self._active:
            _recording.add_sink(self._sink)
            self._active = True
        return self

    def stop(self) -> None:
        """Stop recording (idempotent); the recorded events stay available."""
        if self._active:
            _recording.remove_sink(self._sink)
            self._active = False

    @property
    def active(self) -> bool:
        """True between `start` (or ``with``) and `stop`: events are recorded, not sent."""
        return self._active

    def __enter__(self) -> EventRecorder:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _record(self, event: Mapping[str, Any]) -> None:
        # A deep copy: later changes to nested values the app passed in must not
        # rewrite history.
        snapshot = copy.deepcopy(dict(event))
        with self._changed:
            self._events.append(snapshot)
            self._changed.notify_all()

    # reading ---------------------------------------------------------------
    @property
    def events(self) -> list[Event]:
        """A snapshot of every recorded event, oldest first."""
        with self._changed:
            return list(self._events)

    def clear(self) -> None:
        """Forget what was recorded so far (e.g. events made by test setup)."""
        with self._changed:
            self._events.clear()

    def __len__(self) -> int:
        with self._changed:
            return len(self._events)

    def __iter__(self) -> Iterator[Event]:
        return iter(self.events)

    @overload
    def __getitem__(self, index: int) -> Event: ...
    @overload
    def __getitem__(self, index: slice) -> list[Event]: ...
    def __getitem__(self, index: int | slice) -> Event | list[Event]:
        with self._changed:
            return self._events[index]

    def __bool__(self) -> bool:
        return len(self) > 0

    def __repr__(self) -> str:
        first = ", ".join(summary(event) for event in self.events[:10])
        more = "" if len(self) <= 10 else f", ... ({len(self)} events)"
        state = "recording" if self._active else "stopped"
        return f"<EventRecorder {state}: [{first}{more}]>"

    def __str__(self) -> str:
        return render(self.events)

    # filters ------------------------------------------------------------------
    def filter(
        self,
        *,
        type: str | None = None,
        user_id: Any = None,
        visitor_id: Any = None,
        name: str | None = None,
        idempotency_key: str | None = None,
    ) -> list[Event]:
        """Events matching every given field (``None`` = any).

        ``idempotency_key`` matches the events tracked with that key (their derived
        ``$event_id``, whatever the tracking method).
        """
        fields = wire_fields(
            type=type,
            user_id=user_id,
            name=name,
            visitor_id=visitor_id,
            idempotency_key=idempotency_key,
        )
        expected = Expected(None, fields)
        return [event for event in self.events if expected.matches(event)]

    def tracked(
        self,
        action_name: str | None = None,
        *,
        user_id: Any = None,
        area: str | None = None,
        idempotency_key: str | None = None,
    ) -> list[Event]:
        """``track`` events, optionally only one action / user / area / idempotency key."""
        fields = wire_fields(
            name=action_name, user_id=user_id, area=area, idempotency_key=idempotency_key
        )
        expected = Expected("track", fields)
        return [event for event in self.events if expected.matches(event)]

    def for_user(self, user_id: Any) -> list[Event]:
        """Every event of ``user_id`` (a `str`, or an `int` compared as its string)."""
        return self.filter(user_id=user_id)

    @property
    def signups(self) -> list[Event]:
        """The ``signup`` events, oldest first."""
        return self._ofevent_kind("signup")

    @property
    def identifies(self) -> list[Event]:
        """The ``identify`` events, oldest first."""
        return self._ofevent_kind("identify")

    @property
    def revenue(self) -> list[Event]:
        """Payments and refunds: ``revenue`` events that are not subscription changes."""
        return self._ofevent_kind("revenue")

    @property
    def subscriptions(self) -> list[Event]:
        """Subscription changes (``revenue`` events with ``subscription_id``)."""
        return self._ofevent_kind("subscription")

    def _ofevent_kind(self, kind: str) -> list[Event]:
        return [event for event in self.events if event_kind(event) == kind]

    def wait_for(
        self,
        count: int = 1,
        timeout: float = 5.0,
        *,
        type: str | None = None,
        user_id: Any = None,
        name: str | None = None,
        idempotency_key: str | None = None,
    ) -> list[Event]:
        """Wait until ``count`` matching events were recorded, for work done in other threads.

        Returns the matching events; raises ``AssertionError`` listing what was
        recorded when the deadline passes.
        """
        __tracebackhide__ = True
        fields = wire_fields(type=type, user_id=user_id, name=name, idempotency_key=idempotency_key)
        expected = Expected(None, fields)
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [event for event in self._events if expected.matches(event)]
                remaining = deadline - time.monotonic()
                if len(found) >= count or remaining <= 0:
                    break
                self._changed.wait(remaining)
            recorded = list(self._events)
        if len(found) < count:
            raise listed(
                f"waited {timeout:g}s for {count} {expected.describe(count != 1)}, "
                f"got {len(found)}.\n{expected.listing(recorded)}"
            )
        return found


def record_events() -> EventRecorder:
    """A recorder to use as ``with record_events() as events:``."""
    return EventRecorder()
