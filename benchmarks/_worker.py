"""One benchmark scenario for one SDK, in a fresh process; prints one JSON line.

Every measurement runs in its own interpreter so the SDKs' background threads,
queues and atexit hooks never meet, and so process-exit time and peak RSS can
be measured at all. Stdlib only (psutil optional): the same file also runs
under the throw-away venv of the official ``ripples==0.1.9`` (with ``python
-I``, so the repo's package can never shadow it).

    python -I benchmarks/_worker.py '{"sdk": "ripples", "scenario": "caller", "url": ...}'
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import statistics
import sys
import threading
import time
from typing import Any, Callable

SECRET = "priv_bench_0123456789"
DROPPED = [0]  # events our client reported as dropped through on_error
ERRORS = [0]


def _on_error(exc: BaseException) -> None:
    """Count errors; note buffer-overflow drops (they carry ``dropped``)."""
    ERRORS[0] += 1
    DROPPED[0] += int(getattr(exc, "dropped", 0) or 0)


class Adapter:
    """The three SDKs behind one shape: track(i), flush(), close()."""

    def __init__(self, sdk: str, url: str, options: dict[str, Any]) -> None:
        self.sdk = sdk
        self.options: dict[str, Any] = {}
        if sdk == "ripples":
            from importlib.metadata import version

            import ripples

            self.version = getattr(ripples, "__version__", None) or version("ripples")
            self.client: Any = ripples.Ripples(SECRET, base_url=url, on_error=_on_error, **options)
            track = self.client.track

            def call(i: int) -> None:
                track("created a budget", "user_123", area="budgets", plan="annual", seq=i)

            options = getattr(self.client, "options", None) or {}
            self.options = {
                k: v for k, v in dict(options).items() if isinstance(v, (int, float, str, bool))
            }
            self.flush: Callable[[], None] = self.client.flush
            self.close: Callable[[], None] = getattr(self.client, "close", self.client.flush)
        elif sdk == "posthog":
            import posthog
            from posthog import Posthog

            self.version = posthog.VERSION
            self.client = Posthog("phc_bench", host=url, on_error=_on_error, **options)
            capture = self.client.capture

            def call(i: int) -> None:
                capture(
                    "created a budget",
                    distinct_id="user_123",
                    properties={"area": "budgets", "plan": "annual", "seq": i},
                )

            self.flush = self.client.flush
            self.close = self.client.shutdown
        elif sdk == "segment":
            from segment.analytics import Client
            from segment.analytics.version import VERSION

            self.version = VERSION
            self.client = Client("bench_write_key", host=url, on_error=_on_error, **options)
            track_s = self.client.track

            def call(i: int) -> None:
                track_s(
                    "user_123", "created a budget", {"area": "budgets", "plan": "annual", "seq": i}
                )

            self.flush = self.client.flush
            self.close = self.client.shutdown
        elif sdk == "floor":
            # Not an SDK: the interpreter's floor. A Python function taking track()'s
            # arguments and keeping them, sending nothing; what any Python SDK costs at least.
            import collections
            import platform

            self.version = f"CPython {platform.python_version()}"
            kept: collections.deque[dict[str, Any]] = collections.deque()

            def noop(name: str, user_id: str, **properties: Any) -> None:
                kept.append(properties)

            def call(i: int) -> None:
                noop("created a budget", "user_123", area="budgets", plan="annual", seq=i)

            self.flush = self.close = lambda: None
        else:
            raise SystemExit(f"unknown sdk {sdk!r}")
        self.call = call


def _rss() -> int:
    try:
        import psutil

        return int(psutil.Process().memory_info().rss)
    except ImportError:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak_rss() -> int:
    """This process's peak RSS: VmHWM, which starts afresh at exec.

    (``ru_maxrss`` does not: Linux carries the parent's high-water mark across
    fork+exec, so a big parent would inflate every child's figure.)
    """
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _timed_calls(
    call: Callable[[int], None], n: int, start: int = 0, gap: float = 0.0
) -> list[int]:
    """Nanoseconds per call; ``gap`` seconds of idle between calls (not timed)."""
    clock = time.perf_counter_ns
    out = []
    for i in range(start, start + n):
        t0 = clock()
        call(i)
        out.append(clock() - t0)
        if gap:
            time.sleep(gap)
    return out


def _stats_us(samples_ns: list[int]) -> dict[str, float]:
    ordered = sorted(samples_ns)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return {
        "median_us": statistics.median(ordered) / 1e3,
        "mean_us": statistics.fmean(ordered) / 1e3,
        "p99_us": p99 / 1e3,
        "max_us": ordered[-1] / 1e3,
    }


def _bounded(fn: Callable[[], None], cap: float) -> float | None:
    """Seconds ``fn`` took, or None when it had not returned after ``cap`` seconds."""
    done = threading.Event()

    def run() -> None:
        with contextlib.suppress(Exception):  # timing the call, not judging its errors
            fn()
        done.set()

    t0 = time.monotonic()
    threading.Thread(target=run, daemon=True).start()
    return time.monotonic() - t0 if done.wait(cap) else None


def caller(sdk: Adapter, p: dict[str, Any]) -> dict[str, Any]:
    """Caller cost per track() against a healthy collector."""
    _timed_calls(sdk.call, p.get("warmup", 500), start=10_000_000)
    samples = _timed_calls(sdk.call, p["n"])
    result: dict[str, Any] = _stats_us(samples)
    result["flush_s"] = _bounded(sdk.flush, p.get("flush_cap", 30))
    return result


def throughput(sdk: Adapter, p: dict[str, Any]) -> dict[str, Any]:
    """First call to flush() returning; the parent reads the collector's last arrival."""
    n, threads = p["n"], p.get("threads", 1)
    per = n // threads
    barrier = threading.Barrier(threads + 1)

    def work(k: int) -> None:
        call = sdk.call
        barrier.wait()
        for i in range(k * per, (k + 1) * per):
            call(i)

    pool = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    barrier.wait()
    t_first = time.monotonic()
    for t in pool:
        t.join()
    t_calls = time.monotonic()
    flush_s = _bounded(sdk.flush, p.get("flush_cap", 60))
    return {
        "calls": per * threads,
        "t_first": t_first,
        "calls_s": t_calls - t_first,
        "flush_s": flush_s,
        "dropped_reported": DROPPED[0],
    }


def outage(sdk: Adapter, p: dict[str, Any]) -> dict[str, Any]:
    """1,000 calls against a hanging or closed collector, then one flush()."""
    samples = _timed_calls(sdk.call, p["n"], gap=p.get("gap", 0.001))
    result: dict[str, Any] = {"worst_ms": max(samples) / 1e6}
    result.update(_stats_us(samples))
    result["calls_total_s"] = sum(samples) / 1e9
    result["flush_s"] = _bounded(sdk.flush, p["flush_cap"])
    return result


def exit_time(sdk: Adapter, p: dict[str, Any]) -> dict[str, Any]:
    """Calls, then a normal interpreter exit: the parent times last call -> exit."""
    _timed_calls(sdk.call, p["n"], gap=p.get("gap", 0.0))
    print(json.dumps({"t_last": time.monotonic()}), flush=True)
    return {}


def memory(sdk: Adapter, p: dict[str, Any]) -> dict[str, Any]:
    """Peak RSS growth while ``n`` events are tracked during an outage."""
    _timed_calls(sdk.call, 200)  # the first 200 of the n events warm up imports and the sender
    base = _rss()
    t0 = time.monotonic()
    for i in range(200, p["n"]):
        sdk.call(i)
    calls_s = time.monotonic() - t0
    expect = p.get("expect_dropped", 0)
    deadline = time.monotonic() + 5
    while expect and DROPPED[0] < expect and time.monotonic() < deadline:
        time.sleep(0.05)  # drops are reported from the sender thread, at most once a second
    return {
        "rss_base": base,
        "rss_end": _rss(),
        "peak_growth": max(0, _peak_rss() - base),
        "calls_s": calls_s,
        "dropped_reported": DROPPED[0],
    }


SCENARIOS = {
    "caller": caller,
    "throughput": throughput,
    "outage": outage,
    "exit": exit_time,
    "memory": memory,
}


Scenario = Callable[[Adapter, dict[str, Any]], dict[str, Any]]


def main(scenarios: dict[str, Scenario] = SCENARIOS) -> None:
    """Run the scenario named in argv[1]'s JSON spec; scenario modules pass their own table."""
    spec = json.loads(sys.argv[1])
    sdk = Adapter(spec["sdk"], spec["url"], spec.get("options", {}))
    result = scenarios[spec["scenario"]](sdk, spec.get("params", {}))
    result["version"] = sdk.version
    if sdk.options:
        result["options"] = sdk.options
    result["errors_reported"] = ERRORS[0]
    print(json.dumps(result), flush=True)
    if spec["scenario"] != "exit":
        os._exit(0)  # the exit path is measured on its own; do not wait for the SDK here


if __name__ == "__main__":
    main()
