"""The wrapper around ``app.wsgi_app``: one visitor binding per request, body included.

Flask's own hooks end too early (``teardown_request`` runs before the server
writes the body) or too late (``call_on_close`` runs outside the request), and
a context variable set on a threaded server's worker thread outlives the
request. So each request runs in its own copy of the server thread's context,
with the binding current: the view, every chunk of the body and ``close()``
all run in it through ``Context.run`` (in C, with no enter and exit per chunk).
What the app sets during the view and undoes in the body (Flask 2.3-3.0's
``stream_with_context`` pushes its request context when the view primes the
generator and pops it after the last chunk) is undone in the context it was
set in, and nothing leaks into the server thread. The non-blocking
``flush_soon()`` runs in ``close()``: after the last byte.
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
        context = copy_context()
        try:
            context.run(binding.__enter__)  # for the life of this copy: never exited
            result = context.run(self.wsgi_app, environ, start_response)
            file_wrapper = environ.get("wsgi.file_wrapper")
            if isinstance(file_wrapper, type) and isinstance(result, file_wrapper):
                return _hook_close(result, binding, context)
            return _BoundBody(result, binding, context)
        except BaseException:
            _flush_soon(binding)
            raise


#: What ``next()`` returns at the end of the body instead of raising StopIteration.
_END = object()


class _BoundBody:
    """The response iterable: each chunk and ``close()`` run in the request's context."""

    __slots__ = ("_binding", "_chunks", "_context", "_result")

    def __init__(self, result: Iterable[bytes], binding: VisitorBinding, context: Context) -> None:
        self._result = result
        self._binding = binding
        self._context = context
        # iter(callable, sentinel) over Context.run(next, ...): the loop over chunks stays
        # in C. Made once, so iterating again (or next() on the body) continues, not restarts.
        produce: Callable[[], Any] = partial(context.run, next, context.run(iter, result), _END)
        self._chunks: Iterator[bytes] = iter(produce, _END)

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks

    def __next__(self) -> bytes:
        return next(self._chunks)

    def close(self) -> None:
        try:
            close: Callable[[], Any] | None = getattr(self._result, "close", None)
            if close is not None:
                self._context.run(close)
        finally:
            _flush_soon(self._binding)


def _hook_close(
    result: Iterable[bytes], binding: VisitorBinding, context: Context
) -> Iterable[bytes]:
    """Keep the server's file wrapper (and its sendfile path); flush from its ``close()``."""
    original: Callable[[], Any] | None = getattr(result, "close", None)

    def close() -> None:
        try:
            if original is not None:
                context.run(original)
        finally:
            _flush_soon(binding)

    try:
        result.close = close  # type: ignore[attr-defined]
    except Exception:  # a wrapper type without a writable close: flush now instead
        _flush_soon(binding)
    return result
