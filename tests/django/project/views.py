"""Views that track the way apps do: shared client, a client per request, streamed bodies.

Each event's user id starts with the ``u`` query parameter, so a test can tie
every stored event back to the request (and so the cookie) that made it.
``pause`` holds the request open between two events, so concurrent requests
interleave on the server's threads or event loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse

from ripples import Ripples, set_visitor_id
from ripples_django import ripples


def _params(request: HttpRequest) -> tuple[str, float]:
    return request.GET.get("u", "anonymous"), float(request.GET.get("pause", "0"))


def hello(request: HttpRequest) -> HttpResponse:
    return HttpResponse("hello")


def track(request: HttpRequest) -> HttpResponse:
    """Two events from two different clients, with nothing but the middleware to flush them."""
    user, pause = _params(request)
    ripples.track("viewed", f"{user}-a", area="test")
    if pause:
        time.sleep(pause)
    if request.GET.get("second", "1") == "1":
        Ripples(flush_interval=60).signup(f"{user}-b")
    return HttpResponse("ok")


def legacy_set_visitor(request: HttpRequest) -> HttpResponse:
    """The 0.1.x pattern: an unscoped ``set_visitor_id`` that must not outlive the request.

    With ``pre=1`` an event is tracked first, under the middleware's binding.
    """
    user, _ = _params(request)
    if request.GET.get("pre") == "1":
        ripples.track("legacy", f"{user}-p")
    set_visitor_id(request.GET["v"])
    ripples.track("legacy", f"{user}-a")
    return HttpResponse("ok")


def stream(request: HttpRequest) -> StreamingHttpResponse:
    user, pause = _params(request)

    def body() -> Iterator[str]:
        for i in range(3):
            ripples.track("streamed", f"{user}-{i}")
            yield f"chunk {i}\n"
            if pause:
                time.sleep(pause)

    return StreamingHttpResponse(body(), content_type="text/plain")


def register(request: HttpRequest) -> JsonResponse:
    """The Django example of the SDK documentation, unchanged but for the user model."""
    user_id, _ = _params(request)  # stands in for User.objects.create_user(...)
    ripples = Ripples()
    ripples.signup(
        user_id,
        email="jane@example.com",
        name="Jane Smith",
        ripples_visitor_id=request.COOKIES.get("_rpl_vid"),
    )
    ripples.flush()
    return JsonResponse({"id": user_id})


async def atrack(request: HttpRequest) -> HttpResponse:
    user, pause = _params(request)
    ripples.track("viewed", f"{user}-a", area="test")
    await asyncio.sleep(pause)
    Ripples(flush_interval=60).signup(f"{user}-b")
    return HttpResponse("ok")


async def astream(request: HttpRequest) -> StreamingHttpResponse:
    user, pause = _params(request)

    async def body() -> AsyncIterator[str]:
        for i in range(3):
            ripples.track("streamed", f"{user}-{i}")
            yield f"chunk {i}\n"
            await asyncio.sleep(pause)

    return StreamingHttpResponse(body(), content_type="text/plain")
