"""8 threads on one shared client (issue 17): events/s end to end, caller latency, lost/duplicated.

    python benchmarks/run.py --only contention
    python -I benchmarks/bench_contention.py '{"sdk": "ripples", "scenario": "contention", ...}'

One client shared by 8 threads, as gunicorn gthread or an ASGI thread pool
shares it: each thread makes 5,000 ``track()`` calls as fast as it can (every
call timed), then the main thread calls ``flush()``. Events/s is end to end:
from the first call to the last event received by the counting collector,
which also counts the distinct ``seq`` values and the distinct event ids, so an
event lost or delivered twice shows. Each SDK runs in a fresh process, rounds
interleave the SDKs in a rotated order, the figures are medians over rounds,
and the ratio to the official client is the median of per-round ratios.
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from _worker import Adapter, _bounded, main  # noqa: E402


def contention(sdk: Adapter, p: dict[str, Any]) -> dict[str, Any]:
    """``threads`` x ``per_thread`` timed calls on one client, then one flush()."""
    threads, per = p.get("threads", 8), p["per_thread"]
    warmup = p.get("warmup", 100)
    for i in range(warmup):
        sdk.call(10_000_000 + i)
    _bounded(sdk.flush, 30)
    barrier = threading.Barrier(threads + 1)
    samples: list[list[int]] = [[] for _ in range(threads)]

    def work(k: int) -> None:
        call, clock, out = sdk.call, time.perf_counter_ns, samples[k]
        barrier.wait()
        for i in range(k * per, (k + 1) * per):
            t0 = clock()
            call(i)
            out.append(clock() - t0)

    pool = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    barrier.wait()
    t_first = time.monotonic()
    for t in pool:
        t.join()
    t_calls = time.monotonic()
    flush_s = _bounded(sdk.flush, p.get("flush_cap", 60))
    ordered = sorted(s for per_thread in samples for s in per_thread)
    return {
        "calls": per * threads,
        "warmup": warmup,
        "t_first": t_first,
        "calls_s": t_calls - t_first,
        "flush_s": flush_s,
        "median_us": statistics.median(ordered) / 1e3,
        "p99_us": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] / 1e3,
        "max_ms": ordered[-1] / 1e6,
    }


# -- the parent side: one section of benchmarks/run.py ------------------------------------
def section(b: Any) -> None:
    """Rounds of every SDK, interleaved; prints the table and the issue 17 targets."""
    from _peer_sink import PeerSink
    from _report import fmt_ratio, log, median_of, paired_ratio, spread, table

    per = b.count(5_000, 500)
    threads = 8
    reps = b.rounds(5, 2)
    runs: dict[str, list[dict[str, Any]]] = {}
    with PeerSink() as sink:
        sink.track_ids = True
        for rep in range(reps):
            for sdk in b.sdks(rep, with_official=True):
                log(f"contention: round {rep + 1}/{reps} {sdk}")
                sink.reset()
                params = {"per_thread": per, "threads": threads}
                r = b.worker(
                    sdk, "contention", sink.url, params, timeout=180, script="bench_contention.py"
                )
                if not r:
                    continue
                expected = r["calls"] + r["warmup"]
                sink.wait_stable(expected, timeout=20, quiet=1.0)
                snap, distinct = sink.snapshot(), sink.distinct()
                elapsed = snap["last_event_at"] - r["t_first"]
                received = snap["events"] - r["warmup"]  # warm-up events all came before
                r.update(
                    received=received,
                    lost=expected - distinct["seqs"],
                    duplicated=snap["events"] - distinct["seqs"],
                    duplicate_ids=(snap["events"] - distinct["ids"]) if distinct["ids"] else None,
                    events_s=(received / elapsed) if elapsed > 0 else None,
                )
                runs.setdefault(sdk, []).append(r)
            if b.wanted("ripples"):  # the interpreter's floor, in the same round
                log(f"contention: round {rep + 1}/{reps} floor (a no-op Python function)")
                # 5x the calls: a no-op is ~5x faster than a track(), and the run must last
                # as many switch intervals as ours (5,000 no-op calls fit in one: no switch).
                params = {"per_thread": per * 5, "threads": threads}
                r = b.worker(
                    "floor",
                    "contention",
                    sink.url,
                    params,
                    timeout=180,
                    script="bench_contention.py",
                )
                if r:
                    r.update(lost=0, duplicated=0, events_s=None)
                    runs.setdefault("floor", []).append(r)
    floor = runs.pop("floor", [])
    ours = runs.get("ripples", [])
    rows = []
    for sdk, rs in runs.items():
        rows.append(
            [
                b.label(sdk),
                median_of(rs, "events_s"),
                spread([r["events_s"] for r in rs if r["events_s"]]),
                median_of(rs, "calls_s"),
                median_of(rs, "flush_s"),
                median_of(rs, "median_us"),
                median_of(rs, "p99_us"),
                max(r["max_ms"] for r in rs),
                max(r["lost"] for r in rs),
                max(r["duplicated"] for r in rs),
                None if sdk == "ripples" else fmt_ratio(paired_ratio(ours, rs, "events_s")),
            ]
        )
    if floor:
        rows.append(
            [
                "floor: no-op function",
                None,
                "",
                median_of(floor, "calls_s"),
                None,
                median_of(floor, "median_us"),
                median_of(floor, "p99_us"),
                max(r["max_ms"] for r in floor),
                None,
                None,
                None,
            ]
        )
    print(
        f"\nB. Contention: {threads} threads x {per:,} track() on one shared client, then "
        f"flush(); end to end to the last event received (median of {reps} interleaved rounds)"
    )
    print(
        table(
            [
                "sdk",
                "events/s",
                "spread",
                "calls s",
                "flush s",
                "call median µs",
                "call p99 µs",
                "worst call ms",
                "lost (max)",
                "dup (max)",
                "ours / its",
            ],
            rows,
        )
    )
    b.results["contention"] = runs
    ratio = paired_ratio(ours, runs.get(b.official_key, []), "events_s")
    b.targets.check(
        f"{threads} threads: events/s >= 1.2x official",
        ratio,
        None if ratio is None else ratio >= 1.2,
        "x",
    )
    bad = [r["lost"] + r["duplicated"] for r in ours]
    b.targets.check(
        f"{threads} threads: nothing lost or duplicated",
        max(bad, default=None),
        None if not bad else max(bad) == 0,
        " lost+dup",
    )
    p99 = median_of(ours, "p99_us")
    b.targets.check(
        f"{threads} threads: caller p99 <= 20 µs", p99, None if p99 is None else p99 <= 20, " µs"
    )
    worst = median_of(ours, "max_ms")
    if floor:
        print(
            "floor: the same 8 threads calling a Python function that takes track()'s arguments"
            f" and keeps them ({per * 5:,} calls each, so that the run lasts about as long as"
            f" ours): worst call {median_of(floor, 'max_ms'):.1f} ms (median over rounds),"
            f" p99 {median_of(floor, 'p99_us'):.2f} µs. A call the interpreter switches away from"
            f" waits out other threads' switch intervals ({sys.getswitchinterval() * 1e3:g} ms"
            " each), whatever it does."
        )
    b.targets.check(
        f"{threads} threads: worst call <= 2 ms (median over rounds)",
        worst,
        None if worst is None else worst <= 2,
        " ms",
    )


if __name__ == "__main__":
    main({"contention": contention})
