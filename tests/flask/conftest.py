"""Fixtures for the Flask tests: one collector per module and the app under real servers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flaskapp_servers import COMMANDS, AppServer, app_env

from ripples.dev import DevServer


@pytest.fixture(scope="module")
def collector() -> Iterator[DevServer]:
    """One DevServer per module; tests keep apart by user-id prefix."""
    with DevServer(host="127.0.0.1", port=0) as dev_server:
        yield dev_server


@pytest.fixture(scope="module", params=sorted(COMMANDS))
def app_server(request: pytest.FixtureRequest, collector: DevServer) -> Iterator[AppServer]:
    """The test app with the extension, under each real server in turn."""
    server = AppServer(request.param, app_env(collector))
    yield server
    server.stop()
