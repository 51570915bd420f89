"""The fields every event gets on its way out: a stable id, the time, the SDK.

Done in the sender thread the first time an event is sent, not at the call
site, so a tracking call stays a few microseconds; done once, so a retried
event keeps its ``$event_id`` and the API can de-duplicate it.
"""

from __future__ import annotations

import os
import time
from typing import Any

from ._version import __version__

_SDK_FIELDS = {"$sdk_name": "python", "$sdk_version": __version__, "$platform": "server"}


def new_event_id() -> str:
    """A random (version 4) UUID string, lowercase: cheaper than ``str(uuid.uuid4())``."""
    h = os.urandom(16).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:32]}"


_last_stamp: tuple[int, str] = (-1, "")


def format_sent_at(ts: float) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` for an epoch time; consecutive events share the string."""
    global _last_stamp
    second = int(ts // 1)
    cached = _last_stamp  # one tuple, swapped atomically, so threads never mix halves
    if cached[0] == second:
        return cached[1]
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second))
    _last_stamp = (second, stamp)
    return stamp


def complete_event(data: dict[str, Any], ts: float) -> dict[str, Any]:
    """Add the fields every event carries; idempotent, so retries keep their id.

    A ``$event_id`` already set (derived from an idempotency key) is kept.
    """
    if "$sent_at" not in data:
        data.setdefault("$event_id", new_event_id())
        data["$sent_at"] = format_sent_at(ts)
        data.update(_SDK_FIELDS)
    return data
