"""A pure ASGI app behind RipplesMiddleware; every request tracks ten revenue events."""

from __future__ import annotations

import logging
from typing import Any

from ripples import Ripples
from ripples_asgi import RipplesMiddleware

logging.basicConfig(level=logging.WARNING)  # as an app would: the spool is logged
ripples = Ripples(
    timeout=0.5, connect_timeout=0.5, max_retries=1, flush_interval=0.2, shutdown_timeout=2
)


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    tag = scope["path"].rpartition("/")[2]
    for i in range(10):
        ripples.revenue(9.99, f"user_{tag}", transaction_id=f"{tag}_{i}")
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


app = RipplesMiddleware(_app, client=ripples)
