"""Where the per-event microseconds go: sender stages, wake-ups, lock holds, GIL hand-offs.

    python benchmarks/profile_stages.py [--events 20000] [--threads 8] [--per-thread 5000]

The issue 15/17 profile, in four parts, with the collector (``_peer_sink``) in
another process so that its CPU is not ours:

1. **Paced, by thread** (4,000 events/s in 5 ms bursts, as ``bench_allin``):
   CPU µs per event of the calling thread and of the sender thread (from
   ``/proc/self/task/<tid>/schedstat``, no profiler), context switches per
   event of each (a proxy for GIL hand-offs and wake-ups), POSTs, events per
   POST, wake-event sets and sender wake-ups.
2. **The sender thread under cProfile** (CPU-time clock), same load:
   inclusive µs per event per stage (complete_event, json encoding, the
   requests POST and its parts, lock/bookkeeping, wake-ups); profiler overhead
   inflates every figure, so each is also scaled to part 1's unprofiled total.
3. **Stages in isolation** (best of 5, no profiler): complete_event, json.dumps
   of a batch, one POST of an encoded batch, put() into the buffer.
4. **8 threads x 5,000 on one client**: the buffer lock wrapped so that every
   acquisition records its wait and hold time (callers vs the sender thread),
   and context switches per thread (``profile_lock.py``).

It wraps a few of the sender's private methods to count them: a profiling
tool for this repo's own code, not an API.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from profile_sender import SINK  # noqa: E402

import ripples  # noqa: E402
from ripples import _sender, _transport, _wire  # noqa: E402

KEY = "priv_profile_stages_0123456789"


def _task_stats() -> dict[int, tuple[int, int, int]]:
    """tid -> (CPU ns, voluntary, involuntary context switches) for every thread of ours."""
    out = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            ns = int(Path(f"/proc/self/task/{tid}/schedstat").read_text().split()[0])
            vol = invol = 0
            for line in Path(f"/proc/self/task/{tid}/status").read_text().splitlines():
                if line.startswith("voluntary_ctxt"):
                    vol = int(line.split()[1])
                elif line.startswith("nonvoluntary_ctxt"):
                    invol = int(line.split()[1])
            out[int(tid)] = (ns, vol, invol)
        except OSError:
            continue
    return out


def _self_switches() -> tuple[int, int]:
    """(voluntary, involuntary) context switches of the calling thread so far."""
    vol = invol = 0
    for line in Path("/proc/thread-self/status").read_text().splitlines():
        if line.startswith("voluntary_ctxt"):
            vol = int(line.split()[1])
        elif line.startswith("nonvoluntary_ctxt"):
            invol = int(line.split()[1])
    return vol, invol


class Counters:
    """Counts wrapped around the sender: wake-ups, drains, POSTs, events per POST."""

    def __init__(self) -> None:
        self.sets = self.wakeups = self.drains = self.posts = self.events = 0

    def install(self, sender: Any) -> None:
        counters = self
        event = sender._wake_event

        class CountingEvent(type(event)):  # type: ignore[misc]
            def set(self) -> None:
                counters.sets += 1
                super().set()

            def wait(self, timeout: float | None = None) -> bool:
                result = super().wait(timeout)
                counters.wakeups += 1
                return result

        sender._wake_event = CountingEvent()
        drain, deliverer = sender._drain_locked, sender._deliverer
        send = deliverer._send

        def counted_drain(deadline: Any) -> None:
            counters.drains += 1
            drain(deadline)

        def counted_send(body: bytes, events: list[Any], timeout: Any) -> None:
            counters.posts += 1
            counters.events += len(events)
            send(body, events, timeout)

        sender._drain_locked, deliverer._send = counted_drain, counted_send


def _paced(call: Callable[[int], None], n: int, rate: float = 4000.0, burst: float = 0.005) -> None:
    per, start, i, k = max(1, round(rate * burst)), time.perf_counter(), 0, 0
    while i < n:
        delay = start + k * burst - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        end = min(n, i + per)
        for j in range(i, end):
            call(j)
        i, k = end, k + 1


#: Client options for every part (``--options '{"max_queue_size": 2000}'``).
OPTIONS: dict[str, Any] = {}


def _client(url: str) -> tuple[Any, Any, Counters]:
    client = ripples.Ripples(KEY, base_url=url, **OPTIONS)
    sender = client._sender
    counters = Counters()
    counters.install(sender)
    for i in range(200):
        client.track("warm up", "user_123", seq=-i)
    client.flush()
    return client, sender, counters


def _sender_tid(sender: Any) -> int:
    thread = sender._thread
    return int(thread.native_id) if thread is not None else -1


def part1(url: str, n: int) -> dict[str, Any]:
    """Paced load, no profiler: CPU and context switches per event, by thread."""
    client, sender, c = _client(url)
    me, tid = threading.get_native_id(), _sender_tid(sender)
    c.__init__()  # type: ignore[misc]
    before, cpu0 = _task_stats(), time.process_time()

    def call(i: int) -> None:
        client.track("created a budget", "user_123", area="budgets", plan="annual", seq=i)

    _paced(call, n)
    client.flush()
    after, cpu = _task_stats(), time.process_time() - cpu0
    tid = tid if tid in after else _sender_tid(sender)

    def delta(t: int, k: int) -> float:
        return (after.get(t, (0, 0, 0))[k] - before.get(t, (0, 0, 0))[k]) / n

    client.close()
    return {
        "process_us": cpu / n * 1e6,
        "caller_us": delta(me, 0) / 1e3,
        "sender_us": delta(tid, 0) / 1e3,
        "caller_switches": delta(me, 1) + delta(me, 2),
        "sender_switches_vol": delta(tid, 1),
        "sender_switches_invol": delta(tid, 2),
        "posts": c.posts,
        "events_per_post": c.events / max(1, c.posts),
        "wake_sets": c.sets,
        "wakeups": c.wakeups,
        "drains": c.drains,
    }


#: (label, predicate on pstats' (file, line, function) key) for the stages, inclusive time.
STAGES: list[tuple[str, Callable[[tuple[str, int, str]], bool]]] = [
    ("whole sender thread (_run)", lambda k: k[2] == "_run" and k[0].endswith("_sender.py")),
    (
        "  _drain_locked (a wake-up that sends)",
        lambda k: k[2] == "_drain_locked" and "_sender" in k[0],
    ),
    ("    complete_batch (ids, time, SDK fields)", lambda k: k[2] == "complete_batch"),
    ("    Deliverer.deliver", lambda k: k[2] == "deliver" and k[0].endswith("_delivery.py")),
    ("      encode_batch (JSON)", lambda k: k[2] == "encode_batch"),
    ("      HttpTransport.send", lambda k: k[2] == "send" and k[0].endswith("_transport.py")),
    ("        Session.send (requests)", lambda k: k[2] == "send" and k[0].endswith("sessions.py")),
    ("          HTTPAdapter.send", lambda k: k[2] == "send" and k[0].endswith("adapters.py")),
    ("            urlopen (urllib3)", lambda k: k[2] == "urlopen" and "connectionpool" in k[0]),
    ("            getresponse (http.client)", lambda k: k[2] == "getresponse"),
    ("            socket sendall", lambda k: "sendall" in k[2]),
    ("          Response/cookies/hooks", lambda k: k[2] in ("extract_cookies_to_jar",)),
    ("    _settle (ledger, waiters)", lambda k: k[2] == "_settle"),
    ("  _linger (sleep, CPU only)", lambda k: k[2] == "_linger"),
    ("  Event.wait (wake-ups)", lambda k: k[2] == "wait" and k[0].endswith("threading.py")),
    ("  _report_drops", lambda k: k[2] == "_report_drops"),
]


def part2(url: str, n: int, sender_us: float) -> list[tuple[str, float, float]]:
    """The sender thread under cProfile with a CPU clock: µs per event per stage."""
    profiler = cProfile.Profile(time.thread_time_ns, 1e-9)
    original = _sender.Sender._run

    def profiled_run(self: Any) -> None:
        profiler.enable()
        try:
            original(self)
        finally:
            profiler.disable()

    _sender.Sender._run = profiled_run  # type: ignore[method-assign]
    try:
        client, _, _ = _client(url)

        def call(i: int) -> None:
            client.track("created a budget", "user_123", area="budgets", plan="annual", seq=i)

        _paced(call, n)
        client.flush()
        client.close()  # ends the thread, so the profile is complete
    finally:
        _sender.Sender._run = original  # type: ignore[method-assign]
    stats: dict[Any, Any] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    rows = []
    whole = None
    for label, match in STAGES:
        cum = sum(v[3] for k, v in stats.items() if match(k))
        per_event = cum / n * 1e6
        whole = per_event if whole is None else whole
        rows.append((label, per_event, per_event * sender_us / whole if whole else 0.0))
    return rows


def part3(url: str) -> list[tuple[str, float]]:
    """Each stage alone, best of 5 (µs per event)."""

    def events(k: int) -> list[dict[str, Any]]:
        return [
            {"area": "budgets", "plan": "annual", "seq": i, "$type": "track",
             "$user_id": "user_123", "$name": "created a budget"}
            for i in range(k)
        ]  # fmt: skip

    def best(fn: Callable[[], Any], per: int, repeat: int = 5) -> float:
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return min(times) / per * 1e6

    now = time.time()
    k = 500
    batch = _wire.complete_batch({**e, "$sent_at": now} for e in events(k))
    transport = _transport.HttpTransport(url, KEY)
    transport.send(_wire.encode({"events": batch}), batch, (5, 5))
    rows = []
    for size in (20, 180, 500):
        pool = [[{**e, "$sent_at": now} for e in events(size)] for _ in range(5)]
        rows.append(
            (
                f"complete_batch, batch of {size}",
                best(lambda p=pool: _wire.complete_batch(p.pop()), size),
            )
        )
        payload = {"events": batch[:size]}
        rows.append(
            (
                f"encode ({'orjson' if _wire._orjson else 'json'}), batch of {size}",
                best(lambda p=payload: _wire.encode(p), size),
            )
        )
        data = _wire.encode(payload)
        rows.append(
            (
                f"HttpTransport.send (CPU, not wall), batch of {size}",
                _cpu_best(lambda d=data, e=batch[:size]: transport.send(d, e, (5, 5)), size),
            )
        )
    transport.close()
    sender = _sender.Sender(
        _sender.SenderConfig(KEY, url, 5, 5, 10**9, 500, 10**6, 0, 3600, 1),
        transport=lambda body, events, timeout: None,
    )
    ts, items = time.time(), events(20_000)
    t0 = time.perf_counter()
    for item in items:
        sender.put(item, ts, None)
    rows.append(("Sender.put (append, crossing check)", (time.perf_counter() - t0) / 20_000 * 1e6))
    return rows


def _cpu_best(fn: Callable[[], Any], per: int, repeat: int = 20) -> float:
    """Thread CPU time per event of ``fn``, best of ``repeat`` (a POST waits on the network)."""
    times = []
    for _ in range(repeat):
        t0 = time.thread_time()
        fn()
        times.append(time.thread_time() - t0)
    return min(times) / per * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--per-thread", type=int, default=5_000)
    parser.add_argument("--options", default="{}", help="Ripples() options, as JSON")
    args = parser.parse_args()
    OPTIONS.update(json.loads(args.options))
    sink = subprocess.Popen(
        [sys.executable, "-c", SINK, str(HERE)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert sink.stdout is not None
    url = sink.stdout.readline().strip()
    try:
        p1 = part1(url, args.events)
        print(f"1. Paced {args.events:,} events at 4,000/s in 5 ms bursts, no profiler")
        for key, value in p1.items():
            print(
                f"   {key:<24}{value:>10.2f}"
                if isinstance(value, float)
                else f"   {key:<24}{value:>10}"
            )
        print("\n2. Sender thread under cProfile (thread CPU clock): µs per event, inclusive")
        print(f"   {'stage':<48}{'profiled':>9}{'scaled':>9}")
        for label, raw, scaled in part2(url, args.events, p1["sender_us"]):
            print(f"   {label:<48}{raw:>9.2f}{scaled:>9.2f}")
        print("\n3. Stages in isolation (best of runs): µs per event")
        for label, us in part3(url):
            print(f"   {label:<48}{us:>9.2f}")
        from profile_lock import part4

        p4 = part4(url, args.threads, args.per_thread)
        print(
            f"\n4. {args.threads} threads x {args.per_thread:,} track() on one client, lock timed"
        )
        print(json.dumps(p4, indent=1))
    finally:
        sink.terminate()
        sink.wait(10)


if __name__ == "__main__":
    main()
