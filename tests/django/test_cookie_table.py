"""The shared Cookie-header table (tests/cookie_cases.py) through Django's middleware."""

from __future__ import annotations

import pytest
from django.test import Client

from ripples.testing import EventRecorder
from tests.cookie_cases import CASES, IDS, wsgi_header


@pytest.mark.parametrize(("case", "headers", "expected"), CASES, ids=IDS)
def test_the_visitor_is_read_as_in_every_framework(
    case: str, headers: list[str], expected: str | None
) -> None:
    extra = {} if not headers else {"HTTP_COOKIE": wsgi_header(headers)}
    with EventRecorder() as events:
        response = Client().get("/track/", {"u": f"cookie-{case}", "second": "0"}, **extra)
    assert response.status_code == 200
    assert [event.get("$visitor_id") for event in events] == [expected]
