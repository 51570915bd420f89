"""The FastAPI test app: ``RipplesMiddleware`` behind an ``@app.middleware("http")``.

That decorator installs a ``BaseHTTPMiddleware``; added after ours, it is the
outer one, so requests reach the middleware through its ``call_next`` task.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Iterator
from contextlib import asynccontextmanager
from typing import Callable

from fastapi import BackgroundTasks, FastAPI, Request, Response, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse, PlainTextResponse, StreamingResponse

from ripples_asgi import RipplesMiddleware

from ._appkit import FILE, NAME, gate, make_client, wait_gate

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
    async def body() -> AsyncIterator[bytes]:
        ripples.track("stream-start", tag)
        yield b"first\n"
        await wait_gate(tag)
        ripples.track("stream-end", tag)
        yield b"last\n"

    return StreamingResponse(body())


@app.get("/stream-sync")
async def stream_sync(tag: str) -> StreamingResponse:
    def body() -> Iterator[bytes]:
        for n in range(3):
            ripples.track("chunk", tag, n=n)
            yield b"chunk\n"

    return StreamingResponse(body())


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
    await websocket.accept()
    try:
        while True:
            text = await websocket.receive_text()
            if text == "bye":
                await websocket.close()
                return
            ripples.track("ws", tag, n=text)
            await websocket.send_text(f"ok {text}")
    except WebSocketDisconnect:
        pass
