"""Fixtures for the ASGI tests: one collector for the session, real servers running real apps.

Each app server is a uvicorn or hypercorn subprocess on a free loopback port,
configured only by the environment (``RIPPLES_SECRET_KEY``, ``RIPPLES_URL``),
as a deployed app would be. Tests tell their events apart by a unique user id.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Callable

import httpx
import pytest

from ripples.dev import DevServer
from tests.conftest import TEST_KEY
from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[2]

#: name -> (server, "module:attribute"). The placements of the middleware differ on purpose:
#: outermost; in front of a BaseHTTPMiddleware; behind one; wrapping Quart's asgi_app.
VARIANTS = {
    "starlette-uvicorn": ("uvicorn", "tests.asgi.app_starlette:outermost"),
    "starlette-hypercorn": ("hypercorn", "tests.asgi.app_starlette:before_base"),
    "fastapi-uvicorn": ("uvicorn", "tests.asgi.app_fastapi:app"),
    "quart-hypercorn": ("hypercorn", "tests.asgi.app_quart:app"),
}


def new_tag() -> str:
    """A user id no other test uses, so each test sees only its own events."""
    return f"t-{uuid.uuid4().hex[:12]}"


def new_visitor() -> str:
    return str(uuid.uuid4())


class AppServer:
    """One real ASGI server process running a test app; ``stop()`` shuts it down gracefully."""

    def __init__(self, server: str, target: str, collector_url: str) -> None:
        self.server = server
        self.target = target
        self.name = f"{server}-{uuid.uuid4().hex[:8]}"
        self.env = {
            **os.environ,
            "RIPPLES_SECRET_KEY": TEST_KEY,
            "RIPPLES_URL": collector_url,
            "ASGI_TEST_NAME": self.name,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
            "PYTHONUNBUFFERED": "1",
        }
        handle, path = tempfile.mkstemp(prefix="asgi-", suffix=".log")
        os.close(handle)
        self.log_path = Path(path)
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _command(self) -> list[str]:
        host = "127.0.0.1"
        if self.server == "uvicorn":
            return [
                sys.executable, "-m", "uvicorn", self.target, "--host", host,
                "--port", str(self.port), "--lifespan", "on", "--ws", "wsproto",
                "--no-access-log", "--log-level", "warning",
            ]  # fmt: skip
        return [
            sys.executable, "-m", "hypercorn", self.target, "--bind", f"{host}:{self.port}",
            "--log-level", "warning", "--graceful-timeout", "5",
        ]  # fmt: skip

    def start(self) -> AppServer:
        """Start on a free port and wait until it answers; retry if the port was taken meanwhile."""
        for _ in range(3):
            self.port = free_port()
            with self.log_path.open("ab") as log:
                self.process = subprocess.Popen(
                    self._command(), cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
                )
            if self._wait_ready(deadline=time.monotonic() + 30):
                return self
        raise AssertionError(f"{self.server} did not start {self.target}:\n{self.log()}")

    def _wait_ready(self, deadline: float) -> bool:
        assert self.process is not None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                if httpx.get(f"{self.url}/health", timeout=2).text == "started":
                    return True
            except httpx.HTTPError:
                pass
            time.sleep(0.05)  # polling for readiness, with a deadline
        self.process.kill()
        self.process.wait()
        return False

    def stop(self, timeout: float = 15) -> int | None:
        """SIGTERM, as a deployment would: the server runs the lifespan shutdown, then exits."""
        process = self.process
        if process is None or process.poll() is not None:
            return None if process is None else process.returncode
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        raise AssertionError(f"{self.server} did not stop within {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def close(self) -> None:
        try:
            self.stop()
        finally:
            self.log_path.unlink()


@pytest.fixture(scope="session")
def collector() -> Iterator[DevServer]:
    """One collector shared by every app server of the session."""
    with DevServer() as server:
        yield server


@pytest.fixture(scope="session", params=list(VARIANTS))
def app_server(request: pytest.FixtureRequest, collector: DevServer) -> Iterator[AppServer]:
    server, target = VARIANTS[request.param]
    app = AppServer(server, target, collector.url).start()
    yield app
    app.close()


@pytest.fixture
def start_app(collector: DevServer) -> Iterator[Callable[[str, str], AppServer]]:
    """Start a dedicated app server (for tests that stop it); stopped after the test."""
    started: list[AppServer] = []

    def start(server: str, target: str) -> AppServer:
        app = AppServer(server, target, collector.url).start()
        started.append(app)
        return app

    yield start
    for app in started:
        app.close()
