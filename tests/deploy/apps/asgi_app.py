"""A Starlette app under uvicorn with ``RipplesMiddleware(client=...)``.

uvicorn runs the lifespan shutdown (where the middleware calls
``client.aclose()``) and then re-raises SIGTERM, so no atexit hook runs:
the lifespan shutdown is the only chance to deliver. ``/stats`` shows the
client's ledger so a test can tell when the sender is backing off.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

import ripples
from ripples_asgi import RipplesMiddleware

handler = logging.StreamHandler(sys.stdout)
handler.setFormatter(logging.Formatter("ripples-log %(levelname)s %(message)s"))
logging.getLogger("ripples").addHandler(handler)


def on_error(exc: Exception) -> None:
    print(f"on_error {type(exc).__name__}: {exc}", flush=True)


client = ripples.Ripples(
    flush_interval=60,
    shutdown_timeout=float(os.environ.get("DEPLOY_SHUTDOWN_TIMEOUT", "5")),
    max_retries=int(os.environ.get("DEPLOY_MAX_RETRIES", "1")),
    timeout=float(os.environ.get("DEPLOY_TIMEOUT", "3")),
    on_error=on_error,
)


async def ready(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


async def signup(request: Request) -> PlainTextResponse:
    client.signup(request.query_params["user"], pid=os.getpid())
    return PlainTextResponse(str(os.getpid()))


async def stats(request: Request) -> JSONResponse:
    return JSONResponse(dataclasses.asdict(client.stats()))


app = RipplesMiddleware(
    Starlette(
        routes=[Route("/ready", ready), Route("/signup", signup), Route("/stats", stats)]
    ),
    client=client,
)
