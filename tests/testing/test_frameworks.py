"""``ripples_events`` with each framework's own test client, a visitor cookie included.

The fixture used here is the real one, loaded from the ``pytest11`` entry
point exactly as in a user's project. Each integration is skipped (with the
reason) when it cannot be imported, since they are developed alongside.
"""

from __future__ import annotations

import importlib
import importlib.util
import textwrap
from typing import Any

import pytest

from ripples import Ripples
from ripples.testing import ABSENT, EventRecorder, assert_signup, assert_tracked

VISITOR = "3f2b8c1e-6a4d-4e8f-9b7a-1c2d3e4f5a6b"
OTHER_VISITOR = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"


def _integration(module: str, name: str) -> Any:
    """``module.name`` from an integration, or a skip saying why it is not usable yet."""
    try:
        return getattr(importlib.import_module(module), name)
    except Exception as exc:  # absent or half-written
        pytest.skip(f"{module}.{name} is not importable yet: {exc!r}")


# -- Flask ---------------------------------------------------------------------


@pytest.fixture
def flask_app() -> Any:
    flask = pytest.importorskip("flask")
    FlaskRipples = _integration("ripples_flask", "Ripples")
    app = flask.Flask("shop")
    app.config.update(TESTING=True, RIPPLES_DISABLED=True)
    analytics = FlaskRipples(app)

    def register() -> Any:
        analytics.signup("u1", email="jane@example.com")
        return {"ok": True}

    def stream() -> Any:
        def body() -> Any:
            yield "a"
            analytics.track("streamed", "u1")  # runs while the server writes the body
            yield "b"

        return app.response_class(flask.stream_with_context(body()))

    def documented() -> Any:
        # The 0.1.x documented example: a client per request, explicit visitor and flush.
        client = Ripples()
        client.signup("u2", ripples_visitor_id=flask.request.cookies.get("_rpl_vid"))
        client.flush()
        return {"ok": True}

    app.add_url_rule("/register", view_func=register, methods=["POST"])
    app.add_url_rule("/stream", view_func=stream)
    app.add_url_rule("/documented", view_func=documented, methods=["POST"])
    return app


