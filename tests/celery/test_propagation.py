"""The browser visitor travels with the task, and every pool stores each event exactly once."""

from __future__ import annotations

import subprocess
import sys
import uuid
from typing import Any, Callable

import pytest

import ripples
from ripples.dev import DevServer

from .conftest import REPO, Worker

VISITOR = "3f2b8c1e-6a4d-4e8f-9b7a-1c2d3e4f5a6b"


def _user(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:8]}"


def test_django_view_publishes_a_task_whose_signup_keeps_the_visitor(
    worker_env: dict[str, str], start_worker: Callable[..., Worker], collector: DevServer
) -> None:
    user = _user("django")
    published = subprocess.run(
        [sys.executable, "-m", "tests.celery.django_publisher", user, VISITOR.upper()],
        cwd=REPO,
        env={**worker_env, "RIPPLES_TEST_INSTALL": "0"},  # only the Django app config installs
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert published.stdout.strip() == "200 queued", published.stderr
    worker = start_worker("prefork")
    (event,) = worker.wait_stored(collector, 1, type="signup", user_id=user)
    assert event["$visitor_id"] == VISITOR


@pytest.mark.parametrize(
    ("pool", "extra"),
    [
        ("prefork", ("--max-tasks-per-child=1",)),
        ("threads", ()),
        ("solo", ()),
        ("gevent", ()),
    ],
    ids=["prefork", "threads", "solo", "gevent"],
)
def test_every_pool_stores_each_event_once_with_its_visitor(
    pool: str,
    extra: tuple[str, ...],
    worker_app: Any,
    worker_env: dict[str, str],
    start_worker: Callable[..., Worker],
    collector: DevServer,
) -> None:
    queue = worker_env["RIPPLES_TEST_QUEUE"]
    visitors = [str(uuid.uuid4()) for _ in range(3)]
    users = [_user(pool) for _ in visitors]
    for user, visitor in zip(users, visitors):
        with ripples.bind_visitor(visitor):
            worker_app.signup.apply_async(args=[user], queue=queue)
            worker_app.track_many.apply_async(args=[user, 3], queue=queue)
    anonymous = _user(f"{pool}-anonymous")
    worker_app.signup.apply_async(args=[anonymous], queue=queue)

    worker = start_worker(pool, *extra)
    for user, visitor in zip(users, visitors):
        (signup,) = worker.wait_stored(collector, 1, type="signup", user_id=user)
        assert signup["$visitor_id"] == visitor
        steps = worker.wait_stored(collector, 3, type="track", user_id=user)
        assert sorted(event["number"] for event in steps) == [0, 1, 2]
        assert {event["$visitor_id"] for event in steps} == {visitor}
    (alone,) = worker.wait_stored(collector, 1, type="signup", user_id=anonymous)
    assert "$visitor_id" not in alone

    assert worker.warm_shutdown() == 0
    # After the worker drained and exited, nothing more arrived: each event is stored once.
    for user in users:
        assert len(collector.events(user_id=user)) == 4
    assert len(collector.events(user_id=anonymous)) == 1
