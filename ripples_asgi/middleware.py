"""``RipplesMiddleware``: the ASGI lifecycle translated into the core's two calls.

A pure ASGI 3 middleware, written as Starlette writes its own: Starlette's
``BaseHTTPMiddleware`` runs the endpoint in another task, which breaks
context variables and streaming. The visitor is bound around the whole app
call, so a streamed body, background tasks, sync endpoints run in a thread
pool (contexts are copied) and websocket handlers all see it. The flush is
``binding.flush_soon()``: a wake-up handed to the sender thread, so it never
blocks the loop and cannot be lost when the request task is cancelled. It is
triggered at the final response message and again, cheaply, when the app
call returns or raises (after background tasks, or when no final message
ever went out).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Awaitable

from ripples import Ripples, VisitorBinding

from ._cookies import visitor_id_from_scope
from ._types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("ripples.asgi")

_BODIES = frozenset({"http.response.body", "websocket.http.response.body"})
_ENDINGS = frozenset({"http.response.pathsend", "websocket.close"})
_SHUTDOWN_DONE = frozenset({"lifespan.shutdown.complete", "lifespan.shutdown.failed"})


class RipplesMiddleware:
    """Attach the ``_rpl_vid`` visitor to every event of a request; deliver after the response.

    A pure ASGI 3 middleware (it imports no framework): for each ``http`` and
    ``websocket`` scope it binds the visitor from the request's ``Cookie`` header (a
    malformed cookie means no visitor), and once the response is complete it wakes
    the senders that got events, without blocking the event loop. ``lifespan`` is
    passed through; when the app reports shutdown, ``await client.aclose()`` delivers
    what is pending first (whatever the backoff state: uvicorn re-raises SIGTERM next,
    so no atexit hook runs).

    Args:
        app: The ASGI application to wrap.
        client: The `ripples.Ripples` client to close at lifespan shutdown, within its
            ``shutdown_timeout`` (5 s unless configured). Default ``None``: the
            process-wide client built from ``RIPPLES_SECRET_KEY``/``RIPPLES_URL`` is
            used. Events from any client tracked during a request are delivered right
            after its response either way.

    Raises:
        TypeError: ``client`` is not a `ripples.Ripples` (it has no ``aclose``).
    """

    def __init__(self, app: ASGIApp, client: Ripples | None = None) -> None:
        if client is not None and not callable(getattr(client, "aclose", None)):
            raise TypeError(
                f"RipplesMiddleware(client=...) expects a ripples.Ripples, got {type(client)!r}"
            )
        self.app = app
        self.client = client

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind != "http" and kind != "websocket":
            if kind == "lifespan":
                await self._lifespan(scope, receive, send)
            else:
                await self.app(scope, receive, send)
            return
        # One request or websocket connection: every event tracked within gets its visitor.
        # The parser already validated the id, so the binding is made directly.
        binding = VisitorBinding(visitor_id_from_scope(scope))

        def send_then_flush(message: Message) -> Awaitable[None]:
            # Until something is tracked, the server's own awaitable is handed back:
            # no coroutine of ours per message on a request that tracks nothing.
            return _send_and_flush(send, message, binding) if binding.tracked else send(message)

        try:
            with binding:
                await self.app(scope, receive, send_then_flush)
        finally:
            if binding.tracked:
                _flush_soon(binding)

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass lifespan through; deliver what is buffered before reporting shutdown done."""
        flushed = False

        async def send_after_flush(message: Message) -> None:
            nonlocal flushed
            if not flushed and _type_of(message) in _SHUTDOWN_DONE:
                flushed = True
                await self._flush_before_exit()
            await send(message)

        await self.app(scope, receive, send_after_flush)

    async def _flush_before_exit(self) -> None:
        """``aclose`` within the client's shutdown deadline; the loop keeps running meanwhile.

        A shutdown path, so it attempts delivery even while the sender backs
        off after an outage: uvicorn re-raises SIGTERM after the lifespan
        shutdown, so no atexit hook runs after this.
        """
        client = self.client if self.client is not None else _default_client()
        if client is None:
            return
        try:
            delivered = await client.aclose()
        except Exception:
            logger.exception("ripples: delivering at lifespan shutdown failed")
            return
        if not delivered:
            logger.info(
                "ripples: not every event was delivered at lifespan shutdown (see the warning "
                "above); the rest stays buffered"
            )


async def _send_and_flush(send: Send, message: Message, binding: VisitorBinding) -> None:
    await send(message)
    if _is_last(message):
        _flush_soon(binding)


def _is_last(message: Message) -> bool:
    """True for the message that completes a response or ends a websocket."""
    try:
        kind = message["type"]
        if kind in _BODIES:
            return not message.get("more_body", False)
        return kind in _ENDINGS
    except Exception:  # a malformed message is the server's to refuse, not ours
        return False


def _type_of(message: Message) -> object:
    try:
        return message["type"]
    except Exception:
        return None


def _flush_soon(binding: VisitorBinding) -> None:
    try:
        binding.flush_soon()
    except Exception:  # documented never to raise; a request must not fail here regardless
        logger.exception("ripples: could not wake the sender; events go out at the next flush")


_default_lock = threading.Lock()
_default: list[Ripples | None] = []


def _default_client() -> Ripples | None:
    """The process-wide client built from the environment on first need, or None without a key.

    Built once and shared; a missing key is logged once and never fails the
    app's startup or shutdown.
    """
    with _default_lock:
        if not _default:
            try:
                _default.append(Ripples())
            except Exception as exc:
                _default.append(None)
                logger.warning(
                    "ripples: RipplesMiddleware has no client to flush at shutdown (%s); "
                    "pass client=your_client",
                    exc,
                )
        return _default[0]
