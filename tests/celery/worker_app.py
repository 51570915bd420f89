"""The Celery app the worker subprocesses run (``celery -A tests.celery.worker_app worker``).

Configured from the environment so the tests, the workers and the Django
publisher agree: ``RIPPLES_TEST_BROKER`` (the Redis URL), ``RIPPLES_URL`` and
``RIPPLES_SECRET_KEY`` (the DevServer), ``RIPPLES_TEST_FLUSH_INTERVAL``
(long by default: events that arrive promptly were sent by ``flush_soon``
or ``close``, not by the timer). ``RIPPLES_TEST_INSTALL=0`` leaves out the
``install()`` call, for the Django app config to do it.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any, Optional

from celery import Celery

import ripples_celery
from ripples import Ripples, current_visitor_id

app = Celery("ripples_celery_tests")
app.conf.update(
    broker_url=os.environ.get("RIPPLES_TEST_BROKER", "redis://127.0.0.1:1/0"),
    broker_connection_retry_on_startup=True,
    task_ignore_result=True,
    worker_hijack_root_logger=False,
    worker_prefetch_multiplier=1,
)

client = Ripples(
    disabled=not os.environ.get("RIPPLES_SECRET_KEY"),
    flush_interval=float(os.environ.get("RIPPLES_TEST_FLUSH_INTERVAL", "60")),
    shutdown_timeout=10,
)

if os.environ.get("RIPPLES_TEST_INSTALL", "1") == "1":
    ripples_celery.install(app, client=client)


@app.task(name="tests.signup")
def signup(user_id: str) -> Optional[str]:
    """Sign a user up; returns the visitor bound in the worker."""
    client.signup(user_id)
    return current_visitor_id()


@app.task(name="tests.track_many")
def track_many(user_id: str, count: int) -> None:
    for number in range(count):
        client.track("step", user_id, number=number)


@app.task(name="tests.pay_then_fail", bind=True, max_retries=3)
def pay_then_fail(self: Any, user_id: str, key: str) -> None:
    """Record the payment, then fail until the last retry (at-least-once work)."""
    client.track("attempt", user_id, attempt=self.request.retries)
    client.revenue(49, user_id, idempotency_key=key)
    if self.request.retries < 3:
        raise self.retry(countdown=0)


@app.task(name="tests.track_later")
def track_later(user_id: str, release: str, tracked: str) -> None:
    """Sign up now; track once more from a thread after the task ended (a late event).

    The late event is not woken by the task's ``flush_soon`` and the flush
    interval is long, so only the drain at shutdown can deliver it.
    """
    client.signup(user_id)

    def late() -> None:
        deadline = time.monotonic() + 30
        while not os.path.exists(release) and time.monotonic() < deadline:
            time.sleep(0.02)
        client.track("late", user_id)
        Path(tracked).touch()

    threading.Thread(target=late, daemon=True).start()
