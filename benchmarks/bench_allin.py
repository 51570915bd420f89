"""All-in CPU per event (issue 15): what a web server pays per tracked event, every thread.

    python benchmarks/run.py --only allin          # the section, side by side
    python -I benchmarks/bench_allin.py '{"sdk": "ripples", "scenario": "allin", ...}'  # a child

``track()`` returning in 2 µs is only the caller's share: the sender thread's
work per event (id, timestamp, JSON, HTTP, wake-ups) runs in the same process
under the same GIL. So each SDK, in its own fresh process, makes 20,000 calls
paced like a web server (4,000 events/s in bursts every 5 ms), then flushes,
and the figure is the whole process's CPU time (``time.process_time()``: every
thread) minus the same paced loop without the call, measured in the same
process just before, divided by the events. Rounds interleave the SDKs in a
rotated order; ratios are medians of per-round ratios (same round, same noise).
Every SDK posts to the counting collector (``_peer_sink``) on loopback, which
also counts the distinct ``seq`` values received, so lost events are reported.

The child side (this file run as a script) uses only the standard library and
``_worker.Adapter``, so it also runs under the official 0.1.9 client's venv.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any, Callable, Optional

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from _worker import Adapter, _bounded, main  # noqa: E402

#: The issue's pacing: 4,000 events/s in 5 ms bursts (20 calls per burst).
RATE = 4_000.0
BURST_S = 0.005


def _context_switches() -> int:
    """Voluntary + involuntary context switches of every thread of this process."""
    total = 0
    try:
        for tid in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{tid}/status") as f:
                for line in f:
                    if line.startswith(("voluntary_ctxt", "nonvoluntary_ctxt")):
                        total += int(line.split()[1])
    except OSError:
        return 0
    return total


def _noop(i: int) -> None:
    return None


def paced(call: Callable[[int], None], n: int, rate: float, burst_s: float) -> dict[str, float]:
    """``n`` calls, ``rate`` per second in bursts every ``burst_s``; CPU and wall time used."""
    per_burst = max(1, round(rate * burst_s))
    clock, sleep = time.perf_counter, time.sleep
    switches = _context_switches()
    cpu0, thread0 = time.process_time(), time.thread_time()
    start = clock()
    i = k = late = 0
    while i < n:
        delay = start + k * burst_s - clock()
        if delay > 0:
            sleep(delay)
        elif delay < -burst_s:
            late += 1  # more than a burst behind: the loop could not keep the pace
        end = min(n, i + per_burst)
        for j in range(i, end):
            call(j)
        i, k = end, k + 1
    return {
        "cpu_s": time.process_time() - cpu0,
        "caller_cpu_s": time.thread_time() - thread0,
        "wall_s": clock() - start,
        "late_bursts": late,
        "switches": _context_switches() - switches,
    }


def allin(sdk: Adapter, p: dict[str, Any]) -> dict[str, Any]:
    """Warm up, the paced loop without the call, then with it and a flush()."""
    n, rate, burst_s = p["n"], p.get("rate", RATE), p.get("burst_s", BURST_S)
    for i in range(p.get("warmup", 200)):
        sdk.call(10_000_000 + i)  # imports, thread start, connection: not measured
    _bounded(sdk.flush, 30)
    base = paced(_noop, n, rate, burst_s)
    run = paced(sdk.call, n, rate, burst_s)
    cpu0, thread0 = time.process_time(), time.thread_time()
    flush_s = _bounded(sdk.flush, p.get("flush_cap", 30))
    run["cpu_s"] += time.process_time() - cpu0
    run["caller_cpu_s"] += time.thread_time() - thread0
    per = 1e6 / n
    return {
        "calls": n,
        "us_per_event": (run["cpu_s"] - base["cpu_s"]) * per,
        "caller_us": (run["caller_cpu_s"] - base["caller_cpu_s"]) * per,
        "background_us": (
            (run["cpu_s"] - run["caller_cpu_s"]) - (base["cpu_s"] - base["caller_cpu_s"])
        )
        * per,
        "switches_per_event": (run["switches"] - base["switches"]) / n,
        "base_us": base["cpu_s"] * per,
        "late_bursts": run["late_bursts"],
        "wall_s": run["wall_s"],
        "flush_s": flush_s,
    }


# -- the parent side: one section of benchmarks/run.py ------------------------------------
def section(b: Any) -> None:
    """Rounds of every SDK, interleaved; prints the table and the issue 15 targets."""
    from _peer_sink import PeerSink
    from _report import fmt_ratio, log, median_of, paired_ratio, spread, table

    n = b.count(20_000, 2_000)
    reps = b.rounds(5, 2)
    warmup = 200
    runs: dict[str, list[dict[str, Any]]] = {}
    with PeerSink() as sink:
        sink.track_ids = True
        for rep in range(reps):
            for sdk in b.sdks(rep, with_official=True):
                log(f"allin: round {rep + 1}/{reps} {sdk}")
                sink.reset()
                params = {"n": n, "warmup": warmup}
                r = b.worker(sdk, "allin", sink.url, params, timeout=120, script="bench_allin.py")
                if not r:
                    continue
                expected = n + warmup
                sink.wait_stable(expected, timeout=15, quiet=1.0)
                r["lost"] = expected - sink.distinct()["seqs"]
                r["round"] = rep
                runs.setdefault(sdk, []).append(r)
    ours = runs.get("ripples", [])
    rows = []
    for sdk, rs in runs.items():
        rows.append(
            [
                b.label(sdk),
                median_of(rs, "us_per_event"),
                spread([r["us_per_event"] for r in rs]),
                median_of(rs, "caller_us"),
                median_of(rs, "background_us"),
                median_of(rs, "switches_per_event"),
                max(r["lost"] for r in rs),
                max(r["late_bursts"] for r in rs),
                None if sdk == "ripples" else fmt_ratio(paired_ratio(rs, ours, "us_per_event")),
            ]
        )
    print(
        f"\nA. All-in CPU per event: {n:,} track() paced at {RATE:,.0f}/s in "
        f"{BURST_S * 1e3:g} ms bursts, then flush(); whole-process CPU minus the same loop "
        f"without the call (median of {reps} interleaved rounds; spread = min..max)"
    )
    print(
        table(
            [
                "sdk",
                "µs/event",
                "spread",
                "caller µs",
                "other threads µs",
                "ctx switches/event",
                "lost (max)",
                "late bursts",
                "its / ours",
            ],
            rows,
        )
    )
    b.results["allin"] = runs
    med = median_of(ours, "us_per_event")
    ok = None if med is None else med <= 8
    b.targets.check("all-in CPU per event <= 8 µs (4,000/s paced)", med, ok, " µs")
    for peer, factor in (("official", 3), ("posthog", 15)):
        key = b.official_key if peer == "official" else peer
        ratio: Optional[float] = paired_ratio(runs.get(key, []), ours, "us_per_event")
        b.targets.check(
            f"all-in CPU per event <= 1/{factor} of {peer} (its/ours >= {factor})",
            ratio,
            None if ratio is None else ratio >= factor,
            "x",
        )
    lost = [r["lost"] for r in ours]
    b.targets.check(
        "all-in run: no event lost",
        max(lost, default=None),
        None if not lost else max(lost) == 0,
        " lost",
    )


if __name__ == "__main__":
    main({"allin": allin})
