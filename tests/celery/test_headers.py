"""The visitor header: absent outside a request, untrusted and ignored when malformed."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any, Callable

import pytest
from celery import signals

import ripples
from ripples.dev import DevServer
from ripples_celery import VISITOR_HEADER, visitor_from_headers

from .conftest import Worker

VISITOR = "3f2b8c1e-6a4d-4e8f-9b7a-1c2d3e4f5a6b"
MALFORMED: list[Any] = [
    "not-a-uuid",
    VISITOR + "' OR 1=1 --",
    VISITOR * 300,
    "\x00" * 64,
    {"id": VISITOR},
    [VISITOR],
    12345,
]


@pytest.fixture
def published_headers() -> Iterator[list[dict[str, Any]]]:
    """The headers of every message this process publishes during the test."""
    seen: list[dict[str, Any]] = []

    def record(headers: Any = None, **_: Any) -> None:
        seen.append(dict(headers or {}))

    signals.after_task_publish.connect(record, weak=False)
    yield seen
    signals.after_task_publish.disconnect(record)


def test_a_task_published_outside_a_request_carries_no_visitor(
    worker_app: Any,
    worker_env: dict[str, str],
    start_worker: Callable[..., Worker],
    collector: DevServer,
    published_headers: list[dict[str, Any]],
) -> None:
    queue = worker_env["RIPPLES_TEST_QUEUE"]
    visited, anonymous = f"visited-{uuid.uuid4().hex[:8]}", f"anon-{uuid.uuid4().hex[:8]}"
    with ripples.bind_visitor(VISITOR):
        worker_app.signup.apply_async(args=[visited], queue=queue)
    worker_app.signup.apply_async(args=[anonymous], queue=queue)
    assert [headers.get(VISITOR_HEADER) for headers in published_headers] == [VISITOR, None]

    # One solo worker runs both in turn: the first task's visitor must not leak.
    worker = start_worker("solo")
    (first,) = worker.wait_stored(collector, 1, type="signup", user_id=visited)
    (second,) = worker.wait_stored(collector, 1, type="signup", user_id=anonymous)
    assert first["$visitor_id"] == VISITOR
    assert "$visitor_id" not in second


def test_malformed_visitor_headers_are_ignored(
    worker_app: Any,
    worker_env: dict[str, str],
    start_worker: Callable[..., Worker],
    collector: DevServer,
) -> None:
    queue = worker_env["RIPPLES_TEST_QUEUE"]
    users = [f"junk-{number}-{uuid.uuid4().hex[:8]}" for number in range(len(MALFORMED))]
    for user, value in zip(users, MALFORMED):
        worker_app.signup.apply_async(args=[user], queue=queue, headers={VISITOR_HEADER: value})
    worker = start_worker("threads")
    for user in users:
        (event,) = worker.wait_stored(collector, 1, type="signup", user_id=user)
        assert "$visitor_id" not in event
    assert "Traceback" not in worker.output()


@pytest.mark.parametrize("value", MALFORMED, ids=range(len(MALFORMED)))
def test_visitor_from_headers_refuses_junk(value: Any) -> None:
    assert visitor_from_headers({VISITOR_HEADER: value}) is None


def test_visitor_from_headers_normalizes_a_uuid() -> None:
    assert visitor_from_headers({VISITOR_HEADER: f' "{VISITOR.upper()}" '}) == VISITOR
    assert visitor_from_headers(None) is None
    assert visitor_from_headers({}) is None
