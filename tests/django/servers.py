"""Run the test project under a real server (gunicorn gthread or uvicorn) as a subprocess.

Shared by the tests and ``benchmarks/bench_django.py``. Servers bind a free
loopback port; if another process takes it first, the start is retried on
another port.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import requests

from tests.ports import free_port

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent


def command(kind: str, port: int, *, threads: int = 4) -> list[str]:
    """The server command line: ``wsgi`` is gunicorn (gthread), ``asgi`` is uvicorn."""
    if kind == "wsgi":
        return [
            sys.executable, "-m", "gunicorn", "project.wsgi:application",
            "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", str(threads),
            "--worker-class", "gthread", "--chdir", str(HERE), "--log-level", "warning",
        ]  # fmt: skip
    if kind == "asgi":
        return [
            sys.executable, "-m", "uvicorn", "project.asgi:application",
            "--host", "127.0.0.1", "--port", str(port), "--app-dir", str(HERE),
            "--log-level", "warning", "--no-access-log",
        ]  # fmt: skip
    raise ValueError(f"unknown server kind {kind!r}")


@contextlib.contextmanager
def serve(kind: str, env: Mapping[str, str], *, threads: int = 4) -> Iterator[str]:
    """Start the project under ``kind`` with ``env`` added; yield its base URL, then stop it."""
    full_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "project.settings",
        "PYTHONPATH": os.pathsep.join([str(HERE), str(REPO)]),
        **env,
    }
    for _attempt in range(3):
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        with tempfile.TemporaryFile() as log:
            proc = subprocess.Popen(
                command(kind, port, threads=threads), env=full_env, stdout=log, stderr=log, cwd=HERE
            )
            try:
                if _wait_ready(proc, url):
                    yield url
                    return
            finally:
                _stop(proc)
                if proc.returncode not in (0, -15):
                    log.seek(0)
                    sys.stderr.write(log.read().decode(errors="replace")[-4000:])
    raise RuntimeError(f"{kind} server did not start; see its output above")


def _wait_ready(proc: subprocess.Popen[bytes], url: str, timeout: float = 30.0) -> bool:
    """Poll until the project answers; False if the server exited (e.g. port taken)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            if requests.get(url + "/hello/", timeout=1).status_code == 200:
                return True
        except requests.RequestException:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"server at {url} not ready after {timeout}s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
