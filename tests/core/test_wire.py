"""``ripples._wire``: completing events in bulk, and the two JSON encoders agreeing."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from typing import Any

import pytest

from ripples._wire import _encode_std, complete_batch, encode

UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")

EVENTS: list[dict[str, Any]] = [
    {"$type": "track", "$user_id": "u1", "$name": "clicked", "$area": "x", "n": 5},
    {"$type": "revenue", "$user_id": "u2", "$amount": 49.99, "currency": "EUR"},
    {"$type": "revenue", "$user_id": "u3", "$amount": -0.1, "big": 2**63 + 5, "small": 1e-7},
    {"$type": "signup", "$user_id": "ü ñ 😀", "email": 'a"b\\c\n', "tags": ["a", 1, None, True]},
    {"$type": "identify", "$user_id": "u5", "nested": {"a": {"b": [1.5, 2e300]}}},
]


def _items(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Events as the buffer holds them: the time, epoch seconds, in ``$sent_at``."""
    return [{**event, "$sent_at": time.time()} for event in events]


def test_a_batch_gets_distinct_v4_ids_kept_on_a_second_completion() -> None:
    items = _items(EVENTS * 100)
    first = [dict(e) for e in complete_batch(items)]
    ids = [e["$event_id"] for e in first]
    assert len(set(ids)) == len(ids) and all(UUID4.fullmatch(i) for i in ids)
    assert [e["$event_id"] for e in complete_batch(items)] == ids  # a retry keeps the ids
    other = complete_batch(_items(EVENTS))
    assert not {e["$event_id"] for e in other} & set(ids)  # another batch, another prefix


def test_each_event_of_a_batch_gets_its_own_second() -> None:
    seconds = [-0.5, 0.2, 0.9, 59.9, 60.0, -0.5]  # across seconds, before 1970, and back
    events = complete_batch([{"$type": "track", "$sent_at": ts} for ts in seconds])
    assert [e["$sent_at"] for e in events] == [
        "1969-12-31T23:59:59Z",
        "1970-01-01T00:00:00Z",
        "1970-01-01T00:00:00Z",
        "1970-01-01T00:00:59Z",
        "1970-01-01T00:01:00Z",
        "1969-12-31T23:59:59Z",
    ]


def test_an_id_set_from_an_idempotency_key_is_kept() -> None:
    (event,) = complete_batch([{"$type": "signup", "$event_id": "fixed", "$sent_at": time.time()}])
    assert event["$event_id"] == "fixed" and event["$sdk_name"] == "python"


def test_the_encoders_produce_the_same_json() -> None:
    """Whichever encoder is installed, the API reads the same events."""
    events = complete_batch(_items(EVENTS))
    assert json.loads(encode({"events": events})) == json.loads(_encode_std({"events": events}))


@pytest.mark.parametrize("encoder", [_encode_std, encode], ids=["stdlib", "in use"])
@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")])
def test_every_encoder_refuses_non_finite_numbers(encoder: Any, value: float) -> None:
    with pytest.raises(ValueError):
        encoder({"events": [{"$type": "track", "x": value, "y": None}]})


@pytest.mark.parametrize("speedups", ["1", ""], ids=["stdlib", "installed"])
def test_the_encoder_in_use_can_be_switched_off(speedups: str) -> None:
    code = "import ripples._wire as w; print(w.encode.__name__)"
    env = dict(os.environ, RIPPLES_NO_SPEEDUPS=speedups)
    name = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()
    try:
        import orjson  # noqa: F401
    except ImportError:
        assert name == "_encode_std"
    else:
        assert name == ("_encode_std" if speedups else "_encode_fast")
