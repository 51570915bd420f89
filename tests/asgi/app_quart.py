"""The Quart test app: ``RipplesMiddleware`` wraps ``app.asgi_app``, as Quart documents."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

from quart import Quart, Response, request, send_file, websocket

from ripples_asgi import RipplesMiddleware

from ._appkit import FILE, NAME, chunked_body, gate, gated_body, make_client

ripples = make_client()
app = Quart(__name__)
app.asgi_app = RipplesMiddleware(app.asgi_app, client=ripples)  # type: ignore[assignment,arg-type]
state = {"started": "not started"}


@app.before_serving
async def startup() -> None:
    state["started"] = "started"


@app.after_serving
async def shutdown() -> None:
    ripples.track("shutdown", f"shutdown-{NAME}")


@app.get("/health")
async def health() -> str:
    return state["started"]


@app.get("/ping")
async def ping() -> str:
    return "pong"


@app.get("/track")
async def track() -> str:
    await asyncio.sleep(0.005)
    ripples.track("hit", request.args["tag"], i=request.args["i"], via="async")
    return "ok"


@app.get("/track-sync")
def track_sync() -> str:  # Quart runs it in an executor with a copied context
    time.sleep(0.005)
    ripples.track("hit", request.args["tag"], i=request.args["i"], via="sync")
    return "ok"


@app.get("/stream")
async def stream() -> Response:
    tag = request.args["tag"]

    return Response(gated_body(ripples, tag))


@app.get("/stream-sync")
def stream_sync() -> Iterator[bytes]:  # Quart iterates it in an executor
    tag = request.args["tag"]

    return chunked_body(ripples, tag)


@app.get("/release")
async def release() -> str:
    gate(request.args["tag"]).set()
    return "released"


@app.get("/boom")
async def boom() -> str:
    ripples.track("before-boom", request.args["tag"])
    raise RuntimeError("boom (expected by the test)")


@app.get("/file")
async def file() -> Response:
    ripples.track("file", request.args["tag"])
    return await send_file(FILE)


@app.websocket("/ws")
async def ws() -> None:
    tag = websocket.args["tag"]
    await websocket.accept()
    while True:
        text = str(await websocket.receive())
        if text == "bye":
            await websocket.close(1000)
            return
        ripples.track("ws", tag, n=text)
        await websocket.send(f"ok {text}")
