"""Threads, coroutines, fork, a client per request: shared state never leaks."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Callable

import pytest

import ripples
from ripples import Ripples
from ripples.dev import DevServer

from ..conftest import TEST_KEY


def _run_threads(work: Callable[[int], None], count: int) -> None:
    """Run ``work(0)`` ... ``work(count - 1)`` in as many threads, and wait for them all."""
    threads = [threading.Thread(target=work, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_eight_threads_on_one_client(server: DevServer, client: Ripples) -> None:
    visitors = [str(uuid.uuid4()) for _ in range(8)]

    def work(n: int) -> None:
        with ripples.bind_visitor(visitors[n]):
            for i in range(500):
                client.track("did", f"user{n}", seq=i)

    _run_threads(work, 8)
    assert client.flush(timeout=30)
    events = server.wait_for(4000, timeout=30)
    assert len({e["$event_id"] for e in events}) == 4000
    for event in events:
        assert event["$visitor_id"] == visitors[int(event["$user_id"][4:])]


def test_visitor_binding_is_scoped_and_restored() -> None:
    outer, inner = str(uuid.uuid4()), str(uuid.uuid4())
    from ripples._context import current_binding

    assert current_binding() is None
    with ripples.bind_visitor(outer) as binding:
        assert current_binding() is binding
        with ripples.bind_visitor(inner):
            assert current_binding().visitor_id == inner  # type: ignore[union-attr]
        assert current_binding() is binding
    assert current_binding() is None


def test_bindings_never_cross_threads() -> None:
    from ripples._context import current_binding

    seen: list[object] = []
    with ripples.bind_visitor(str(uuid.uuid4())):
        thread = threading.Thread(target=lambda: seen.append(current_binding()))
        thread.start()
        thread.join()
    assert seen == [None]


def test_coroutines_each_see_their_own_visitor(server: DevServer, client: Ripples) -> None:
    visitors = [str(uuid.uuid4()) for _ in range(50)]

    async def request(n: int) -> None:
        ripples.set_visitor_id(visitors[n])  # the 0.1.x style, unscoped within the task
        await asyncio.sleep(0)
        client.track("async", f"user{n}")

    async def main() -> None:
        await asyncio.gather(*(request(n) for n in range(50)))
        assert await client.aflush(timeout=20)

    asyncio.run(main())
    events = server.wait_for(50)
    assert all(e["$visitor_id"] == visitors[int(e["$user_id"][4:])] for e in events)


def test_binding_counts_events_and_flush_soon_wakes_the_sender(
    server: DevServer, make_client: Callable[..., Ripples]
) -> None:
    client = make_client(flush_interval=600)
    with ripples.bind_visitor(None) as idle:
        pass
    assert not idle.tracked
    idle.flush_soon()  # nothing tracked: a no-op
    with ripples.bind_visitor(str(uuid.uuid4())) as binding:
        client.signup("u1")
    assert binding.tracked
    binding.flush_soon()
    assert server.wait_for(1)[0]["$visitor_id"] == binding.visitor_id


def test_aflush_does_not_block_the_event_loop(
    server: DevServer, make_client: Callable[..., Ripples]
) -> None:
    server.hang = True
    client = make_client(timeout=1, connect_timeout=1, max_retries=0)
    gaps: list[float] = []

    async def ticker(stop: asyncio.Event) -> None:
        last = time.perf_counter()
        while not stop.is_set():
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    async def main() -> bool:
        stop = asyncio.Event()
        task = asyncio.create_task(ticker(stop))
        client.track("x", "u1")
        ok = await client.aflush(timeout=0.8)
        stop.set()
        await task
        return ok

    assert asyncio.run(main()) is False
    assert gaps and max(gaps) < 0.3  # the loop kept ticking while the API hung
    server.hang = False


def _sender_threads() -> int:
    # By name: the collector's connection threads come and go with the sender's requests.
    return sum(thread.name == "ripples-sender" for thread in threading.enumerate())


def test_a_client_per_request_shares_one_sender(server: DevServer) -> None:
    baseline = _sender_threads()
    for i in range(300):
        client = Ripples(TEST_KEY, base_url=server.url)
        client.track("request", f"u{i}")
    assert _sender_threads() <= baseline + 1  # one sender thread, not one per client
    assert Ripples(TEST_KEY, base_url=server.url).flush(timeout=10)
    assert len(server.wait_for(300)) == 300
    Ripples(TEST_KEY, base_url=server.url).close()


def run_script(
    code: str, server: DevServer, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RIPPLES_SECRET_KEY": TEST_KEY, "RIPPLES_URL": server.url}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_fork_child_gets_a_working_client_and_never_resends(server: DevServer) -> None:
    result = run_script(
        """
        import os
        from ripples import Ripples
        client = Ripples(flush_interval=600)
        for i in range(5):
            client.track("parent", "u1", seq=i)
        pid = os.fork()
        if pid == 0:
            client.track("child", "u2")
            ok = client.flush(timeout=10)
            os._exit(0 if ok else 3)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0, status
        assert client.flush(timeout=10)
        """,
        server,
    )
    assert result.returncode == 0, result.stderr
    events = server.wait_for(6)
    assert sorted(e["$name"] for e in events) == ["child"] + ["parent"] * 5
    assert server.stats["duplicates"] == 0


def test_events_are_sent_at_exit(server: DevServer) -> None:
    result = run_script(
        """
        from ripples import Ripples
        client = Ripples(flush_interval=600)
        for i in range(25):
            client.track("exit", "u1", seq=i)
        """,
        server,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "can't create new thread" not in result.stderr
    assert sorted(e["seq"] for e in server.wait_for(25)) == list(range(25))


def test_a_hanging_api_cannot_hang_process_exit(server: DevServer) -> None:
    server.hang = True
    started = time.monotonic()
    result = run_script(
        """
        from ripples import Ripples
        client = Ripples(shutdown_timeout=1, timeout=30, connect_timeout=30)
        client.track("exit", "u1")
        """,
        server,
    )
    elapsed = time.monotonic() - started
    server.hang = False
    assert result.returncode == 0, result.stderr
    assert elapsed < 10  # 1 s shutdown deadline plus interpreter start-up, generously


def test_a_nested_binding_reports_its_events_to_the_outer_one(
    server: DevServer, make_client: Callable[..., Ripples]
) -> None:
    """A view that binds its own visitor is still flushed with its request."""
    client = make_client(flush_interval=600)
    inner_visitor = str(uuid.uuid4())
    with ripples.bind_visitor(None) as request_binding:
        ripples.set_visitor_id(inner_visitor)
        client.signup("u1")
    assert request_binding.tracked
    request_binding.flush_soon()
    assert server.wait_for(1)[0]["$visitor_id"] == inner_visitor


def test_repeated_set_visitor_id_keeps_one_short_chain() -> None:
    from ripples._context import current_binding

    with ripples.bind_visitor(None) as request_binding:
        for _ in range(1000):
            ripples.set_visitor_id(str(uuid.uuid4()))
        binding = current_binding()
        assert binding is not None and binding._outer is request_binding


@pytest.fixture
def fine_switching() -> Iterator[None]:
    """Switch threads every microsecond, so races in the tracking path show up."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(previous)


