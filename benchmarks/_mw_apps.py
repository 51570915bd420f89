"""The apps that ``bench_mwcpu.py`` serves: one per framework, with ripples or a no-op middleware.

``BENCH_MW_VARIANT`` picks the variant in the server process:

- ``ripples``: the framework's ripples integration; ``/one`` tracks one event;
- ``loaded``: the ``noop`` app in a process that also hosts a ripples client and its
  sender thread (no integration): what merely hosting the SDK costs;
- ``noop``: the same app wrapped in a middleware of the same framework that
  does nothing (a pure ASGI wrapper; a Django middleware that calls
  ``get_response``; a Flask ``before_request``/``after_request`` pair);
  ``/one`` tracks nothing, so the paired difference on ``/one`` is everything
  the integration and one event cost the server.

Both variants answer ``/nothing`` and ``/one`` with the same 13-byte body and a
Content-Length. The client reads ``RIPPLES_SECRET_KEY`` and ``RIPPLES_URL``
(the counting collector) from the environment.

    uvicorn --factory _mw_apps:asgi_app
    gunicorn -k gthread '_mw_apps:django_app()'
    gunicorn -k gthread '_mw_apps:flask_app()'
"""

from __future__ import annotations

import os
from typing import Any

BODY = "Hello, world!"
EVENT = ("said hello", "bench-user")


def _tracking() -> bool:
    return os.environ.get("BENCH_MW_VARIANT", "noop") == "ripples"


def _host_sdk_only() -> None:
    """``loaded``: the no-op app in a process that also runs a ripples client and its
    sender thread, with no integration (``bench_mwcpu --hosting``)."""
    if os.environ.get("BENCH_MW_VARIANT") == "loaded":
        from ripples import Ripples

        client = Ripples()
        client.track("loaded", "bench-user")
        client.flush()


# -- ASGI: Starlette ----------------------------------------------------------------------
class NoopASGI:
    """A pure ASGI middleware that only passes the call on."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


def asgi_app() -> Any:
    """The Starlette app, wrapped in ``RipplesMiddleware`` or in ``NoopASGI``."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    client: Any = None
    if _tracking():
        from ripples import Ripples

        client = Ripples()

    async def nothing(request: Request) -> PlainTextResponse:
        return PlainTextResponse(BODY)

    async def one(request: Request) -> PlainTextResponse:
        if client is not None:
            client.track(*EVENT, area="bench")
        return PlainTextResponse(BODY)

    _host_sdk_only()
    app = Starlette(routes=[Route("/nothing", nothing), Route("/one", one)])
    if client is not None:
        from ripples_asgi import RipplesMiddleware

        return RipplesMiddleware(app, client=client)
    return NoopASGI(app)


# -- Django ---------------------------------------------------------------------------------
class NoopDjangoMiddleware:
    """A Django middleware that just calls ``get_response``."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        return self.get_response(request)


def _django_response() -> Any:
    from django.http import HttpResponse

    response = HttpResponse(BODY, content_type="text/plain")
    response["Content-Length"] = str(len(BODY))
    return response


def _django_nothing(request: Any) -> Any:
    return _django_response()


def _django_one(request: Any) -> Any:
    if _tracking():
        from ripples_django import ripples

        ripples.track(*EVENT, area="bench")
    return _django_response()


urlpatterns: list[Any] = []


def django_app() -> Any:
    """A one-file Django project (this module is its URLconf) as a WSGI application."""
    import django
    from django.conf import settings
    from django.core.wsgi import get_wsgi_application
    from django.urls import path

    middleware = (
        "ripples_django.RipplesMiddleware" if _tracking() else f"{__name__}.NoopDjangoMiddleware"
    )
    _host_sdk_only()
    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench-not-secret-0123456789",
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF=__name__,
        MIDDLEWARE=[middleware],
        INSTALLED_APPS=["ripples_django"] if _tracking() else [],
        USE_TZ=True,
    )
    django.setup()
    urlpatterns[:] = [path("nothing", _django_nothing), path("one", _django_one)]
    return get_wsgi_application()


# -- Flask ------------------------------------------------------------------------------------
def flask_app() -> Any:
    """The Flask app with the ``ripples_flask`` extension, or a no-op request hook pair."""
    from flask import Flask

    _host_sdk_only()
    app = Flask("bench_mw")
    ext: Any = None
    if _tracking():
        from ripples_flask import Ripples

        ext = Ripples(app)
    else:

        @app.before_request
        def before() -> None:
            return None

        @app.after_request
        def after(response: Any) -> Any:
            return response

    @app.get("/nothing")
    def nothing() -> str:
        return BODY

    @app.get("/one")
    def one() -> str:
        if ext is not None:
            ext.track(*EVENT, area="bench")
        return BODY

    return app
