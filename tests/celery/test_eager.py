"""In-process (eager) tasks keep the caller's visitor and hand their events over at once."""

from __future__ import annotations

from typing import Any, Callable

import pytest
from celery import Celery

import ripples
import ripples_celery
from ripples import Ripples
from ripples.dev import DevServer

VISITOR = "3f2b8c1e-6a4d-4e8f-9b7a-1c2d3e4f5a6b"


def _eager_app(client: Ripples) -> Any:
    app = Celery("ripples_eager_tests", set_as_current=False)
    app.conf.task_always_eager = True
    handle = ripples_celery.install(app, client=client)
    assert ripples_celery.install(app, client=client).app is handle.app  # idempotent

    @app.task
    def signup(user_id: str) -> Any:
        client.signup(user_id)
        return ripples.current_visitor_id()

    return signup


def test_an_eager_task_keeps_the_callers_visitor(
    server: DevServer, make_client: Callable[..., Ripples]
) -> None:
    signup = _eager_app(make_client(flush_interval=60))
    with ripples.bind_visitor(VISITOR):
        assert signup.delay("eager-1").get() == VISITOR
    assert signup.delay("eager-2").get() is None
    # flush_soon after each task: they arrive without a flush() and despite the 60 s interval.
    (first,) = server.wait_for(1, user_id="eager-1")
    (second,) = server.wait_for(1, user_id="eager-2")
    assert first["$visitor_id"] == VISITOR
    assert "$visitor_id" not in second
    assert ripples.current_visitor_id() is None  # nothing leaked out of the task


def test_install_refuses_what_is_not_a_celery_app(make_client: Callable[..., Ripples]) -> None:
    with pytest.raises(TypeError, match=r"celery\.Celery"):
        ripples_celery.install(object(), client=make_client())  # type: ignore[arg-type]
