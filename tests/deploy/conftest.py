"""The deployment matrix's one launcher: real processes, real servers, a real collector.

:func:`launch` starts a command from ``tests/deploy/apps`` in its own session
(so a signal meant for the runner never reaches it, and the whole tree can be
cleaned up), pointed at the test's ``DevServer`` through the environment.
The returned :class:`Launched` collects the merged output, waits for lines
and HTTP readiness with deadlines (``tests/polling.py``), sends signals and
waits for the exit within a bound.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest

from ripples.dev import DevServer
from tests.polling import wait_until

APPS = Path(__file__).resolve().parent / "apps"
ROOT = APPS.parents[2]
DEPLOY_KEY = "priv_deploy_tests_0123456789"
#: Extra seconds a process may take to exit beyond its own deadlines (interpreter
#: start and teardown on a loaded 2-core machine). A bound, not a timing.
MARGIN = 5.0


def _die_with_pytest() -> None:
    """Linux: the child gets SIGTERM if pytest dies, so no server outlives the run."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Launched:
    """One launched process: its output, readiness, signals and exit."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.command = command
        self.process = subprocess.Popen(
            command,
            cwd=APPS,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
            preexec_fn=_die_with_pytest,
        )
        self.pid = self.process.pid
        self._lines: list[str] = []
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.port: int | None = None
        self._signalled_output = 0

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._lock:
                self._lines.append(line)

    @property
    def output(self) -> str:
        with self._lock:
            return "".join(self._lines)

    def wait_for_line(self, pattern: str, timeout: float = 30.0) -> re.Match[str]:
        """Wait until a line matches ``pattern``; fail with the output so far (or the exit)."""
        compiled = re.compile(pattern)
        found: list[re.Match[str]] = []

        def matched() -> bool:
            match = compiled.search(self.output)
            if match:
                found.append(match)
                return True
            if self.process.poll() is not None:
                self._reader.join(5)
                match = compiled.search(self.output)
                if match:
                    found.append(match)
                    return True
                raise AssertionError(
                    f"{self.command[:3]} exited ({self.process.returncode}) before printing "
                    f"{pattern!r}:\n{self.output}"
                )
            return False

        try:
            wait_until(matched, timeout, f"{pattern!r} from {self.command[:3]}")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\noutput:\n{self.output}") from None
        return found[0]

    def wait_ready(self, port: int, path: str = "/ready", timeout: float = 30.0) -> None:
        """Wait until ``GET path`` on ``port`` answers 200 (the app is imported and serving)."""
        self.port = port

        def ready() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"{self.command[:3]} exited early:\n{self.output}")
            try:
                return self.get(path, timeout=2)[0] == 200
            except OSError:
                return False

        try:
            wait_until(ready, timeout, f"{path} on port {port}")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\noutput:\n{self.output}") from None

    def get(self, path: str, cookie: str | None = None, timeout: float = 10) -> tuple[int, str]:
        """One GET on a fresh connection; ``cookie`` is the raw Cookie header."""
        assert self.port is not None, "wait_ready() first"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request("GET", path, headers={"Cookie": cookie} if cookie else {})
            response = connection.getresponse()
            return response.status, response.read().decode()
        finally:
            connection.close()

    def get_json(self, path: str) -> Any:
        status, body = self.get(path)
        assert status == 200, body
        return json.loads(body)

    def send_signal(self, signum: int) -> None:
        self._signalled_output = len(self.output)
        self.process.send_signal(signum)

    @property
    def output_after_signal(self) -> str:
        """What the process printed after the last :meth:`send_signal`."""
        return self.output[self._signalled_output :]

    def wait_exit(self, bound: float) -> int:
        """Wait up to ``bound`` seconds for the exit; fail (and kill) past it. Returns the code."""
        try:
            code = self.process.wait(bound)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(
                f"{self.command[:3]} did not exit within {bound:.1f}s:\n{self.output}"
            ) from None
        self._reader.join(5)
        return code

    def kill(self) -> None:
        """SIGKILL the whole session (server masters and their workers)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5)

    def json_lines(self, tag: str) -> list[Any]:
        """The JSON documents the app printed on lines starting with ``tag``."""
        prefix = f"{tag} "
        return [
            json.loads(line[len(prefix) :])
            for line in self.output.splitlines()
            if line.startswith(prefix)
        ]


#: The ``launch`` fixture: ``launch(command, **env) -> Launched``.
Launcher = Callable[..., Launched]


@pytest.fixture
def launch(server: DevServer) -> Iterator[Launcher]:
    """Start ``command`` (a list; ``python`` means this interpreter) with the collector's URL.

    ``env`` adds variables; ``RIPPLES_SECRET_KEY`` and ``RIPPLES_URL`` point at
    ``server``. Every launched process is killed (whole session) at teardown.
    """
    launched: list[Launched] = []
    bin_dir = Path(sys.executable).parent

    def start(command: list[str], **env: str) -> Launched:
        if command[0] == "python":
            command = [sys.executable, *command[1:]]
        elif (bin_dir / command[0]).exists():
            command = [str(bin_dir / command[0]), *command[1:]]
        environment = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": os.pathsep.join([str(APPS), str(ROOT)]),
            "RIPPLES_SECRET_KEY": DEPLOY_KEY,
            "RIPPLES_URL": server.url,
            **env,
        }
        environment.pop("RIPPLES_DISABLED", None)
        process = Launched(command, environment)
        launched.append(process)
        return process

    yield start
    for process in launched:
        process.kill()  # also whatever the process left behind in its session
        if process.process.stdout is not None:
            process.process.stdout.close()


def assert_exactly_once(
    server: DevServer, user_ids: list[str], *, context: str = ""
) -> dict[str, dict[str, Any]]:
    """Each user's single event is stored once, none twice; returns them by user id.

    A duplicate with a new ``$event_id`` shows up as a second event of the same
    user; a batch stored twice under the same ids shows in the collector's stats.
    ``context`` (the process output) is added to the failure message.
    """
    events = server.events()
    by_user: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        by_user.setdefault(event["$user_id"], []).append(event)
    missing = [user for user in user_ids if user not in by_user]
    doubled = {user: len(found) for user, found in by_user.items() if len(found) > 1}
    assert not missing, f"lost: {missing}\n{context}"
    assert not doubled, f"duplicated: {doubled}\n{context}"
    ids = [event["$event_id"] for event in events]
    assert len(ids) == len(set(ids))
    assert server.stats["duplicates"] == 0
    return {user: by_user[user][0] for user in user_ids}
