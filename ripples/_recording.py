"""Process-wide event sinks, the hook behind ``ripples.testing``.

While at least one sink is installed, every event that any client in the
process would send is handed to the sinks as its exact wire dict (with
``$event_id`` and ``$sent_at`` filled in) and is *not* queued for delivery, so
tests see what production would send without touching the network.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

Sink = Callable[[dict[str, Any]], None]

_lock = threading.Lock()
#: Read without the lock on the hot path: replaced, never mutated in place.
_sinks: tuple[Sink, ...] = ()


def add_sink(sink: Sink) -> None:
    """Start handing every event to ``sink`` instead of the network."""
    global _sinks
    with _lock:
        _sinks = (*_sinks, sink)


def remove_sink(sink: Sink) -> None:
    """Stop handing events to ``sink``; unknown sinks are ignored."""
    global _sinks
    with _lock:
        remaining = list(_sinks)
        if sink in remaining:
            remaining.remove(sink)
        _sinks = tuple(remaining)


def active_sinks() -> tuple[Sink, ...]:
    return _sinks
