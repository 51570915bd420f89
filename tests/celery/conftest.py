"""A real Redis broker, real ``celery worker`` subprocesses, and one DevServer they deliver to.

``redis_server`` starts the ``redis-server`` binary (Debian package
``redis-server``) on a free loopback port in a temporary directory; without it
the tests are skipped locally and fail in CI. ``start_worker`` launches
``celery worker`` with a given pool on a queue of its own and stops it (warm
shutdown) after the test.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable, Optional

import pytest

from ripples.dev import DevServer
from tests.ports import free_port

from ..polling import wait_until

REPO = Path(__file__).resolve().parents[2]
TEST_KEY = "priv_test_celery_0123456789"


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    """A private ``redis-server`` on loopback; yields its URL, stops it after the session."""
    binary = shutil.which("redis-server")
    if binary is None:
        message = "redis-server not installed (apt-get install redis-server)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; required in CI")
        pytest.skip(message)
    with tempfile.TemporaryDirectory(prefix="ripples-redis-") as directory:
        for _attempt in range(3):
            port = free_port()
            proc = subprocess.Popen(
                [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", directory, "--logfile", "redis.log"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            try:
                wait_until(
                    lambda: _answers_ping(port) or proc.poll() is not None,  # noqa: B023
                    timeout=15,
                    what="redis-server to answer PING",
                )
                if proc.poll() is None:
                    yield f"redis://127.0.0.1:{port}/0"
                    return
            finally:
                if proc.poll() is None:
                    proc.terminate()
                    try:
                        proc.wait(10)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        proc.wait()
        raise RuntimeError("redis-server did not start (port taken three times?)")


@pytest.fixture(scope="module")
def collector() -> Iterator[DevServer]:
    """One DevServer for a module's workers; tests tell their events apart by user id."""
    with DevServer(key=TEST_KEY) as server:
        yield server


@pytest.fixture
def worker_env(redis_server: str, collector: DevServer) -> dict[str, str]:
    """The environment of the workers and publishers of one test (its own queue)."""
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
        "RIPPLES_TEST_BROKER": redis_server,
        "RIPPLES_TEST_QUEUE": f"ripples-test-{uuid.uuid4().hex[:12]}",
        "RIPPLES_URL": collector.url,
        "RIPPLES_SECRET_KEY": TEST_KEY,
    }


@pytest.fixture
def worker_app(worker_env: dict[str, str]) -> object:
    """The test app in this process, publishing to the test's broker (tasks go to its queue)."""
    from . import worker_app as module

    module.app.conf.broker_url = worker_env["RIPPLES_TEST_BROKER"]
    return module


class Worker:
    """A running ``celery worker`` subprocess (its own session, so children stop with it)."""

    def __init__(self, proc: subprocess.Popen[bytes], log: Path) -> None:
        self.proc = proc
        self.log = log

    def warm_shutdown(self, timeout: float = 30) -> int:
        """SIGTERM (finish running tasks, then exit); returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            raise AssertionError(f"worker did not stop in {timeout}s:\n{self.output()}") from None

    def wait_stored(
        self, server: DevServer, count: int, timeout: float = 30, **filters: Any
    ) -> list[dict[str, Any]]:
        """Wait for ``count`` stored events matching ``filters``; fail with this worker's log."""
        try:
            return server.wait_for(count, timeout=timeout, **filters)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- worker output ---\n{self.output()}") from None

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-6000:]


@pytest.fixture
def start_worker(worker_env: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., Worker]]:
    """Start ``celery worker --pool POOL`` on the test's queue; stopped after the test."""
    workers: list[Worker] = []

    def start(pool: str, *extra: str, env: Optional[dict[str, str]] = None) -> Worker:
        queue = worker_env["RIPPLES_TEST_QUEUE"]
        log = tmp_path / f"worker-{len(workers)}.log"
        concurrency = "1" if pool == "solo" else "2"
        command = [
            sys.executable, "-m", "celery", "-A", "tests.celery.worker_app", "worker",
            "--pool", pool, "--concurrency", concurrency, "--queues", queue,
            "--hostname", f"{queue}-{len(workers)}@localhost", "--loglevel", "INFO",
            "--without-gossip", "--without-mingle", "--without-heartbeat", *extra,
        ]  # fmt: skip
        with log.open("wb") as out:
            proc = subprocess.Popen(
                command,
                cwd=REPO,
                env={**worker_env, **(env or {})},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        worker = Worker(proc, log)
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        if worker.proc.poll() is None:
            try:
                worker.warm_shutdown()
            except AssertionError as exc:
                sys.stderr.write(str(exc))
