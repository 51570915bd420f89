"""Real apps under real servers: Starlette, FastAPI and Quart, under uvicorn and hypercorn.

The apps' client never sends by itself within a test (see ``_appkit.make_client``),
so every event that reaches the collector here was delivered because the
middleware woke the sender after the response: no test calls ``flush()``.
"""

from __future__ import annotations

import asyncio
import signal
import statistics
import time
from typing import Any, Callable

import httpx
import pytest

from ripples.dev import DevServer

from ._ws import websocket_session
from .conftest import VARIANTS, AppServer, new_tag, new_visitor

pytestmark = pytest.mark.servers  # real server processes: left out of test.sh --quick

REQUESTS = 200


def cookie(visitor: str, *, around: bool = False) -> dict[str, str]:
    value = f"_rpl_vid={visitor}"
    return {"Cookie": f"theme=dark; {value}; session=abc" if around else value}


def test_concurrent_requests_each_carry_exactly_their_own_visitor(
    app_server: AppServer, collector: DevServer
) -> None:
    """200 at once: distinct cookies, no cookie, junk; async and thread-pool endpoints."""
    tag = new_tag()
    expected: dict[str, str | None] = {}
    requests: list[tuple[str, dict[str, str]]] = []
    for i in range(REQUESTS):
        visitor = new_visitor()
        kind = i % 4
        if kind == 0:
            headers, expected[str(i)] = {}, None
        elif kind == 1:
            headers, expected[str(i)] = cookie(visitor), visitor
        elif kind == 2:  # upper case, among other cookies: normalised
            headers, expected[str(i)] = cookie(visitor.upper(), around=True), visitor
        else:
            headers, expected[str(i)] = cookie("not-a-uuid"), None
        path = "/track-sync" if (i // 4) % 2 else "/track"
        requests.append((f"{path}?tag={tag}&i={i}", headers))

    async def burst() -> list[int]:
        limits = httpx.Limits(max_connections=REQUESTS, max_keepalive_connections=REQUESTS)
        async with httpx.AsyncClient(base_url=app_server.url, limits=limits, timeout=30) as http:
            responses = await asyncio.gather(*(http.get(p, headers=h) for p, h in requests))
        return [r.status_code for r in responses]

    assert asyncio.run(burst()) == [200] * REQUESTS
    events = collector.wait_for(REQUESTS, user_id=tag, timeout=20)
    assert len(events) == REQUESTS
    assert sorted(int(e["i"]) for e in events) == list(range(REQUESTS))
    assert {e["via"] for e in events} == {"async", "sync"}
    wrong = [(e["i"], e.get("$visitor_id"), expected[e["i"]]) for e in events
             if e.get("$visitor_id") != expected[e["i"]]]  # fmt: skip
    assert wrong == []


def test_a_streamed_body_keeps_its_visitor_and_is_flushed_after_its_last_chunk(
    app_server: AppServer, collector: DevServer
) -> None:
    tag, visitor = new_tag(), new_visitor()
    http = httpx.Client(base_url=app_server.url, timeout=20)
    with http, http.stream("GET", f"/stream?tag={tag}", headers=cookie(visitor)) as response:
        chunks = response.iter_raw()
        assert next(chunks) == b"first\n"
        # "stream-start" is queued, but only the last chunk may wake the sender.
        assert collector.events(user_id=tag) == []
        assert http.get(f"/release?tag={tag}").text == "released"
        assert b"".join(chunks) == b"last\n"
    events = collector.wait_for(2, user_id=tag)
    assert [e["$name"] for e in events] == ["stream-start", "stream-end"]
    assert {e.get("$visitor_id") for e in events} == {visitor}


def test_a_body_iterated_in_the_thread_pool_keeps_its_visitor(
    app_server: AppServer, collector: DevServer
) -> None:
    tag, visitor = new_tag(), new_visitor()
    response = httpx.get(f"{app_server.url}/stream-sync?tag={tag}", headers=cookie(visitor))
    assert response.text == "chunk\n" * 3
    events = collector.wait_for(3, user_id=tag)
    assert sorted(e["n"] for e in events) == [0, 1, 2]
    assert {e.get("$visitor_id") for e in events} == {visitor}


def test_an_exception_in_the_app_still_delivers_what_it_tracked(
    app_server: AppServer, collector: DevServer
) -> None:
    tag, visitor = new_tag(), new_visitor()
    response = httpx.get(f"{app_server.url}/boom?tag={tag}", headers=cookie(visitor))
    assert response.status_code == 500
    [event] = collector.wait_for(1, user_id=tag)
    assert event["$name"] == "before-boom"
    assert event["$visitor_id"] == visitor


def test_a_file_response_is_flushed_too(app_server: AppServer, collector: DevServer) -> None:
    tag, visitor = new_tag(), new_visitor()
    response = httpx.get(f"{app_server.url}/file?tag={tag}", headers=cookie(visitor))
    assert response.text.startswith("A small static file")
    [event] = collector.wait_for(1, user_id=tag)
    assert event["$visitor_id"] == visitor


def test_background_tasks_see_the_visitor_and_are_flushed_when_the_app_call_returns(
    app_server: AppServer, collector: DevServer
) -> None:
    if "quart" in app_server.target:
        pytest.skip("Quart's background tasks outlive the request by design")
    tag, visitor = new_tag(), new_visitor()
    assert httpx.get(f"{app_server.url}/background?tag={tag}", headers=cookie(visitor)).text == "ok"
    [event] = collector.wait_for(1, user_id=tag)
    assert event["$name"] == "background"
    assert event["$visitor_id"] == visitor


def test_a_websocket_is_bound_for_the_connection_and_flushed_when_it_closes(
    app_server: AppServer, collector: DevServer
) -> None:
    tag, visitor = new_tag(), new_visitor()
    replies, code = websocket_session(
        app_server.port,
        f"/ws?tag={tag}",
        ["1", "2", "3", "bye"],
        [(b"cookie", f"_rpl_vid={visitor}".encode())],
    )
    assert replies == ["ok 1", "ok 2", "ok 3"]
    assert code == 1000
    events = collector.wait_for(3, user_id=tag)
    assert sorted(e["n"] for e in events) == ["1", "2", "3"]
    assert {e.get("$visitor_id") for e in events} == {visitor}


@pytest.mark.parametrize("variant", ["starlette-uvicorn", "quart-hypercorn"])
def test_the_event_loop_is_never_blocked_while_the_api_hangs(
    variant: str, start_app: Callable[[str, str], AppServer], collector: DevServer
) -> None:
    """Tracking requests on one keep-alive connection, pings on another, while the API hangs.

    The sender's POST is held by the collector for the whole window (its read
    timeout is 3 s): a flush that blocked the loop would stall the pings, and
    one awaited at the end of a request would stall the next request on the
    same connection, by seconds.
    """
    app = start_app(*VARIANTS[variant])
    tag, visitor = new_tag(), new_visitor()

    async def timed(http: httpx.AsyncClient, path: str, **kwargs: Any) -> float:
        started = time.perf_counter()
        assert (await http.get(path, **kwargs)).status_code == 200
        return time.perf_counter() - started

    async def scenario() -> tuple[list[float], list[float], list[float]]:
        async with (
            httpx.AsyncClient(base_url=app.url, timeout=30) as http,
            httpx.AsyncClient(base_url=app.url, timeout=30) as pinger,
        ):
            before = [await timed(pinger, "/ping") for _ in range(20)]
            collector.hang = True
            seen = collector.stats["requests"]
            pings: list[float] = []
            tracking_done = asyncio.Event()

            async def keep_pinging() -> None:
                while not tracking_done.is_set():
                    pings.append(await timed(pinger, "/ping"))

            pinging = asyncio.ensure_future(keep_pinging())
            tracking = []
            for i in range(REQUESTS // 5):
                path = f"/track?tag={tag}&i={i}"
                tracking.append(await timed(http, path, headers=cookie(visitor)))
            tracking_done.set()
            await pinging
            # The sender did reach the API, which holds its POST until hang is switched off.
            assert collector.stats["requests"] > seen
            return before, pings, tracking

    try:
        before, pings, tracking = asyncio.run(scenario())
    finally:
        collector.hang = False
    # Both stay in the milliseconds; the bounds are generous (a stall would last seconds).
    assert max(pings) < 1.0, (statistics.median(before), sorted(pings)[-5:])
    assert max(tracking) < 1.0, sorted(tracking)[-5:]
    # Nothing was lost: everything is delivered once the API answers again.
    assert len(collector.wait_for(REQUESTS // 5, user_id=tag, timeout=30)) == REQUESTS // 5


@pytest.mark.parametrize("variant", ["starlette-uvicorn", "fastapi-uvicorn", "quart-hypercorn"])
def test_lifespan_passes_through_and_shutdown_delivers_what_was_buffered(
    variant: str, start_app: Callable[[str, str], AppServer], collector: DevServer
) -> None:
    app = start_app(*VARIANTS[variant])  # ready only once /health says "started" (startup ran)
    # uvicorn re-raises the signal once shut down (-15); hypercorn exits with 0.
    assert app.stop() in (0, -signal.SIGTERM)
    [event] = collector.wait_for(1, user_id=f"shutdown-{app.name}")
    assert event["$name"] == "shutdown"
    assert "Traceback" not in app.log()
