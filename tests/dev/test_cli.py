"""``ripples dev`` as a user runs it: a real process, its printed URLs, and a clean stop."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from tests.ports import free_port
from tests.signals import with_default_sigint

from .wire import BATCH_PATH, KEY, event

ROOT = Path(__file__).resolve().parents[2]


class Running:
    """A ``ripples dev`` process whose output is read line by line with deadlines."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def close(self) -> None:
        """After the process ended: finish reading its output and close the pipe."""
        self._reader.join(10)
        assert self.process.stdout is not None
        self.process.stdout.close()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put("")

    def expect(self, pattern: str, timeout: float = 20) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                line = None
            if line is not None:
                self.output.append(line)
                found = re.search(pattern, line)
                if found:
                    return found
            if line == "" or time.monotonic() > deadline:
                raise AssertionError(f"no line matching {pattern!r} in {''.join(self.output)!r}")


@contextmanager
def ripples_dev(*args: str, cwd: Path | None = None) -> Iterator[Running]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        with_default_sigint([sys.executable, "-m", "ripples", "dev", *args]),
        cwd=cwd or ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    running = Running(process)
    try:
        yield running
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)
        running.close()


def test_it_prints_the_urls_accepts_a_batch_and_exits_cleanly_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    with ripples_dev("--port", str(port), "--db", ":memory:", cwd=tmp_path) as dev:
        url = dev.expect(r"RIPPLES_URL=(\S+)").group(1)
        inspector = dev.expect(r"Inspector: (\S+)").group(1)
        assert url == f"http://127.0.0.1:{port}"
        assert inspector == url + "/"

        sent = event("signup")
        response = requests.post(
            url + BATCH_PATH,
            json={"events": [sent]},
            headers={"Authorization": f"Bearer {KEY}"},
            timeout=10,
        )
        assert response.json() == {"accepted": 1, "duplicates": 0}
        listed = requests.get(url + "/api/events", timeout=10).json()["events"]
        assert [item["event"] for item in listed] == [sent]
        assert requests.get(inspector, timeout=10).status_code == 200

        dev.process.send_signal(signal.SIGTERM)
        assert dev.process.wait(15) == 0
        dev.expect("stopped")
    assert not (tmp_path / ".ripples").exists()


def test_ctrl_c_stops_it_too() -> None:
    with ripples_dev("--port", "0", "--db", ":memory:") as dev:
        dev.expect(r"RIPPLES_URL=")
        dev.process.send_signal(signal.SIGINT)
        assert dev.process.wait(15) == 0


def test_the_default_store_is_a_git_ignored_file_under_dot_ripples(tmp_path: Path) -> None:
    with ripples_dev("--port", "0", cwd=tmp_path) as dev:
        url = dev.expect(r"RIPPLES_URL=(\S+)").group(1)
        requests.post(
            url + BATCH_PATH,
            json={"events": [event()]},
            headers={"Authorization": f"Bearer {KEY}"},
            timeout=10,
        ).raise_for_status()
        dev.process.send_signal(signal.SIGTERM)
        assert dev.process.wait(15) == 0

    assert (tmp_path / ".ripples" / "dev.sqlite3").is_file()
    assert (tmp_path / ".ripples" / ".gitignore").read_text() == "*\n"


def test_switches_and_key_from_the_command_line() -> None:
    with ripples_dev(
        "--port",
        "0",
        "--db",
        ":memory:",
        "--key",
        "priv_cli",
        "--fail-rate",
        "1",
        "--fail-status",
        "429",
        "--retry-after",
        "3",
    ) as dev:
        url = dev.expect(r"RIPPLES_URL=(\S+)").group(1)
        dev.expect("Key required")
        response = requests.post(
            url + BATCH_PATH,
            json={"events": [event()]},
            headers={"Authorization": "Bearer priv_cli"},
            timeout=10,
        )
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "3"


def test_hang_from_the_command_line() -> None:
    with ripples_dev("--port", "0", "--db", ":memory:", "--hang") as dev:
        url = dev.expect(r"RIPPLES_URL=(\S+)").group(1)
        with pytest.raises(requests.ReadTimeout):
            requests.post(
                url + BATCH_PATH,
                json={"events": [event()]},
                headers={"Authorization": f"Bearer {KEY}"},
                timeout=0.5,
            )
        dev.process.send_signal(signal.SIGTERM)
        assert dev.process.wait(15) == 0


def test_a_port_in_use_is_reported_with_exit_status_1() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with ripples_dev("--port", str(port), "--db", ":memory:") as dev:
            assert dev.process.wait(20) == 1
            dev.expect(rf"cannot listen on 127\.0\.0\.1:{port}")


def test_bad_switch_values_are_usage_errors() -> None:
    with ripples_dev("--fail-rate", "2") as dev:
        assert dev.process.wait(20) == 2
        dev.expect("must be between 0 and 1")
