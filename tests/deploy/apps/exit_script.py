"""A script that tracks events against a hanging API and exits.

``python exit_script.py SCENARIO SHUTDOWN_TIMEOUT``:

- ``in-flight``: one batch is taken by the sender thread (and hangs), two
  more events stay queued, then the interpreter exits: the exit drain waits
  at most ``shutdown_timeout`` and reports all five as undelivered.
- ``close-timeout``: ``close(timeout=1)`` gives up on three events, then the
  interpreter exits: the exit drain must not wait a second ``shutdown_timeout``.

The exit hook registered here, before ``ripples`` is imported, runs after the
SDK's own drain (atexit runs last-registered first) and prints the ledger.
"""

from __future__ import annotations

import atexit
import dataclasses
import json
import logging
import sys
import time

checkpoints: dict[str, float] = {}


def _after_the_drain() -> None:
    checkpoints["drained"] = time.monotonic()
    stats = dataclasses.asdict(client.stats())
    stats["balanced"] = client.stats().balanced
    print("stats", json.dumps(stats), flush=True)
    if "closed" in checkpoints:
        print("exit-drain-seconds", checkpoints["drained"] - checkpoints["closed"], flush=True)


atexit.register(_after_the_drain)

import ripples  # noqa: E402  (after the hook above, so the SDK's drain runs first)

handler = logging.StreamHandler(sys.stdout)
handler.setFormatter(logging.Formatter("ripples-log %(levelname)s %(message)s"))
logging.getLogger("ripples").addHandler(handler)


def on_error(exc: Exception) -> None:
    print(f"on_error {type(exc).__name__}: {exc}", flush=True)


scenario, shutdown_timeout = sys.argv[1], float(sys.argv[2])
client = ripples.Ripples(
    flush_interval=60, shutdown_timeout=shutdown_timeout, timeout=60, on_error=on_error
)

if scenario == "in-flight":
    for index in range(3):
        client.track("hung", f"in-flight-{index}")
    # The sender thread takes the batch and waits on the hung API; we do not.
    print("flushed", json.dumps(client.flush(timeout=0.5)), flush=True)
    for index in range(3, 5):
        client.track("queued", f"in-flight-{index}")
    print("pending", client.stats().pending, flush=True)
elif scenario == "close-timeout":
    for index in range(3):
        client.track("hung", f"close-timeout-{index}")
    closed = client.close(timeout=1)
    checkpoints["closed"] = time.monotonic()
    print("closed", json.dumps(closed), flush=True)
else:
    raise SystemExit(f"unknown scenario {scenario!r}")
