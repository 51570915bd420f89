"""The Starlette test app, in two placements of the middleware.

``outermost``: ``RipplesMiddleware`` wraps the whole app (no other middleware).
``before_base``: added with ``Middleware(...)`` in front of a ``BaseHTTPMiddleware``,
whose ``call_next`` runs the endpoint in another task.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Callable

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from ripples_asgi import RipplesMiddleware

from ._appkit import FILE, NAME, chunked_body, echo_websocket, gate, gated_body, make_client

ripples = make_client()


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    app.state.started = "started"
    yield
    ripples.track("shutdown", f"shutdown-{NAME}")


async def health(request: Request) -> Response:
    return PlainTextResponse(request.app.state.started)


async def ping(request: Request) -> Response:
    return PlainTextResponse("pong")


async def track(request: Request) -> Response:
    await asyncio.sleep(0.005)  # let concurrent requests interleave
    ripples.track("hit", request.query_params["tag"], i=request.query_params["i"], via="async")
    return PlainTextResponse("ok")


def track_sync(request: Request) -> Response:
    time.sleep(0.005)  # run in the thread pool, interleaved with the others
    ripples.track("hit", request.query_params["tag"], i=request.query_params["i"], via="sync")
    return PlainTextResponse("ok")


async def stream(request: Request) -> Response:
    tag = request.query_params["tag"]

    return StreamingResponse(gated_body(ripples, tag))


async def stream_sync(request: Request) -> Response:
    tag = request.query_params["tag"]

    return StreamingResponse(chunked_body(ripples, tag))


async def release(request: Request) -> Response:
    gate(request.query_params["tag"]).set()
    return PlainTextResponse("released")


async def boom(request: Request) -> Response:
    ripples.track("before-boom", request.query_params["tag"])
    raise RuntimeError("boom (expected by the test)")


async def file(request: Request) -> Response:
    ripples.track("file", request.query_params["tag"])
    return FileResponse(FILE)


async def background(request: Request) -> Response:
    tag = request.query_params["tag"]
    return PlainTextResponse("ok", background=BackgroundTask(ripples.track, "background", tag))


async def ws(websocket: WebSocket) -> None:
    tag = websocket.query_params["tag"]
    await echo_websocket(websocket, ripples, tag, WebSocketDisconnect)


routes = [
    Route("/health", health),
    Route("/ping", ping),
    Route("/track", track),
    Route("/track-sync", track_sync),
    Route("/stream", stream),
    Route("/stream-sync", stream_sync),
    Route("/release", release),
    Route("/boom", boom),
    Route("/file", file),
    Route("/background", background),
    WebSocketRoute("/ws", ws),
]


async def passthrough(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    return await call_next(request)


outermost = RipplesMiddleware(Starlette(routes=routes, lifespan=lifespan), client=ripples)

before_base = Starlette(
    routes=routes,
    lifespan=lifespan,
    middleware=[
        Middleware(RipplesMiddleware, client=ripples),
        Middleware(BaseHTTPMiddleware, dispatch=passthrough),
    ],
)
