"""Real servers for the Flask tests: the app in ``flaskapp.py`` under gunicorn and ``flask run``.

Every server is a subprocess on a free loopback port (port 0, read back from
its startup line), configured only through its environment and pointed at a
real ``DevServer``. Requests go over real sockets with ``http.client``, so
cookies and keep-alive behave as with a browser.
"""

from __future__ import annotations

import http.client
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from ripples.dev import DevServer

HERE = Path(__file__).resolve().parent
TEST_KEY = "priv_flask_tests_0123456789"
#: Long enough that only the integration's flush_soon() can deliver within a test.
SLOW_FLUSH = {"TESTAPP_RIPPLES_FLUSH_INTERVAL": "60"}
_PORT_LINE = re.compile(r"(?:Listening at: |Running on )http://127\.0\.0\.1:(\d+)")


def _gunicorn_command(app: str) -> list[str]:
    from gunicorn.config import KNOWN_SETTINGS

    command = [sys.executable, "-m", "gunicorn", "-w", "1", "-k", "gthread", "--threads", "4"]
    command += ["-b", "127.0.0.1:0", "--graceful-timeout", "2"]
    if any(setting.name == "control_socket_disable" for setting in KNOWN_SETTINGS):
        command.append("--no-control-socket")  # gunicorn 24+: no shared ~/.gunicorn socket
    return [*command, app]


def _flask_run_command(app: str) -> list[str]:
    return [sys.executable, "-m", "flask", "--app", app, "run", "--with-threads",
            "--host", "127.0.0.1", "--port", "0", "--no-reload", "--no-debugger"]


def _die_with_pytest() -> None:
    """Linux: the server gets SIGTERM if pytest is killed, so no orphan keeps running."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


COMMANDS = {"gunicorn": _gunicorn_command, "flask-run": _flask_run_command}


class AppServer:
    """One server process running a Flask app from this directory."""

    def __init__(self, kind: str, env: dict[str, str], app: str = "flaskapp:create_app()"):
        self.kind = kind
        self.output: list[str] = []
        lines: queue.Queue[str] = queue.Queue()
        self.process = subprocess.Popen(
            COMMANDS[kind](app),
            cwd=HERE,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            preexec_fn=_die_with_pytest,
        )
        self._reader = threading.Thread(target=self._read, args=(lines,), daemon=True)
        self._reader.start()
        deadline = time.monotonic() + 20
        while True:
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self.stop()
                raise RuntimeError(f"{kind} did not start:\n{''.join(self.output)}") from None
            match = _PORT_LINE.search(line)
            if match:
                self.port = int(match.group(1))
                break
        self.url = f"http://127.0.0.1:{self.port}"
        self.get("/hello", timeout=15)  # the worker has imported the app

    def _read(self, lines: queue.Queue[str]) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            lines.put(line)

    def connect(self, timeout: float = 10) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def get(
        self, path: str, cookie: str | None = None, timeout: float = 10
    ) -> tuple[int, bytes]:
        connection = self.connect(timeout)
        try:
            return request(connection, "GET", path, cookie)
        finally:
            connection.close()

    def get_json(self, path: str, cookie: str | None = None) -> Any:
        status, body = self.get(path, cookie)
        assert status == 200, body
        return json.loads(body)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self._reader.join(5)  # EOF once the process is gone
        if self.process.stdout is not None:
            self.process.stdout.close()


def request(
    connection: http.client.HTTPConnection,
    method: str,
    path: str,
    cookie: str | None = None,
    body: str | None = None,
) -> tuple[int, bytes]:
    """One request on ``connection`` (kept alive); ``cookie`` is the raw Cookie header."""
    headers = {"Cookie": cookie} if cookie is not None else {}
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    return response.status, response.read()


def app_env(collector: DevServer, **extra: str) -> dict[str, str]:
    return {"RIPPLES_SECRET_KEY": TEST_KEY, "RIPPLES_URL": collector.url, **SLOW_FLUSH, **extra}


def events_for(collector: DevServer, prefix: str) -> list[dict[str, Any]]:
    return [e for e in collector.events() if str(e.get("$user_id", "")).startswith(prefix)]


def wait_for_users(
    collector: DevServer, prefix: str, count: int, timeout: float = 10.0
) -> list[dict[str, Any]]:
    """Poll until ``count`` events of users named ``prefix...`` arrived, or the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        found = events_for(collector, prefix)
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.02)
