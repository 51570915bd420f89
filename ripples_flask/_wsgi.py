"""The wrapper around ``app.wsgi_app``: one visitor binding per request, body included.

Flask's own hooks end too early (``teardown_request`` runs before the server
writes the body) or too late (``call_on_close`` runs outside the request), and
a context variable set on a threaded server's worker thread outlives the
request. So the binding is entered around the WSGI call, and the body is
produced inside a copy of the context the view left behind (the binding
current): each chunk and ``close()`` run through ``Context.run``, in C, with
no per-chunk enter and exit, and nothing the body sets leaks into the server
thread. The non-blocking ``flush_soon()`` runs in ``close()``: after the last byte.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextvars import Context, copy_context
from functools import partial
from typing import TYPE_CHECKING, Any, Callable

from ripples import VisitorBinding, visitor_id_from_cookie_headers

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

logger = logging.getLogger("ripples.flask")

def _binding_for(environ: WSGIEnvironment) -> VisitorBinding | None:
    """The request's binding, its visitor read by the core's one Cookie-header parser."""
    try:
        return VisitorBinding(visitor_id_from_cookie_headers((environ.get("HTTP_COOKIE"),)))
    except Exception:
        logger.exception("ripples: could not bind the visitor; this request is not attributed")
        return None


def _flush_soon(binding: VisitorBinding) -> None:
    try:
        binding.flush_soon()
    except Exception:
        logger.exception("ripples: could not wake the sender; events go out at the next flush")


class RipplesWSGIMiddleware:
    """Binds the visitor around the wrapped WSGI app and its response body."""

    def __init__(self, wsgi_app: WSGIApplication) -> None:
        self.wsgi_app = wsgi_app

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        binding = _binding_for(environ)
        if binding is None:
            return self.wsgi_app(environ, start_response)
        try:
            with binding:
                result = self.wsgi_app(environ, start_response)
                file_wrapper = environ.get("wsgi.file_wrapper")
                if isinstance(file_wrapper, type) and isinstance(result, file_wrapper):
                    return _hook_close(result, binding)
                return _BoundBody(result, binding, copy_context())
        except BaseException:
            _flush_soon(binding)
            raise


#: What ``next()`` returns at the end of the body instead of raising StopIteration.
_END = object()


class _BoundBody:
    """The response iterable: each chunk and ``close()`` run in the request's context."""

    __slots__ = ("_binding", "_context", "_result")

    def __init__(self, result: Iterable[bytes], binding: VisitorBinding, context: Context) -> None:
        self._result = result
        self._binding = binding
        self._context = context

    def __iter__(self) -> Iterator[bytes]:
        # iter(callable, sentinel) over Context.run(next, ...): the whole loop stays in C.
        chunks = self._context.run(iter, self._result)
        produce: Callable[[], Any] = partial(self._context.run, next, chunks, _END)
        return iter(produce, _END)

    def close(self) -> None:
        try:
            close: Callable[[], Any] | None = getattr(self._result, "close", None)
            if close is not None:
                self._context.run(close)
        finally:
            _flush_soon(self._binding)


def _hook_close(result: Iterable[bytes], binding: VisitorBinding) -> Iterable[bytes]:
    """Keep the server's file wrapper (and its sendfile path); flush from its ``close()``."""
    original: Callable[[], Any] | None = getattr(result, "close", None)

    def close() -> None:
        try:
            if original is not None:
                with binding:
                    original()
        finally:
            _flush_soon(binding)

    try:
        result.close = close  # type: ignore[attr-defined]
    except Exception:  # a wrapper type without a writable close: flush now instead
        _flush_soon(binding)
    return result
