"""At-least-once work stores one payment, and a warm shutdown drains what is buffered."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, Callable

import ripples
from ripples import event_id_for
from ripples.dev import DevServer

from ..polling import wait_until
from .conftest import Worker


def test_a_task_retried_three_times_stores_one_payment(
    worker_app: Any,
    worker_env: dict[str, str],
    start_worker: Callable[..., Worker],
    collector: DevServer,
) -> None:
    user, key = f"retry-{uuid.uuid4().hex[:8]}", f"stripe:evt_{uuid.uuid4().hex[:8]}"
    visitor = str(uuid.uuid4())
    with ripples.bind_visitor(visitor):
        worker_app.pay_then_fail.apply_async(
            args=[user, key], queue=worker_env["RIPPLES_TEST_QUEUE"]
        )
    # Every attempt runs in a new child process, so no memory is shared between them.
    worker = start_worker("prefork", "--max-tasks-per-child=1")
    attempts = worker.wait_stored(collector, 4, type="track", user_id=user, name="attempt")
    assert sorted(event["attempt"] for event in attempts) == [0, 1, 2, 3]
    assert {event["$visitor_id"] for event in attempts} == {visitor}  # retries keep it
    assert worker.warm_shutdown() == 0
    (payment,) = collector.events(type="revenue", user_id=user)
    assert payment["$event_id"] == event_id_for("revenue", key)
    assert payment["$amount"] == 49
    assert payment["$visitor_id"] == visitor


def test_a_warm_shutdown_delivers_buffered_events(
    worker_app: Any,
    worker_env: dict[str, str],
    start_worker: Callable[..., Worker],
    collector: DevServer,
    tmp_path: Path,
) -> None:
    user = f"late-{uuid.uuid4().hex[:8]}"
    release, tracked = tmp_path / "release", tmp_path / "tracked"
    worker_app.track_later.apply_async(
        args=[user, str(release), str(tracked)], queue=worker_env["RIPPLES_TEST_QUEUE"]
    )
    worker = start_worker("prefork")
    worker.wait_stored(collector, 1, type="signup", user_id=user)  # the task has ended
    release.touch()
    wait_until(tracked.exists, timeout=30, what="the late event to be tracked")
    # Tracked after the task's flush_soon, with a 60 s flush interval: it sits in the
    # prefork child's buffer, and the child ends through os._exit (no atexit).
    assert collector.events(type="track", user_id=user) == []
    assert worker.warm_shutdown() == 0
    (late,) = collector.events(type="track", user_id=user)
    assert late["$name"] == "late"