@pytest.mark.usefixtures("fine_switching")
def test_threads_crossing_the_batch_trigger_lose_and_repeat_nothing(
    server: DevServer, make_client: Callable[..., Ripples]
) -> None:
    """Tracking calls take no lock: many crossings of a small batch trigger, many batches."""
    client = make_client(max_queue_size=7, max_batch_size=5, flush_interval=600)

    def work(n: int) -> None:
        for i in range(300):
            client.track("did", f"user{n}", seq=i)

    _run_threads(work, 8)
    assert client.flush(timeout=30)
    events = server.wait_for(2400, timeout=30)
    assert len({e["$event_id"] for e in events}) == 2400 and server.stats["duplicates"] == 0
    assert {(e["$user_id"], e["seq"]) for e in events} == {
        (f"user{n}", i) for n in range(8) for i in range(300)
    }
    stats = client.stats()
    assert (stats.tracked, stats.delivered, stats.pending) == (2400, 2400, 0) and stats.balanced


@pytest.mark.usefixtures("fine_switching")
def test_a_flush_covers_every_event_tracked_before_it_while_threads_track(
    server: DevServer, make_client: Callable[..., Ripples]
) -> None:
    client = make_client(max_queue_size=50, flush_interval=600)
    returned: list[tuple[int, int]] = []  # (thread, seq) of each track() that returned

    def work(n: int) -> None:
        for i in range(3000):
            client.track("did", f"user{n}", seq=i)
            returned.append((n, i))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    flushes = 0
    while any(thread.is_alive() for thread in threads) or not flushes:
        before = list(returned)
        assert client.flush(timeout=30)
        flushes += 1
        stored = {(int(e["$user_id"][4:]), e["seq"]) for e in server.events()}
        assert set(before) <= stored  # tracked before the flush: delivered when it returns
    for thread in threads:
        thread.join()
    assert client.flush(timeout=30)
    assert len(server.wait_for(12_000, timeout=30)) == 12_000
    assert server.stats["duplicates"] == 0 and client.stats().balanced


