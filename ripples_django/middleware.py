"""``RipplesMiddleware``: Django's request lifecycle translated into two core calls.

Around the request (and around each chunk of a streamed body) the ``_rpl_vid``
visitor is bound with a ``ripples.VisitorBinding``; once the response is closed,
that is after its last byte, ``binding.flush_soon()`` wakes the background
sender. Nothing here does network I/O, blocks, or raises into the request.
Both sync- and async-capable, so Django never adapts the chain around it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Iterator
from functools import partial
from typing import Any, Callable, Union, cast

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase

from ripples import VisitorBinding, visitor_id_from_cookie_headers

logger = logging.getLogger("ripples.django")

GetResponse = Callable[[HttpRequest], HttpResponseBase]
AsyncGetResponse = Callable[[HttpRequest], Awaitable[HttpResponseBase]]


class RipplesMiddleware:
    """Attach the browser visitor to every event of a request; flush after the response.

    Add ``"ripples_django.middleware.RipplesMiddleware"`` first in ``MIDDLEWARE`` so
    events tracked by other middleware carry the visitor too. For each request it
    binds the ``_rpl_vid`` cookie's visitor (a malformed cookie means no visitor) and,
    once the response is closed (after its last byte, streamed bodies included),
    wakes the background sender: views need no ``ripples_visitor_id=`` and no
    ``flush()``. Sync and async, WSGI and ASGI. It never reads ``request.user``, does
    no network I/O and never raises into the request.

    Args:
        get_response: The next layer, as Django passes it (sync or async).
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Union[GetResponse, AsyncGetResponse]) -> None:
        self.get_response = get_response
        # Decided once (Django PR #17402): checking per request costs time.
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.async_mode:
            return self.__acall__(request)
        binding = _bind(request)
        with binding:
            response = cast(GetResponse, self.get_response)(request)
        return _after_response(response, binding)

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        binding = _bind(request)
        with binding:
            response = await cast(AsyncGetResponse, self.get_response)(request)
        return _after_response(response, binding)


def _bind(request: HttpRequest) -> VisitorBinding:
    """A binding for the request's visitor, read from the raw Cookie header by the core's
    one parser (not ``request.COOKIES``, whose duplicate rule differs); junk means none."""
    try:
        header = request.META.get("HTTP_COOKIE")
        return VisitorBinding(visitor_id_from_cookie_headers((header,)))
    except Exception:
        logger.warning("could not read the visitor cookie; continuing without it", exc_info=True)
        return VisitorBinding(None)


def _after_response(response: HttpResponseBase, binding: VisitorBinding) -> HttpResponseBase:
    """Keep the visitor bound for a streamed body and flush once the response is closed."""
    try:
        if (
            isinstance(response, StreamingHttpResponse)
            and getattr(response, "file_to_stream", None) is None
        ):
            # FileResponse bodies (file_to_stream) run no user code: left untouched
            # so servers keep using sendfile via wsgi.file_wrapper.
            content: Any = response.streaming_content
            wrap = _bound_async if response.is_async else _bound_sync
            response.streaming_content = wrap(content, binding)
        # Runs from response.close(), which servers call after the last byte (and
        # on an aborted stream); a second flush_soon() after a stream's end is free.
        closers: list[Callable[[], None]] = response._resource_closers  # type: ignore[attr-defined]
        closers.append(partial(_flush_soon, binding))
    except Exception:
        logger.warning("could not hook the response; flushing now instead", exc_info=True)
        _flush_soon(binding)
    return response


def _flush_soon(binding: VisitorBinding) -> None:
    try:
        binding.flush_soon()
    except Exception:  # the core promises not to raise; a request must not learn otherwise
        logger.warning("flush_soon failed", exc_info=True)


def _bound_sync(chunks: Iterator[bytes], binding: VisitorBinding) -> Iterator[bytes]:
    """Produce each chunk with the visitor bound; trigger the flush when the stream ends."""
    try:
        while True:
            with binding:
                try:
                    chunk = next(chunks)
                except StopIteration:
                    return
            yield chunk
    finally:
        _flush_soon(binding)


async def _bound_async(
    chunks: AsyncIterator[bytes], binding: VisitorBinding
) -> AsyncIterator[bytes]:
    """The async twin of :func:`_bound_sync`, for async generators under ASGI."""
    try:
        while True:
            with binding:
                try:
                    chunk = await chunks.__anext__()
                except StopAsyncIteration:
                    return
            yield chunk
    finally:
        _flush_soon(binding)
