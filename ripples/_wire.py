"""The fields every event gets on its way out: a stable id, the time, the SDK.

Done in the sender thread the first time an event is sent, not at the call
site, so a tracking call stays a few microseconds; done once, so a retried
event keeps its ``$event_id`` and the API can de-duplicate it.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import time
from collections.abc import Iterable
from typing import Any, Callable

from ._version import __version__


def _optional_orjson() -> Any:
    """The optional C encoder (``pip install 'ripples[speedups]'``), or None."""
    if os.environ.get("RIPPLES_NO_SPEEDUPS"):
        return None
    try:
        return importlib.import_module("orjson")
    except ImportError:
        return None


_orjson: Any = _optional_orjson()

_SDK_FIELDS = {"$sdk_name": "python", "$sdk_version": __version__, "$platform": "server"}


def new_event_id() -> str:
    """A random (version 4) UUID string, lowercase: cheaper than ``str(uuid.uuid4())``."""
    h = os.urandom(16).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:32]}"


_last_stamp: tuple[int | None, str] = (None, "")  # None: no second formatted yet


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


def complete_event(data: dict[str, Any]) -> dict[str, Any]:
    """Add the fields every event carries; idempotent, so retries keep their id.

    A queued event holds its time, epoch seconds, in ``$sent_at`` (a float: no
    user key starts with ``$``); completing formats it and adds the SDK fields,
    so ``$sdk_name`` marks a completed event. A ``$event_id`` set earlier (from
    an idempotency key) is kept.
    """
    if "$sdk_name" not in data:
        if "$event_id" not in data:
            data["$event_id"] = new_event_id()
        data["$sent_at"] = format_sent_at(data["$sent_at"])
        data.update(_SDK_FIELDS)
    return data


def complete_batch(events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """:func:`complete_event` for a batch of queued events, with ids made in bulk.

    The ids are version 4 UUIDs whose first 74 bits are random for each batch
    and whose last 48 bits number the events of the batch: as unique as fully
    random ids (a collision needs two batches to draw the same 74 bits) for a
    tenth of the cost, and made in the sending process, so a forked child never
    repeats its parent's.
    """
    h = os.urandom(10).hex()
    prefix = f"{h[:8]}-{h[8:12]}-4{h[12:15]}-{'89ab'[int(h[15], 16) & 3]}{h[16:19]}-"
    sdk = _SDK_FIELDS
    completed = []
    n = 0
    # format_sent_at, inlined: a batch rarely spans two seconds (NaN: no second seen yet).
    second, stamp = math.nan, ""
    for data in events:
        if "$sdk_name" not in data:
            if "$event_id" not in data:
                data["$event_id"] = prefix + n.to_bytes(6, "big").hex()
                n += 1
            ts = data["$sent_at"]
            if not second <= ts < second + 1.0:
                second = ts // 1
                stamp = format_sent_at(ts)
            data["$sent_at"] = stamp
            data.update(sdk)
        completed.append(data)
    return completed


def _encode_std(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, allow_nan=False, separators=(",", ":")).encode()


def _encode_fast(payload: dict[str, Any]) -> bytes:
    """orjson, with the standard encoder's semantics.

    orjson refuses ints past 64 bits (the standard encoder writes them) and
    writes NaN and infinity as ``null`` (the standard encoder raises). Both
    cases go to the standard encoder: a ``null`` anywhere in the output is
    checked by it, so a non-finite number raises exactly as without orjson.
    """
    assert _orjson is not None
    try:
        body: bytes = _orjson.dumps(payload)
    except TypeError:
        return _encode_std(payload)
    if b"null" in body:
        return _encode_std(payload)
    return body


#: ``encode(payload) -> bytes``: compact JSON; raises ValueError/TypeError/OverflowError
#: for what JSON cannot carry. With orjson installed it is used: both produce compact
#: JSON the API reads the same way, and refuse the same values.
encode: Callable[[dict[str, Any]], bytes] = _encode_std if _orjson is None else _encode_fast
