"""Fixtures for the spool tests: real directories under tmp_path and real child processes."""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest

from ripples._spool import Spool

CHILD = str(Path(__file__).with_name("_child.py"))
NAMESPACE = "0123456789abcdef0123456789abcdef"


def event(i: int, size: int = 250) -> bytes:
    """A realistic encoded revenue event of about ``size`` bytes, unique by ``i``."""
    body = {
        "event": "payment",
        "user_id": f"user_{i % 97}",
        "amount": 49.0,
        "currency": "EUR",
        "$event_id": f"00000000-0000-4000-8000-{i:012d}",
        "$sent_at": "2026-11-30T12:00:00Z",
        "$sdk_name": "python",
        "pad": "",
    }
    raw = json.dumps(body, separators=(",", ":"))
    body["pad"] = "x" * max(0, size - len(raw))
    return json.dumps(body, separators=(",", ":")).encode()


def event_ids(events: list[bytes]) -> list[str]:
    return [json.loads(e)["$event_id"] for e in events]


@pytest.fixture
def spool_dir(tmp_path: Path) -> Path:
    return tmp_path / "spool"


@pytest.fixture
def make_spool(spool_dir: Path) -> Callable[..., Spool]:
    """Open a spool on ``spool_dir``; ``max_bytes`` defaults to 10 MB."""

    def make(max_bytes: int = 10_000_000, namespace: str = NAMESPACE) -> Spool:
        return Spool(spool_dir, namespace, max_bytes)

    return make


def _without_root_powers() -> None:
    """In a child run as root: drop the capabilities that ignore file permissions."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def child_command(*args: object) -> list[str]:
    return [sys.executable, CHILD, *map(str, args)]


@pytest.fixture
def run_child() -> Callable[..., dict[str, Any]]:
    """Run ``_child.py`` to completion as a process without root's file powers; its JSON report."""

    def run(*args: object, timeout: float = 60) -> dict[str, Any]:
        preexec = _without_root_powers if os.geteuid() == 0 else None
        done = subprocess.run(
            child_command(*args),
            capture_output=True,
            text=True,
            timeout=timeout,
            preexec_fn=preexec,
            stdin=subprocess.DEVNULL,
        )
        assert done.returncode == 0, done.stderr
        report: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
        return report

    return run


@pytest.fixture
def start_child() -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """Start ``_child.py`` in the background (stdin and stdout piped); killed after the test."""
    children: list[subprocess.Popen[str]] = []

    def start(*args: object) -> subprocess.Popen[str]:
        child = subprocess.Popen(
            child_command(*args),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        children.append(child)
        return child

    yield start
    for child in children:
        if child.poll() is None:
            child.kill()
        child.communicate(timeout=30)
