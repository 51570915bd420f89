"""Memory per buffered event during an outage (issue 17): bytes each queued event holds.

    python benchmarks/run.py --only bufmem
    python -I benchmarks/bench_bufmem.py '{"sdk": "ripples", "scenario": "bufmem", ...}'

The collector's port is closed, so nothing is delivered and every tracked
event stays in the SDK's buffer: ours holds 50,000 by default (the peers'
queues hold 10,000, so they track that many). After one event has started the
sender and its first attempt has failed, the child tracks the rest and reads
how much memory they added, two ways, each in its own fresh process:

- ``rss``: resident set growth (``/proc/self/statm``), what the host sees; the
  406 B of issue 17 was measured this way;
- ``traced``: ``tracemalloc``'s count of the Python objects allocated (no
  allocator slack), which says what the objects themselves cost.
"""

from __future__ import annotations

import gc
import os
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from _worker import Adapter, _rss, main  # noqa: E402


def bufmem(sdk: Adapter, p: dict[str, Any]) -> dict[str, Any]:
    """Track ``n`` events against a closed port; bytes added per buffered event."""
    n, mode = p["n"], p.get("mode", "rss")
    sdk.call(10_000_000)  # starts the sender, whose first attempt fails: it then retries/backs off
    time.sleep(p.get("settle", 0.5))
    gc.collect()
    if mode == "traced":
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
    else:
        before = _rss()
    t0 = time.perf_counter()
    for i in range(n - 1):
        sdk.call(i)
    calls_s = time.perf_counter() - t0
    time.sleep(p.get("settle", 0.5))  # let the sender take its next batch, as in a real outage
    gc.collect()
    after = tracemalloc.get_traced_memory()[0] if mode == "traced" else _rss()
    return {
        "mode": mode,
        "events": n,
        "bytes": after - before,
        "bytes_per_event": (after - before) / (n - 1),
        "calls_s": calls_s,
        "pid": os.getpid(),
    }


# -- the parent side: one section of benchmarks/run.py ------------------------------------
def section(b: Any) -> None:
    """Ours at 50,000 buffered events, the peers at their 10,000-event cap; both measures."""
    from _report import log, median_of, spread, table

    sys.path.insert(0, str(HERE))
    from run import closed_port_url

    # Never more than a buffer holds: ours 50,000 by default, the peers' queues 10,000.
    peers = min(10_000, b.count(10_000, 2_000))
    counts = {"ripples": min(50_000, b.count(50_000, 5_000)), "posthog": peers, "segment": peers}
    reps = b.rounds(3, 1)
    runs: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for rep in range(reps):
        for sdk in b.sdks(rep):
            for mode in ("rss", "traced"):
                log(f"bufmem: round {rep + 1}/{reps} {sdk} {mode}")
                params = {"n": counts[sdk], "mode": mode}
                r = b.worker(
                    sdk, "bufmem", closed_port_url(), params, timeout=120, script="bench_bufmem.py"
                )
                if r:
                    runs.setdefault((sdk, mode), []).append(r)
    rows = []
    for sdk in ("ripples", "posthog", "segment"):
        rss, traced = runs.get((sdk, "rss"), []), runs.get((sdk, "traced"), [])
        if not rss and not traced:
            continue
        rows.append(
            [
                b.label(sdk),
                counts[sdk],
                median_of(rss, "bytes_per_event"),
                spread([r["bytes_per_event"] for r in rss]),
                median_of(traced, "bytes_per_event"),
                spread([r["bytes_per_event"] for r in traced]),
            ]
        )
    print(
        f"\nC. Memory per buffered event: events tracked with the collector's port closed "
        f"(median of {reps}; each figure from its own process)"
    )
    print(
        table(["sdk", "buffered", "RSS B/event", "spread", "tracemalloc B/event", "spread"], rows)
    )
    b.results["bufmem"] = {f"{s}/{m}": v for (s, m), v in runs.items()}
    ours = median_of(runs.get(("ripples", "rss"), []), "bytes_per_event")
    b.targets.check(
        "memory per buffered event (RSS) < 406 B",
        ours,
        None if ours is None else ours < 406,
        " B",
    )


if __name__ == "__main__":
    main({"bufmem": bufmem})
