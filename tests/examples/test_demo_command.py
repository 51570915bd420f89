"""``ripples demo`` as a user runs it: a subprocess, its exit status and its report."""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest
import requests

from ripples._demo import run_demo
from tests.signals import with_default_sigint

from .helpers import clean_environment

RIPPLES = str(Path(sys.executable).with_name("ripples"))  # the installed entry point


@contextmanager
def _demo(*args: str, **popen: Any) -> Iterator[subprocess.Popen[str]]:
    """``ripples demo`` in its own process group, which is killed whatever happens.

    Nothing the demo started (gunicorn, uvicorn) can outlive the test, even when
    the test fails half-way or the demo hangs (the watchdog fires).
    """
    demo = subprocess.Popen(
        with_default_sigint([RIPPLES, "demo", *args]), text=True, env=clean_environment(),
        start_new_session=True,
        **popen,
    )  # fmt: skip
    watchdog = threading.Timer(120, _kill_group, [demo])
    watchdog.start()
    try:
        yield demo
    finally:
        watchdog.cancel()
        _kill_group(demo)
        demo.wait()
        for pipe in (demo.stdout, demo.stderr):
            if pipe is not None:
                pipe.close()


def _kill_group(process: subprocess.Popen[str]) -> None:
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def test_the_demo_plays_every_app_and_passes_its_own_check() -> None:
    with _demo("--visitors", "2", stdout=subprocess.PIPE, stderr=subprocess.PIPE) as demo:
        report, progress = demo.communicate()
    assert demo.returncode == 0, report + progress
    # 3 apps x (3x15 + 1), plus Django's 3 renewals by webhook (each posted twice, stored once)
    assert "OK: all 141 expected events arrived exactly once" in report
    for name, server in (("django", "gunicorn"), ("flask", "gunicorn"), ("fastapi", "uvicorn")):
        assert f"{name:<8} {server}" in report
    assert report.count("2 of 2 browser signups linked to their visitor") == 3
    assert report.count("EUR 29.00, GBP 29.00, USD 0.00 (3 payments, 1 refund") == 2
    assert report.count("EUR 58.00, GBP 58.00, USD 99.00 (6 payments, 1 refund") == 1
    assert "3 payments by webhook, each delivered 2 times and stored once" in report
    assert report.count("transactions: 3 of 3 users activated") == 3
    # Progress goes to stderr, as plain lines when it is not a terminal.
    assert "ripples demo: waiting for events: 141/141" in progress.splitlines()


@pytest.mark.parametrize(
    ("stop", "status"), [(signal.SIGINT, 0), (signal.SIGTERM, 128 + signal.SIGTERM)]
)
def test_keep_leaves_the_collector_and_apps_running_until_interrupted(
    stop: signal.Signals, status: int
) -> None:
    keep = ("--apps", "flask", "--visitors", "1", "--keep")
    with _demo(*keep, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as demo:
        assert demo.stdout is not None
        lines = []
        for line in demo.stdout:  # blocks until the demo prints; ends if it exits
            lines.append(line)
            if "press Ctrl-C" in line:
                break
        output = "".join(lines)
        assert "OK: all" in output, output
        inspector = next(line.split()[1] for line in lines if line.startswith("Inspector:"))
        assert requests.get(inspector, timeout=10).status_code == 200
        app = next(line.split()[2] for line in lines if line.startswith("App flask:"))
        assert requests.get(app, timeout=10).status_code == 200
        demo.send_signal(stop)  # Ctrl-C, or a supervisor: the demo stops its apps and exits
        assert demo.wait(timeout=30) == status
        with pytest.raises(requests.ConnectionError):
            requests.get(app, timeout=5)


def _demo_module(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ripples._demo", *args], capture_output=True, text=True, timeout=60
    )


def test_without_example_projects_the_demo_says_what_to_do() -> None:
    done = _demo_module("--examples", "/nonexistent/examples")
    assert done.returncode == 2
    assert "found no example projects at /nonexistent/examples" in done.stderr
    assert "pip install -e '.[all]'" in done.stderr and "--examples PATH" in done.stderr


def test_an_unknown_app_is_refused_with_the_choices() -> None:
    done = _demo_module("--apps", "rails")
    assert done.returncode == 2
    assert "unknown app(s) rails; choose from django, flask, fastapi" in done.stderr


def test_missing_framework_packages_are_named_with_the_pip_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real_find_spec = importlib.util.find_spec
    absent = {"gunicorn", "fastapi"}
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name in absent else real_find_spec(name, *a),
    )
    args = argparse.Namespace(apps="flask,fastapi", examples=None, visitors=1)
    assert run_demo(args) == 2
    message = capsys.readouterr().err
    assert "not installed: gunicorn, fastapi" in message
    assert "pip install -e '.[all]'" in message and "pip install gunicorn fastapi" in message
