"""The spool end to end: events survive outages that span a restart, a deploy or a crash.

Real processes (gunicorn, uvicorn, plain scripts) deliver to a real ``DevServer``
that is down while they run and back when they restart.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.request import urlopen

import pytest

from ripples import Ripples
from ripples._spool import Spool, spool_namespace
from ripples.dev import DevServer
from tests.ports import free_port

from ..polling import wait_until

APPS = Path(__file__).with_name("apps")
KEY = "priv_spool_0123456789abcdef"
BIN = Path(sys.executable).parent


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[DevServer]:
    """A collector with a file database, so it can be stopped (an outage) and started again."""
    with DevServer(port=0, db=str(tmp_path / "collector.db")) as server:
        yield server


def _env(collector: DevServer, spool: Path) -> dict[str, str]:
    env = dict(os.environ, RIPPLES_SECRET_KEY=KEY, RIPPLES_URL=collector.url)
    env["RIPPLES_SPOOL_DIR"] = str(spool)
    env["PYTHONPATH"] = str(APPS)
    return env


def _spooled_events(collector: DevServer, spool: Path) -> int:
    path = spool / spool_namespace(collector.url, KEY)
    if not path.is_dir():
        return 0
    return Spool(spool, path.name, 1 << 30).pending_events()


class _Server:
    """A server command running ``apps/`` on a free port, stopped with a signal."""

    def __init__(self, argv: list[str], env: dict[str, str], port: int) -> None:
        self.port = port
        self.proc = subprocess.Popen(
            argv, env=env, cwd=APPS, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        wait_until(self._ready, timeout=30, what=f"{argv[0]} to serve")

    def _ready(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(self.output())
        try:
            return urlopen(f"http://127.0.0.1:{self.port}/warmup/x", timeout=2).status == 200
        except OSError:
            return False

    def hit(self, tags: list[str]) -> None:
        def one(tag: str) -> None:
            assert urlopen(f"http://127.0.0.1:{self.port}/pay/{tag}", timeout=10).status == 200

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(one, tags))

    def terminate(self, timeout: float = 20) -> str:
        self.proc.send_signal(signal.SIGTERM)
        return self.output(timeout)

    def output(self, timeout: float = 5) -> str:
        """Everything the server printed, once it has exited (killed past ``timeout``)."""
        try:
            out, _ = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
        return out.decode(errors="replace")


def _gunicorn(env: dict[str, str]) -> _Server:
    port = free_port()
    argv = [str(BIN / "gunicorn"), "-w", "4", "-b", f"127.0.0.1:{port}", "wsgi_app:app"]
    return _Server(argv, env, port)


def _uvicorn(env: dict[str, str]) -> _Server:
    port = free_port()
    argv = [str(BIN / "uvicorn"), "--port", str(port), "--log-level", "warning", "asgi_app:app"]
    return _Server(argv, env, port)


def _revenue_for(collector: DevServer, prefix: str) -> list[dict[str, Any]]:
    return [e for e in collector.events(type="revenue") if e["$user_id"].startswith(prefix)]


@pytest.mark.parametrize("launch", [_gunicorn, _uvicorn], ids=["gunicorn", "uvicorn"])
def test_an_outage_across_a_restart_loses_nothing_and_stores_each_event_once(
    collector: DevServer, tmp_path: Path, launch: Any
) -> None:
    spool = tmp_path / "spool"
    env = _env(collector, spool)
    app = launch(env)
    collector.stop()  # the outage starts; the app keeps serving
    tags = [f"d{i}" for i in range(100)]
    app.hit(tags)  # 100 requests x 10 revenue events
    output = app.terminate()  # a deploy: uvicorn re-raises SIGTERM, so no atexit runs
    # The warm-up request's events may be spooled too (the outage began before their flush).
    assert 1000 <= _spooled_events(collector, spool) <= 1010, output
    assert "were written to the spool" in output

    collector.start()  # the API is back, and the new release starts
    app = launch(env)
    wait_until(lambda: len(_revenue_for(collector, "user_d")) == 1000, timeout=30, what="1000")
    app.terminate()
    assert collector.stats["duplicates"] == 0
    assert _spooled_events(collector, spool) == 0
    assert {e["transaction_id"] for e in _revenue_for(collector, "user_d")} == {
        f"{tag}_{i}" for tag in tags for i in range(10)
    }


def _script(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(APPS / "script.py"), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_kill_9_during_an_outage_loses_only_what_was_not_yet_spilled(
    collector: DevServer, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    env = _env(collector, spool)
    collector.stop()
    proc = _script(env, "track", "300", "k")
    wait_until(lambda: _spooled_events(collector, spool) == 300, timeout=30, what="the spill")
    proc.kill()  # SIGKILL: no exit code of ours runs
    proc.communicate(timeout=10)

    collector.start()
    recovered = _script(env, "recover")
    stats = json.loads(recovered.communicate(timeout=60)[0].strip().splitlines()[-1])
    assert stats["recovered"] == stats["delivered"] == 300
    assert len(_revenue_for(collector, "user_k")) == 300
    assert collector.stats["duplicates"] == 0


def test_two_processes_recovering_one_spool_at_once_store_each_event_once(
    collector: DevServer, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    env = _env(collector, spool)
    collector.stop()
    with Ripples(KEY, base_url=collector.url, spool_dir=spool, max_batch_size=50) as client:
        for i in range(1000):
            client.revenue(1.0, "user_two", transaction_id=f"two_{i}")
        assert client.close(timeout=0.2) is False  # the API is down: it is spooled
        # A batch the sender thread was retrying when that close() returned may still be
        # in flight; the next close spools it too.
        client.close(timeout=10)
        assert client.stats().spooled == 1000 and client.stats().pending == 0
    collector.start()
    first, second = _script(env, "recover"), _script(env, "recover")
    outputs = [p.communicate(timeout=60)[0] for p in (first, second)]
    delivered = sum(json.loads(out.strip().splitlines()[-1])["delivered"] for out in outputs)
    assert delivered == 1000
    assert len(_revenue_for(collector, "user_two")) == 1000
    assert collector.stats["duplicates"] == 0


def test_damaged_segments_lose_only_the_damaged_records(
    collector: DevServer, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    collector.stop()
    with Ripples(KEY, base_url=collector.url, spool_dir=spool, max_batch_size=10) as client:
        for i in range(30):
            client.revenue(1.0, "user_dmg", transaction_id=f"dmg_{i}")
        client.close(timeout=0.2)
    segments = sorted((spool / spool_namespace(collector.url, KEY)).glob("*.seg"))
    assert len(segments) >= 2  # chunks of at most 10 events, spilled in one or more rounds
    data = segments[0].read_bytes()
    segments[0].write_bytes(data[: len(data) - 40])  # a crash while writing: cut mid-record
    data = bytearray(segments[1].read_bytes())
    data[len(data) // 2] ^= 0xFF  # one corrupt byte in a record
    segments[1].write_bytes(bytes(data))

    collector.start()
    client = Ripples(KEY, base_url=collector.url, spool_dir=spool)
    client.flush(timeout=5)
    wait_until(lambda: client.stats().recovered == 30, timeout=30, what="the recovery")
    stats = client.stats()
    damaged = stats.dropped_by_reason.get("spool_damaged", 0)
    assert damaged == 2 and stats.delivered == 28 and stats.balanced
    assert len(_revenue_for(collector, "user_dmg")) == 28
    client.close(timeout=2)


def test_a_spool_directory_that_cannot_be_used_is_one_warning_and_memory_keeps_working(
    collector: DevServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    client = Ripples(KEY, base_url=collector.url, spool_dir=blocker / "spool", max_retries=0)
    collector.stop()
    for i in range(5):
        client.revenue(1.0, "user_mem", transaction_id=f"mem_{i}")
    assert client.close(timeout=0.3) is False
    assert "cannot be used" in caplog.text and caplog.text.count("cannot be used") == 1
    assert client.stats().pending == 5 and client.stats().spooled == 0
    collector.start()
    assert client.close(timeout=10) is True
    assert len(_revenue_for(collector, "user_mem")) == 5


def test_a_full_spool_drops_the_oldest_and_counts_them(
    collector: DevServer, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    collector.stop()
    client = Ripples(
        KEY, base_url=collector.url, spool_dir=spool, max_spool_bytes=8_000, max_batch_size=10
    )
    for i in range(200):
        client.revenue(1.0, "user_full", transaction_id=f"full_{i}")
    client.close(timeout=0.2)
    stats = client.stats()
    assert stats.dropped_by_reason.get("spool_full", 0) > 0 and stats.spooled > 0
    assert stats.balanced
    assert stats.spool_bytes <= 8_000
    assert sum(p.stat().st_size for p in spool.rglob("*.seg")) <= 8_000
    for path in spool.rglob("*"):
        assert KEY not in path.name
        if path.is_file():
            assert KEY.encode() not in path.read_bytes()
            assert oct(path.stat().st_mode & 0o777) == oct(0o600), path


def test_nothing_is_written_while_the_api_is_healthy(collector: DevServer, tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    with Ripples(KEY, base_url=collector.url, spool_dir=spool) as client:
        for i in range(50):
            client.revenue(1.0, "user_ok", transaction_id=f"ok_{i}")
        assert client.flush(timeout=10) is True
        stats = client.stats()
    assert stats.spooled == 0 and stats.delivered == 50
    assert not list(spool.rglob("*.seg"))


def test_a_hanging_api_does_not_stop_the_spill(collector: DevServer, tmp_path: Path) -> None:
    """While one batch waits for its next attempt, what is buffered is spilled anyway."""
    spool = tmp_path / "spool"
    collector.hang = True
    client = Ripples(
        KEY, base_url=collector.url, spool_dir=spool, timeout=1, connect_timeout=1,
        max_retries=1000, max_batch_size=10, flush_interval=0.1,
    )  # fmt: skip
    for i in range(50):
        client.revenue(1.0, "user_hang", transaction_id=f"hang_{i}")
    # The first batch of 10 is retried (almost) forever; the 40 behind it reach the disk.
    # Waiting on the ledger, not the directory: a spill is booked just after its write.
    wait_until(lambda: client.stats().spooled >= 40, timeout=20, what="the spill")
    assert _spooled_events(collector, spool) >= 40 and client.stats().balanced
    collector.hang = False
    client.close(timeout=10)
    recovering = Ripples(KEY, base_url=collector.url, spool_dir=spool)
    recovering.flush(timeout=5)
    wait_until(lambda: len(_revenue_for(collector, "user_hang")) == 50, timeout=30, what="all 50")
    recovering.close(timeout=5)
