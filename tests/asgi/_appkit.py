"""What every test app shares: its client, its stream gates and the names of its events.

The apps run in server subprocesses configured by the environment
(``RIPPLES_SECRET_KEY``, ``RIPPLES_URL`` pointing at the test's collector,
``ASGI_TEST_NAME`` naming the process).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from ripples import Ripples

#: Names this server process; its lifespan shutdown event has user id ``shutdown-<NAME>``.
NAME = os.environ.get("ASGI_TEST_NAME", "local")
#: A small file for the FileResponse endpoints.
FILE = Path(__file__).with_name("static.txt")


def make_client() -> Ripples:
    """A client that never sends by itself within a test's lifetime.

    No periodic flush (an hour) and no size-triggered flush: an event reaches
    the collector quickly only because the middleware woke the sender after
    the response, or because the lifespan shutdown flushed.
    """
    return Ripples(
        flush_interval=3600,
        max_queue_size=100_000,
        timeout=3,
        connect_timeout=1,
        max_retries=1,
        shutdown_timeout=3,
    )


_gates: dict[str, asyncio.Event] = {}


def gate(tag: str) -> asyncio.Event:
    """The event that lets the ``/stream`` response of ``tag`` send its last chunk."""
    return _gates.setdefault(tag, asyncio.Event())


async def wait_gate(tag: str) -> None:
    await asyncio.wait_for(gate(tag).wait(), 15)


async def gated_body(client: Ripples, tag: str) -> AsyncIterator[bytes]:
    """A streamed body that tracks before its first chunk and after ``/release``."""
    client.track("stream-start", tag)
    yield b"first\n"
    await wait_gate(tag)
    client.track("stream-end", tag)
    yield b"last\n"


def chunked_body(client: Ripples, tag: str) -> Iterator[bytes]:
    """A sync streamed body (iterated in a thread pool) that tracks every chunk."""
    for n in range(3):
        client.track("chunk", tag, n=n)
        yield b"chunk\n"


async def echo_websocket(websocket: Any, client: Ripples, tag: str, disconnect: type) -> None:
    """Starlette's WebSocket API (FastAPI's too): track each message until ``bye``."""
    await websocket.accept()
    try:
        while True:
            text = await websocket.receive_text()
            if text == "bye":
                await websocket.close()
                return
            client.track("ws", tag, n=text)
            await websocket.send_text(f"ok {text}")
    except disconnect:
        pass
