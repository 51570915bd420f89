"""Helpers for the Django tests: the collector's environment, visitors, waiting for events."""

from __future__ import annotations

import time
import uuid
from typing import Any

from ripples.dev import DevServer

TEST_KEY = "priv_django_0123456789abcdef"


def server_env(collector: DevServer, **extra: str) -> dict[str, str]:
    return {"RIPPLES_URL": collector.url, "RIPPLES_SECRET_KEY": TEST_KEY, **extra}


def new_visitor() -> str:
    return str(uuid.uuid4())


def wait_for_users(
    collector: DevServer, prefix: str, count: int, timeout: float = 15.0
) -> list[dict[str, Any]]:
    """Poll until ``count`` events whose user id starts with ``prefix`` are stored."""
    deadline = time.monotonic() + timeout
    while True:
        events = [e for e in collector.events() if str(e["$user_id"]).startswith(prefix)]
        if len(events) >= count:
            return events
        if time.monotonic() > deadline:
            users = sorted(str(e["$user_id"]) for e in events)
            raise AssertionError(
                f"{len(events)} of {count} events for {prefix!r} after {timeout}s: {users[:40]}"
            )
        time.sleep(0.02)