@pytest.mark.usefixtures("fine_switching")
def test_a_sender_thread_that_stops_when_idle_never_strands_an_event(
    server: DevServer, make_client: Callable[..., Ripples], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The thread stops the moment the buffer is empty, while threads keep tracking: every
    event is sent without a flush, so none was appended as the thread stopped unseen."""
    import ripples._sender

    monkeypatch.setattr(ripples._sender, "_IDLE_EXIT_SECONDS", 0.0)  # 30 s in production
    client = make_client(flush_interval=0.01)

    def work(n: int) -> None:
        for i in range(200):
            client.track("did", f"user{n}", seq=i)
            if i % 10 == 0:
                time.sleep(0.002)  # gaps, so the thread goes idle and stops, often

    _run_threads(work, 4)
    assert len(server.wait_for(800, timeout=30)) == 800  # no flush() called
    assert server.stats["duplicates"] == 0


@pytest.mark.usefixtures("fine_switching")
def test_threads_through_a_failing_api_and_a_full_buffer_keep_the_ledger_exact(
    server: DevServer, make_client: Callable[..., Ripples]
) -> None:
    """8 threads track through a small buffer while half the batches fail: every snapshot
    balances, pending never passes the cap by more than the racing appenders, and in the end
    tracked == delivered + dropped, with nothing stored twice."""
    client = make_client(
        max_buffer_size=40, max_queue_size=7, max_batch_size=5, max_retries=0, flush_interval=0.05
    )
    server.fail_rate = 0.5
    stop = threading.Event()
    problems: list[str] = []

    def monitor() -> None:
        while not stop.is_set():
            stats = client.stats()
            if not stats.balanced:
                problems.append(f"unbalanced: {stats}")
            if stats.pending > 40 + 8:
                problems.append(f"pending {stats.pending} past the cap")

    def work(n: int) -> None:
        for i in range(400):
            client.track("did", f"user{n}", seq=i)

    watcher = threading.Thread(target=monitor)
    watcher.start()
    _run_threads(work, 8)
    server.fail_rate = 0.0
    client.close(timeout=20)  # a shutdown path: ignores the backoff
    stop.set()
    watcher.join()
    assert not problems, problems[:3]
    stats = client.stats()
    assert stats.pending == 0 and stats.balanced
    assert stats.tracked == 3200 == stats.delivered + stats.dropped
    assert server.stats["duplicates"] == 0
    assert len({e["$event_id"] for e in server.events()}) == stats.delivered
