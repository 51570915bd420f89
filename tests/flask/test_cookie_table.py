"""The shared Cookie-header table (tests/cookie_cases.py) through the Flask extension."""

from __future__ import annotations

import pytest
from flask import Flask

from ripples.testing import EventRecorder
from ripples_flask import Ripples
from tests.cookie_cases import CASES, IDS


@pytest.fixture(scope="module")
def app() -> Flask:
    app = Flask("cookie-table")
    ext = Ripples(app, disabled=True)

    @app.get("/track")
    def track() -> str:
        ext.track("viewed", "cookie-user")
        return "ok"

    return app


@pytest.mark.parametrize(("case", "headers", "expected"), CASES, ids=IDS)
def test_the_visitor_is_read_as_in_every_framework(
    app: Flask, case: str, headers: list[str], expected: str | None
) -> None:
    client = app.test_client(use_cookies=False)  # the jar would replace our Cookie headers
    with EventRecorder() as events:
        # Werkzeug joins repeated headers with ", " as WSGI servers do.
        response = client.get("/track", headers=[("Cookie", value) for value in headers])
        response.close()
    assert response.status_code == 200
    assert [event.get("$visitor_id") for event in events] == [expected]