def test_flask_test_client_with_a_visitor_cookie(
    flask_app: Any, ripples_events: EventRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RIPPLES_DISABLED", "1")
    client = flask_app.test_client()
    client.set_cookie("_rpl_vid", VISITOR)
    assert client.post("/register").status_code == 200
    assert client.get("/stream").get_data(as_text=True) == "ab"
    assert client.post("/documented").status_code == 200
    client.delete_cookie("_rpl_vid")
    assert client.post("/register").status_code == 200

    assert_signup(ripples_events[:1], "u1", visitor_id=VISITOR, email="jane@example.com")
    assert_tracked(ripples_events, "streamed", user_id="u1", visitor_id=VISITOR)
    assert_signup(ripples_events, "u2", visitor_id=VISITOR)
    assert_signup(ripples_events[3:], "u1", visitor_id=ABSENT)
    assert len(ripples_events) == 4


# -- ASGI (Starlette / FastAPI) ---------------------------------------------


@pytest.fixture
def asgi_app() -> Any:
    pytest.importorskip("starlette")
    RipplesMiddleware = _integration("ripples_asgi", "RipplesMiddleware")
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, StreamingResponse
    from starlette.routing import Route

    client = Ripples(disabled=True)

    async def register(request: Request) -> JSONResponse:
        client.signup("async view")
        return JSONResponse({"ok": True})

    def sync_register(request: Request) -> JSONResponse:  # run in a thread pool
        client.signup("sync view")
        return JSONResponse({"ok": True})

    async def stream(request: Request) -> StreamingResponse:
        async def body() -> Any:
            yield b"a"
            client.track("streamed", "u1")
            yield b"b"

        return StreamingResponse(body())

    app = Starlette(
        routes=[
            Route("/register", register, methods=["POST"]),
            Route("/sync", sync_register, methods=["POST"]),
            Route("/stream", stream),
        ]
    )
    app.add_middleware(RipplesMiddleware, client=client)
    return app


@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
def test_starlette_test_client_with_a_visitor_cookie(
    asgi_app: Any, ripples_events: EventRecorder
) -> None:
    from starlette.testclient import TestClient

    with TestClient(asgi_app) as client:
        client.cookies.set("_rpl_vid", VISITOR)
        assert client.post("/register").status_code == 200
        assert client.post("/sync").status_code == 200
        assert client.get("/stream").text == "ab"
        client.cookies.clear()
        assert client.post("/register").status_code == 200

    visitors = [(e["$user_id"], e.get("$visitor_id")) for e in ripples_events]
    assert visitors == [
        ("async view", VISITOR),
        ("sync view", VISITOR),
        ("u1", VISITOR),
        ("async view", None),
    ]


@pytest.mark.anyio
async def test_httpx_async_client_in_an_async_test(
    asgi_app: Any, ripples_events: EventRecorder
) -> None:
    import httpx

    transport = httpx.ASGITransport(app=asgi_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as first:
        first.cookies.set("_rpl_vid", VISITOR)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as second:
            second.cookies.set("_rpl_vid", OTHER_VISITOR)
            assert (await first.post("/register")).status_code == 200
            assert (await second.post("/sync")).status_code == 200

    assert_signup(ripples_events, "async view", visitor_id=VISITOR)
    assert_signup(ripples_events, "sync view", visitor_id=OTHER_VISITOR)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# -- Django (pytest-django, in a subprocess: Django settings are process-wide) ----

DJANGO_SETTINGS = """
SECRET_KEY = "test-only"
DEBUG = True
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "urls"
INSTALLED_APPS = ["ripples_django"]
MIDDLEWARE = ["ripples_django.middleware.RipplesMiddleware"]
DATABASES = {}
USE_TZ = True
RIPPLES = {"DISABLED": True}
"""

DJANGO_URLS = """
from django.http import JsonResponse, StreamingHttpResponse
from django.urls import path

from ripples_django import ripples


def register(request):
    ripples.signup("u1", email="jane@example.com")
    return JsonResponse({"ok": True})


async def async_register(request):
    ripples.signup("async")
    return JsonResponse({"ok": True})


def stream(request):
    def body():
        yield "a"
        ripples.track("streamed", "u1")
        yield "b"

    return StreamingHttpResponse(body())


urlpatterns = [
    path("register/", register),
    path("async/", async_register),
    path("stream/", stream),
]
"""

DJANGO_TESTS = f"""
import pytest

from ripples.testing import ABSENT, assert_signup, assert_tracked

VISITOR = "{VISITOR}"


def test_signup_carries_the_cookie_visitor(client, ripples_events):
    client.cookies["_rpl_vid"] = VISITOR
    assert client.post("/register/").status_code == 200
    assert_signup(ripples_events, "u1", visitor_id=VISITOR, email="jane@example.com")


def test_streamed_body_keeps_the_visitor(client, ripples_events):
    client.cookies["_rpl_vid"] = VISITOR
    response = client.get("/stream/")
    assert b"".join(response.streaming_content) == b"ab"
    assert_tracked(ripples_events, "streamed", visitor_id=VISITOR)


def test_no_cookie_no_visitor_and_a_fresh_recorder(client, ripples_events):
    assert client.post("/register/").status_code == 200
    assert len(ripples_events) == 1
    assert_signup(ripples_events, "u1", visitor_id=ABSENT)


@pytest.mark.anyio
async def test_async_client_and_async_view(async_client, ripples_events):
    async_client.cookies["_rpl_vid"] = VISITOR
    assert (await async_client.post("/async/")).status_code == 200
    assert_signup(ripples_events, "async", visitor_id=VISITOR)


def test_a_wrong_expectation_fails_readably(client, ripples_events):
    client.cookies["_rpl_vid"] = VISITOR
    client.post("/register/")
    assert_signup(ripples_events, "u1", email="bob@example.com")


@pytest.fixture
def anyio_backend():
    return "asyncio"
"""


def test_django_test_client_with_pytest_django(pytester: pytest.Pytester) -> None:
    pytest.importorskip("pytest_django")
    if importlib.util.find_spec("ripples_django.middleware") is None:
        pytest.skip("ripples_django.middleware does not exist yet")
    pytester.makepyfile(
        settings=DJANGO_SETTINGS,
        urls=DJANGO_URLS,
        test_views=textwrap.dedent(DJANGO_TESTS),
    )
    pytester.makeini("[pytest]\nDJANGO_SETTINGS_MODULE = settings\npythonpath = .\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=4, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*expected a signup event with $user_id='u1', email='bob@example.com'.",
            f"*1  signup  'u1'*{VISITOR}*email='jane@example.com', not 'bob@example.com'*",
        ]
    )
