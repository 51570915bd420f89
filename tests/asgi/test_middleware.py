"""The middleware driven directly, as a server would drive it, against the real collector.

For what no installed server can show (``http.response.pathsend``, an app that
raises before responding, a disconnect, lifespan ordering), the tests play the
server: they call the ASGI app with hand-made scopes and record what it sends.
The client never sends by itself (an hour's flush interval), so each delivery
below is the middleware's doing.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Callable

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

import ripples_asgi
from ripples import Ripples, set_visitor_id
from ripples.dev import DevServer
from ripples_asgi import RipplesMiddleware, middleware
from ripples_asgi._types import Message, Receive, Scope, Send

from .conftest import new_visitor

Messages = list[Message]


@pytest.fixture
def quiet_client(make_client: Callable[..., Ripples]) -> Ripples:
    return make_client(flush_interval=3600, max_queue_size=100_000, shutdown_timeout=1)


def http_scope(cookie: str | None = None, extensions: dict[str, Any] | None = None) -> Scope:
    headers = [(b"host", b"testserver")]
    if cookie is not None:
        headers.append((b"cookie", cookie.encode()))
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
        "extensions": extensions or {},
    }


async def serve(app: Any, scope: Scope, incoming: Messages | None = None) -> Messages:
    """Call ``app`` once; ``receive`` yields ``incoming``, then waits like an idle client."""
    sent: Messages = []
    pending = list(incoming or [{"type": "http.request", "body": b"", "more_body": False}])

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


async def respond(send: Send, body: bytes = b"ok") -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def test_the_visitor_is_bound_for_the_request_and_the_previous_state_restored(
    quiet_client: Ripples, server: DevServer
) -> None:
    request_visitor, stale_visitor = new_visitor(), new_visitor()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        quiet_client.track("inside", scope["path"])
        await respond(send)

    async def main() -> None:
        set_visitor_id(stale_visitor)  # e.g. left over on a worker by 0.1.x-style code
        wrapped = RipplesMiddleware(app, client=quiet_client)
        await serve(wrapped, {**http_scope(f"_rpl_vid={request_visitor}"), "path": "with"})
        await serve(wrapped, {**http_scope(), "path": "without"})
        quiet_client.track("after", "after")
        await quiet_client.aflush(timeout=5)

    asyncio.run(main())
    [with_cookie] = server.wait_for(1, user_id="with")
    [without] = server.wait_for(1, user_id="without")
    [after] = server.wait_for(1, user_id="after")
    assert with_cookie["$visitor_id"] == request_visitor
    assert "$visitor_id" not in without  # bound to None: the stale value never leaks in
    assert after["$visitor_id"] == stale_visitor  # restored on exit


@pytest.mark.parametrize(
    "final",
    [
        {"type": "http.response.body", "body": b"", "more_body": False},
        {"type": "http.response.body"},
        {"type": "http.response.pathsend", "path": "/etc/hostname"},
    ],
)
def test_the_final_message_wakes_the_sender_before_the_app_call_returns(
    final: Message, quiet_client: Ripples, server: DevServer
) -> None:
    visitor = new_visitor()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        quiet_client.track("tracked", "final")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"part", "more_body": True})
        assert server.events(user_id="final") == []  # a partial body does not flush
        await send(final)
        # Still inside the app call (where background tasks run): already delivered.
        await asyncio.to_thread(server.wait_for, 1, user_id="final", timeout=10)

    wrapped = RipplesMiddleware(app, client=quiet_client)
    asyncio.run(serve(wrapped, http_scope(f"_rpl_vid={visitor}")))
    [event] = server.events(user_id="final")
    assert event["$visitor_id"] == visitor


def test_starlette_file_response_with_pathsend_is_flushed(
    quiet_client: Ripples, server: DevServer
) -> None:
    visitor = new_visitor()

    async def download(request: Request) -> Response:
        quiet_client.track("download", "pathsend")
        return FileResponse(Path(__file__).with_name("static.txt"))

    app = RipplesMiddleware(Starlette(routes=[Route("/", download)]), client=quiet_client)
    scope = http_scope(f"_rpl_vid={visitor}", extensions={"http.response.pathsend": {}})
    sent = asyncio.run(serve(app, scope))
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.pathsend"]
    [event] = server.wait_for(1, user_id="pathsend")
    assert event["$visitor_id"] == visitor


def test_an_exception_before_any_response_propagates_unchanged_and_still_flushes(
    quiet_client: Ripples, server: DevServer
) -> None:
    error = RuntimeError("the app's own error")

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        quiet_client.track("doomed", "raises")
        raise error

    with pytest.raises(RuntimeError) as caught:
        asyncio.run(serve(RipplesMiddleware(app, client=quiet_client), http_scope()))
    assert caught.value is error
    assert len(server.wait_for(1, user_id="raises")) == 1


def test_a_client_disconnect_without_a_final_body_still_flushes(
    quiet_client: Ripples, server: DevServer
) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        quiet_client.track("cut short", "disconnect")
        while (await receive())["type"] != "http.disconnect":
            pass

    incoming: Messages = [{"type": "http.request", "body": b""}, {"type": "http.disconnect"}]
    sent = asyncio.run(serve(RipplesMiddleware(app, client=quiet_client), http_scope(), incoming))
    assert [m["type"] for m in sent] == ["http.response.start"]
    assert len(server.wait_for(1, user_id="disconnect")) == 1


def test_a_cancelled_request_still_flushes(quiet_client: Ripples, server: DevServer) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        quiet_client.track("cancelled", "cancelled")
        await asyncio.Event().wait()

    async def main() -> None:
        wrapped = RipplesMiddleware(app, client=quiet_client)
        task = asyncio.ensure_future(serve(wrapped, http_scope()))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert len(server.wait_for(1, user_id="cancelled")) == 1


def test_a_malformed_scope_or_message_never_fails_the_request() -> None:
    seen: list[Any] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["headers"])
        await send({"type": "http.response.start", "status": 200})
        await send({"more_body": False})  # no type: the server's problem, not ours
        await send({"type": "http.response.body", "more_body": "junk"})

    for headers in (None, 42, [(b"cookie",)], [("cookie", "_rpl_vid=x")], [None]):
        scope = {**http_scope(), "headers": headers}
        sent = asyncio.run(serve(RipplesMiddleware(app), scope))
        assert len(sent) == 3
    assert len(seen) == 5


def test_other_scope_types_reach_the_app_untouched() -> None:
    calls: list[tuple[Any, Any, Any]] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        calls.append((scope, receive, send))

    async def receive() -> Message:
        return {}

    async def send(message: Message) -> None:
        pass

    scope = {"type": "something-new"}
    asyncio.run(RipplesMiddleware(app)(scope, receive, send))
    assert calls == [(scope, receive, send)]


def _lifespan_app(client_for_shutdown: Callable[[], Ripples]) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.started = True
        yield
        client_for_shutdown().track("shutdown", "lifespan")

    return Starlette(lifespan=lifespan)


async def _run_lifespan(app: Any, server: DevServer) -> tuple[Messages, list[dict[str, Any]]]:
    """Drive startup then shutdown; note what the collector held when shutdown was reported."""
    incoming: asyncio.Queue[Message] = asyncio.Queue()
    sent: Messages = []
    at_shutdown_complete: list[dict[str, Any]] = []
    await incoming.put({"type": "lifespan.startup"})

    async def send(message: Message) -> None:
        sent.append(message)
        if message["type"] == "lifespan.startup.complete":
            await incoming.put({"type": "lifespan.shutdown"})
        elif message["type"] == "lifespan.shutdown.complete":
            at_shutdown_complete.extend(server.events(user_id="lifespan"))

    scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}
    await app(scope, incoming.get, send)
    return sent, at_shutdown_complete


def test_lifespan_passes_through_and_shutdown_flushes_before_reporting_complete(
    quiet_client: Ripples, server: DevServer
) -> None:
    inner = _lifespan_app(lambda: quiet_client)
    wrapped = RipplesMiddleware(inner, client=quiet_client)
    sent, delivered = asyncio.run(_run_lifespan(wrapped, server))
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert inner.state.started is True
    assert [e["$name"] for e in delivered] == ["shutdown"]


def test_the_shutdown_flush_keeps_its_deadline_and_the_loop_running_while_the_api_hangs(
    quiet_client: Ripples, server: DevServer
) -> None:
    wrapped = RipplesMiddleware(_lifespan_app(lambda: quiet_client), client=quiet_client)
    gaps: list[float] = []

    async def main() -> tuple[Messages, float]:
        async def ticker() -> None:
            last = time.perf_counter()
            while True:
                await asyncio.sleep(0.01)
                now = time.perf_counter()
                gaps.append(now - last)
                last = now

        ticking = asyncio.ensure_future(ticker())
        started = time.perf_counter()
        sent, _ = await _run_lifespan(wrapped, server)
        elapsed = time.perf_counter() - started
        ticking.cancel()
        return sent, elapsed

    server.hang = True
    try:
        sent, elapsed = asyncio.run(main())
    finally:
        server.hang = False
    assert sent[-1]["type"] == "lifespan.shutdown.complete"
    assert elapsed < 1 + 2.0  # the client's shutdown_timeout is 1 s; generous margin
    assert max(gaps) < 0.5  # the loop kept turning throughout


def test_without_a_client_the_process_wide_client_from_the_environment_is_flushed(
    server: DevServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RIPPLES_SECRET_KEY", "priv_test_0123456789abcdef")
    monkeypatch.setenv("RIPPLES_URL", server.url)
    monkeypatch.setattr(middleware, "_default", [])
    env_client = Ripples()  # the app's own client, configured the same way
    try:
        app = RipplesMiddleware(_lifespan_app(lambda: env_client))
        _, delivered = asyncio.run(_run_lifespan(app, server))
        assert [e["$name"] for e in delivered] == ["shutdown"]
        assert middleware._default_client() is middleware._default_client()  # built once, shared
    finally:
        env_client.close(timeout=2)


def test_without_a_client_or_a_key_shutdown_logs_once_and_completes(
    server: DevServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("RIPPLES_SECRET_KEY", raising=False)
    monkeypatch.setattr(middleware, "_default", [])
    for _ in range(2):
        app = RipplesMiddleware(_lifespan_app(lambda: Ripples(disabled=True)))
        with caplog.at_level(logging.WARNING, logger="ripples.asgi"):
            sent, _ = asyncio.run(_run_lifespan(app, server))
        assert sent[-1]["type"] == "lifespan.shutdown.complete"
    warnings = [r for r in caplog.records if r.name == "ripples.asgi"]
    assert len(warnings) == 1
    assert "RIPPLES_SECRET_KEY" in warnings[0].getMessage()


def test_a_wrong_client_is_refused_when_the_app_is_built() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        pass

    with pytest.raises(TypeError, match=r"expects a ripples\.Ripples"):
        RipplesMiddleware(app, client="priv_key")  # type: ignore[arg-type]


def test_the_public_surface_is_one_class_and_imports_no_framework() -> None:
    assert ripples_asgi.__all__ == ["RipplesMiddleware"]
    assert RipplesMiddleware.__module__ == "ripples_asgi"
    frameworks = ("starlette", "fastapi", "quart", "django", "flask", "werkzeug", "anyio")
    code = (
        "import sys, ripples_asgi; "
        f"print([m for m in sys.modules if m.split('.')[0] in {frameworks!r}])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
