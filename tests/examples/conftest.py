"""Fixtures for the example projects: a collector that requires the demo key, and apps under it.

Each app runs under its real server (gunicorn or uvicorn) as a subprocess of this
interpreter, started exactly as ``ripples demo`` starts it, on a loopback socket bound
by the test, with a throwaway database.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Callable

import pytest

from ripples._demo._apps import DEMO_KEY, Example, RunningApp, start_app, wait_until_ready
from ripples.dev import DevServer

from .helpers import BY_NAME, EXAMPLES_DIR


@pytest.fixture(scope="module")
def collector() -> Iterator[DevServer]:
    """One collector per module; tests tell their events apart by user id."""
    with DevServer(key=DEMO_KEY) as server:
        yield server


@pytest.fixture
def serve(collector: DevServer, tmp_path: Path) -> Iterator[Callable[[str], RunningApp]]:
    """Start an example by name under its real server; every app is stopped after the test."""
    running: list[RunningApp] = []

    def start(name: str) -> RunningApp:
        example: Example = BY_NAME[name]
        app = start_app(example, EXAMPLES_DIR, collector.url, tmp_path)
        running.append(app)
        wait_until_ready(app)
        return app

    yield start
    for app in running:
        app.stop()
