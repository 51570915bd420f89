"""The FastAPI test app: ``RipplesMiddleware`` behind an ``@app.middleware("http")``.

That decorator installs a ``BaseHTTPMiddleware``; added after ours, it is the
outer one, so requests reach the middleware through its ``call_next`` task.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Callable

from fastapi import BackgroundTasks, FastAPI, Request, Response, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse, PlainTextResponse, StreamingResponse

from ripples_asgi import RipplesMiddleware

from ._appkit import FILE, NAME, chunked_body, echo_websocket, gate, gated_body, make_client

ripples = make_client()


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.started = "started"
    yield
    ripples.track("shutdown", f"shutdown-{NAME}")


app = FastAPI(lifespan=lifespan)
app.add_middleware(RipplesMiddleware, client=ripples)


@app.middleware("http")
async def passthrough(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    return await call_next(request)


@app.get("/health", response_class=PlainTextResponse)
async def health(request: Request) -> str:
    return str(request.app.state.started)


@app.get("/ping", response_class=PlainTextResponse)
async def ping() -> str:
    return "pong"


@app.get("/track", response_class=PlainTextResponse)
async def track(tag: str, i: str) -> str:
    await asyncio.sleep(0.005)
    ripples.track("hit", tag, i=i, via="async")
    return "ok"


@app.get("/track-sync", response_class=PlainTextResponse)
def track_sync(tag: str, i: str) -> str:  # FastAPI runs it in the thread pool
    time.sleep(0.005)
    ripples.track("hit", tag, i=i, via="sync")
    return "ok"


@app.get("/stream")
async def stream(tag: str) -> StreamingResponse:
    return StreamingResponse(gated_body(ripples, tag))


@app.get("/stream-sync")
async def stream_sync(tag: str) -> StreamingResponse:
    return StreamingResponse(chunked_body(ripples, tag))


@app.get("/release", response_class=PlainTextResponse)
async def release(tag: str) -> str:
    gate(tag).set()
    return "released"


@app.get("/boom")
async def boom(tag: str) -> None:
    ripples.track("before-boom", tag)
    raise RuntimeError("boom (expected by the test)")


@app.get("/file")
async def file(tag: str) -> FileResponse:
    ripples.track("file", tag)
    return FileResponse(FILE)


@app.get("/background", response_class=PlainTextResponse)
async def background(tag: str, tasks: BackgroundTasks) -> str:
    tasks.add_task(ripples.track, "background", tag)
    return "ok"


@app.websocket("/ws")
async def ws(websocket: WebSocket, tag: str) -> None:
    await echo_websocket(websocket, ripples, tag, WebSocketDisconnect)
