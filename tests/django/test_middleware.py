"""``RipplesMiddleware`` in-process: the test client (sync and async) and direct calls."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import iscoroutinefunction
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.base import BaseHandler
from django.core.handlers.wsgi import WSGIHandler
from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.test import AsyncClient, Client, override_settings

import ripples as core
from ripples.dev import DevServer
from ripples.testing import ABSENT, EventRecorder, assert_tracked
from ripples_django import RipplesMiddleware, ripples

from .helpers import TEST_KEY, new_visitor


def test_declares_both_capabilities_and_adapts_to_the_chain() -> None:
    async def async_view(request: HttpRequest) -> HttpResponse:
        return HttpResponse()

    assert RipplesMiddleware.sync_capable and RipplesMiddleware.async_capable
    assert iscoroutinefunction(RipplesMiddleware(async_view))
    assert not iscoroutinefunction(RipplesMiddleware(lambda request: HttpResponse()))


@pytest.mark.parametrize("path", ["/track/", "/atrack/"])
def test_sync_and_async_views_get_the_cookie_visitor(
    ripples_events: EventRecorder, path: str
) -> None:
    visitor = new_visitor()
    Client().get(path, {"u": "tc"}, headers={"cookie": f"_rpl_vid={visitor.upper()}"})
    assert_tracked(ripples_events, "viewed", user_id="tc-a", visitor_id=visitor)
    assert ripples_events.signups[0]["$visitor_id"] == visitor


@pytest.mark.parametrize(
    ("handler", "other"), [(ASGIHandler, "sync_only"), (WSGIHandler, "async_only")]
)
def test_django_never_adapts_the_middleware(
    handler: type[BaseHandler], other: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Behind it sits a middleware of the other mode, so the chain switches modes.
    middleware = ["ripples_django.middleware.RipplesMiddleware", f"{__name__}.{other}"]
    with (
        override_settings(MIDDLEWARE=middleware, DEBUG=True),
        caplog.at_level(logging.DEBUG, "django.request"),
    ):
        handler()
    adapted = [r.getMessage() for r in caplog.records if "adapted" in r.getMessage()]
    assert adapted  # the other one is, so the log works
    assert not [m for m in adapted if "RipplesMiddleware" in m], adapted


def sync_only(get_response: Any) -> Any:
    return get_response


def async_only(get_response: Any) -> Any:
    async def middleware(request: HttpRequest) -> Any:
        return await get_response(request)

    return middleware


async_only.sync_capable = False  # type: ignore[attr-defined]
async_only.async_capable = True  # type: ignore[attr-defined]


def test_the_async_client_sees_the_visitor(ripples_events: EventRecorder) -> None:
    visitor = new_visitor()

    async def run() -> None:
        client = AsyncClient()
        client.cookies["_rpl_vid"] = visitor  # headers= would add a second Cookie header
        response = await client.get("/atrack/", {"u": "ac"})
        assert response.status_code == 200

    asyncio.run(run())
    assert {e["$visitor_id"] for e in ripples_events} == {visitor}


@pytest.mark.parametrize("cookie", ["junk", "", "%00", "x" * 5000, '"' + "9" * 36 + '"'])
def test_junk_cookies_are_ignored(ripples_events: EventRecorder, cookie: str) -> None:
    response = Client().get("/track/", {"u": "junk"}, headers={"cookie": f"_rpl_vid={cookie}"})
    assert response.status_code == 200
    assert_tracked(ripples_events, "viewed", user_id="junk-a", visitor_id=ABSENT)


def test_the_visitor_does_not_outlive_the_request(ripples_events: EventRecorder) -> None:
    Client().get(
        "/legacy/",
        {"u": "legacy", "v": new_visitor(), "pre": "1"},
        headers={"cookie": f"_rpl_vid={new_visitor()}"},
    )
    ripples.track("after", "after-request")  # same thread, after the response
    assert_tracked(ripples_events, "after", user_id="after-request", visitor_id=ABSENT)


def test_an_explicit_visitor_argument_wins(ripples_events: EventRecorder) -> None:
    visitor, explicit = new_visitor(), new_visitor()
    Client().get("/register/", {"u": "explicit"}, headers={"cookie": f"_rpl_vid={visitor}"})
    assert ripples_events.signups[0]["$visitor_id"] == visitor  # the documented example
    with core.bind_visitor(visitor):
        ripples.identify("explicit", ripples_visitor_id=explicit)
    assert ripples_events.identifies[0]["$visitor_id"] == explicit


def test_a_sync_stream_runs_each_chunk_with_the_visitor(ripples_events: EventRecorder) -> None:
    visitor = new_visitor()
    response = Client().get("/stream/", {"u": "st"}, headers={"cookie": f"_rpl_vid={visitor}"})
    assert ripples_events.events == []  # nothing runs before the body is consumed
    assert b"".join(response.streaming_content) == b"chunk 0\nchunk 1\nchunk 2\n"
    assert [e["$visitor_id"] for e in ripples_events] == [visitor] * 3


def test_an_async_stream_runs_each_chunk_with_the_visitor(ripples_events: EventRecorder) -> None:
    visitor = new_visitor()

    async def run() -> bytes:
        client = AsyncClient()
        client.cookies["_rpl_vid"] = visitor
        response = await client.get("/astream/", {"u": "ast"})
        return b"".join([chunk async for chunk in response.streaming_content])

    assert asyncio.run(run()) == b"chunk 0\nchunk 1\nchunk 2\n"
    assert [e["$visitor_id"] for e in ripples_events] == [visitor] * 3


def test_file_responses_are_left_to_the_server(tmp_path: Any) -> None:
    path = tmp_path / "file.txt"
    path.write_bytes(b"data")
    middleware = RipplesMiddleware(lambda request: FileResponse(path.open("rb")))
    response = middleware(HttpRequest())
    assert response.file_to_stream is not None  # still eligible for wsgi.file_wrapper
    assert b"".join(response) == b"data"
    response.close()


class _HostileRequest(HttpRequest):
    @property
    def META(self) -> Any:
        raise RuntimeError("the headers exploded")

    @META.setter
    def META(self, value: Any) -> None:
        pass


def test_nothing_the_middleware_does_can_fail_the_request(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def explode(self: Any) -> None:
        raise RuntimeError("flush_soon exploded")

    monkeypatch.setattr(core.VisitorBinding, "flush_soon", explode)

    def stream() -> Iterator[bytes]:
        ripples.track("x", "hostile")
        yield b"ok"

    with caplog.at_level(logging.WARNING, logger="ripples.django"), EventRecorder() as events:
        sync = RipplesMiddleware(lambda request: StreamingHttpResponse(stream()))
        response = sync(_HostileRequest())
        assert b"".join(response) == b"ok"
        response.close()
    assert_tracked(events, "x", user_id="hostile", visitor_id=ABSENT)
    messages = [r.getMessage() for r in caplog.records]
    assert any("visitor cookie" in m for m in messages)
    assert any("flush_soon failed" in m for m in messages)


def test_a_response_without_closers_is_flushed_at_once(caplog: pytest.LogCaptureFixture) -> None:
    class Odd(HttpResponse):
        @property
        def _resource_closers(self) -> Any:  # e.g. a future Django
            raise AttributeError("_resource_closers")

        @_resource_closers.setter
        def _resource_closers(self, value: Any) -> None:
            pass

    with caplog.at_level(logging.WARNING, logger="ripples.django"):
        response = RipplesMiddleware(lambda request: Odd("fine"))(HttpRequest())
    assert response.content == b"fine"
    assert "flushing now instead" in caplog.text


def test_events_go_out_when_the_response_is_closed() -> None:
    """With a 60 s flush interval, only the middleware's flush_soon() can send this quickly."""
    with DevServer(key=TEST_KEY) as collector:
        options = {"SECRET_KEY": TEST_KEY, "BASE_URL": collector.url, "FLUSH_INTERVAL": 60}
        with override_settings(RIPPLES=options):
            visitor = new_visitor()
            Client().get(
                "/track/", {"u": "closed", "second": "0"}, headers={"cookie": f"_rpl_vid={visitor}"}
            )
            (event,) = collector.wait_for(1, user_id="closed-a", timeout=5)
            assert event["$visitor_id"] == visitor


def test_a_stream_abandoned_midway_still_triggers_the_flush(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    monkeypatch.setattr(core.VisitorBinding, "flush_soon", lambda self: calls.append("flush"))

    def body() -> Iterator[bytes]:
        yield b"a"
        yield b"b"

    response = RipplesMiddleware(lambda request: StreamingHttpResponse(body()))(HttpRequest())
    iterator = iter(response)
    assert next(iterator) == b"a"
    response.close()  # the client went away: the server closes the response
    assert calls


def test_events_after_set_visitor_id_in_a_view_go_out_with_the_request() -> None:
    with DevServer(key=TEST_KEY) as collector:
        options = {"SECRET_KEY": TEST_KEY, "BASE_URL": collector.url, "FLUSH_INTERVAL": 60}
        with override_settings(RIPPLES=options):
            Client().get("/legacy/", {"u": "nested", "v": new_visitor()})
            collector.wait_for(1, user_id="nested-a", timeout=2)
