"""Part 4 of ``profile_stages.py``: 8 threads on one client, the buffer lock timed.

Every acquisition of the buffer lock (tracking calls take it only at a crossing:
a full batch, the spill mark, the cap, or to start the thread) records its wait and hold time,
split between the calling threads and the sender thread; each calling thread
also counts its own context switches (voluntary: it blocked, on the GIL or the
lock; involuntary: the scheduler preempted it).
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
from typing import Any

from profile_stages import _client, _self_switches, _sender_tid, _task_stats


class TimedLock:
    """A lock that records, per acquisition, who took it, how long it waited and held it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.records: list[tuple[bool, int, int]] = []  # (sender?, wait ns, hold ns)
        self._since = 0
        self._waited = 0

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        t0 = time.perf_counter_ns()
        ok = self._lock.acquire(blocking, timeout)
        if ok:
            self._since = time.perf_counter_ns()
            self._waited = self._since - t0
        return ok

    def release(self) -> None:
        held, waited = time.perf_counter_ns() - self._since, self._waited
        self._lock.release()
        self.records.append((threading.current_thread().name == "ripples-sender", waited, held))

    def locked(self) -> bool:
        return self._lock.locked()

    __enter__ = acquire

    def __exit__(self, *exc: object) -> None:
        self.release()


def part4(url: str, threads: int, per: int) -> dict[str, Any]:
    """8 threads on one client: lock wait/hold by side, context switches per thread."""
    client, sender, c = _client(url)
    lock = TimedLock()
    sender._lock = sender._buffer.lock = lock  # every acquisition, callers and sender
    c.__init__()  # type: ignore[misc]
    barrier = threading.Barrier(threads + 1)
    caller_sw: list[tuple[int, int]] = []

    def work(k: int) -> None:
        track = client.track
        barrier.wait()
        first = _self_switches()
        for i in range(k * per, (k + 1) * per):
            track("created a budget", "user_123", area="budgets", plan="annual", seq=i)
        last = _self_switches()
        caller_sw.append((last[0] - first[0], last[1] - first[1]))

    pool = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    before = _task_stats()
    t0 = time.perf_counter()
    barrier.wait()
    for t in pool:
        t.join()
    calls_s = time.perf_counter() - t0
    client.flush()
    after = _task_stats()
    stid = _sender_tid(sender)
    n = threads * per

    def summary(side: bool) -> dict[str, float]:
        rs = [r for r in lock.records if r[0] == side]
        if not rs:
            return {}
        waits, holds = sorted(r[1] for r in rs), sorted(r[2] for r in rs)
        return {
            "acquisitions": len(rs),
            "wait_p50_us": statistics.median(waits) / 1e3,
            "wait_p99_us": waits[int(len(waits) * 0.99)] / 1e3,
            "wait_max_us": waits[-1] / 1e3,
            "hold_p50_us": statistics.median(holds) / 1e3,
            "hold_p99_us": holds[int(len(holds) * 0.99)] / 1e3,
            "hold_max_us": holds[-1] / 1e3,
            "hold_total_ms": sum(holds) / 1e6,
        }

    def switches(tid: int) -> tuple[int, int]:
        b, a = before.get(tid, (0, 0, 0)), after.get(tid, (0, 0, 0))
        return a[1] - b[1], a[2] - b[2]

    client.close()
    return {
        "calls_s": calls_s,
        "events": n,
        "callers": summary(False),
        "sender": summary(True),
        "caller_switches_per_event": sum(v + i for v, i in caller_sw) / n,
        "caller_involuntary_per_event": sum(i for _, i in caller_sw) / n,
        "sender_switches": switches(stid),
        "posts": c.posts,
        "events_per_post": c.events / max(1, c.posts),
        "wake_sets": c.sets,
        "wakeups": c.wakeups,
        "switch_interval_ms": sys.getswitchinterval() * 1e3,
    }
