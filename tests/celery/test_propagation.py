"""The browser visitor travels with the task, and every pool stores each event exactly once."""

from __future__ import annotations

import subprocess
import sys
import uuid
from typing import Callable

import pytest

from ripples.dev import DevServer

from .conftest import REPO, Worker

VISITOR = "3f2b8c1e-6a4d-4e8f-9b7a-1c2d3e4f5a6b"


def _user(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:8]}"


def _publish_through_django(worker_env: dict[str, str], *requests: str, steps: int = 0) -> None:
    """Run the Django publisher: one view request per ``USER[=VISITOR]``."""
    published = subprocess.run(
        [sys.executable, "-m", "tests.celery.django_publisher", *requests],
        cwd=REPO,
        # Only the Django app config ("ripples_celery" in INSTALLED_APPS) installs here.
        env={**worker_env, "RIPPLES_TEST_INSTALL": "0", "RIPPLES_TEST_STEPS": str(steps)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert published.stdout.splitlines() == ["200 queued"] * len(requests), published.stderr


def test_django_view_publishes_a_task_whose_signup_keeps_the_visitor(
    worker_env: dict[str, str], start_worker: Callable[..., Worker], collector: DevServer
) -> None:
    user = _user("django")
    _publish_through_django(worker_env, f"{user}={VISITOR.upper()}")
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
    worker_env: dict[str, str],
    start_worker: Callable[..., Worker],
    collector: DevServer,
) -> None:
    visitors = [str(uuid.uuid4()) for _ in range(3)]
    users = [_user(pool) for _ in visitors]
    anonymous = _user(f"{pool}-anonymous")
    requests = [f"{user}={visitor}" for user, visitor in zip(users, visitors)]
    _publish_through_django(worker_env, *requests, anonymous, steps=3)

    worker = start_worker(pool, *extra)
    for user, visitor in zip(users, visitors):
        (signup,) = worker.wait_stored(collector, 1, type="signup", user_id=user)
        assert signup["$visitor_id"] == visitor
        steps = worker.wait_stored(collector, 3, type="track", user_id=user)
        assert sorted(event["number"] for event in steps) == [0, 1, 2]
        assert {event["$visitor_id"] for event in steps} == {visitor}
    worker.wait_stored(collector, 4, user_id=anonymous)
    assert all("$visitor_id" not in event for event in collector.events(user_id=anonymous))

    assert worker.warm_shutdown() == 0
    # After the worker drained and exited, nothing more arrived: each event is stored once.
    for user in [*users, anonymous]:
        assert len(collector.events(user_id=user)) == 4


def test_a_celery_app_setting_that_does_not_import_fails_at_startup() -> None:
    script = (
        "import django\n"
        "from django.conf import settings\n"
        "settings.configure(INSTALLED_APPS=['ripples_celery'], CELERY_APP='no_such_module.app')\n"
        "django.setup()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert "ImproperlyConfigured: settings.CELERY_APP = 'no_such_module.app'" in done.stderr
