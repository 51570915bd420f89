"""The shared Cookie-header table (tests/cookie_cases.py) through Starlette with the middleware."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from ripples import Ripples
from ripples.testing import EventRecorder
from ripples_asgi import RipplesMiddleware
from tests.cookie_cases import CASES, IDS

client = Ripples(disabled=True)


async def track(request: Request) -> PlainTextResponse:
    client.track("viewed", "cookie-user")
    return PlainTextResponse("ok")


app = RipplesMiddleware(Starlette(routes=[Route("/track", track)]), client=client)


async def _get(headers: list[tuple[bytes, bytes]]) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        return await http.get("/track", headers=headers)


@pytest.mark.parametrize(("case", "headers", "expected"), CASES, ids=IDS)
def test_the_visitor_is_read_as_in_every_framework(
    case: str, headers: list[str], expected: str | None
) -> None:
    raw = [(b"cookie", value.encode("latin-1")) for value in headers]  # one header each
    with EventRecorder() as events:
        response = asyncio.run(_get(raw))
    assert response.status_code == 200
    assert [event.get("$visitor_id") for event in events] == [expected]
