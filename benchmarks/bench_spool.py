"""How fast the spool spills events to disk and recovers them, fsync included.

    python benchmarks/bench_spool.py [--quick] [--rounds N] [--segments N] [--dir PATH]

Spill: ``Spool.write()`` of segments of 500 realistic events of about 250 bytes
(encoded before the clock starts), each segment a temp file, fsynced, renamed
and the directory fsynced, exactly as the sender spills during an outage.
Recovery: ``claim()`` (lock, read, check every record) and ``delete()`` until the
spool is empty, as a process does after a restart. Each round uses a fresh
directory under ``--dir`` (default: the system temp directory; point it at the
volume you will spool to, since fsync cost is the file system's). Figures are
medians over rounds. ``measure_spool()`` is what a runner calls.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import table

from ripples._spool import Spool, spool_namespace

EVENTS_PER_SEGMENT = 500
EVENT_BYTES = 250


def _events(count: int, start: int) -> list[bytes]:
    """``count`` encoded revenue events of about EVENT_BYTES bytes each."""
    events = []
    for i in range(start, start + count):
        event = {
            "$type": "revenue",
            "$name": "payment",
            "$user_id": f"user_{i % 1000}",
            "$event_id": f"5d0c8a1e-4b7f-4c2a-9e3d-{i:012d}",
            "$sent_at": "2026-11-30T12:00:00Z",
            "$sdk_name": "python",
            "$sdk_version": "1.0.0",
            "$platform": "server",
            "amount": 49.0,
            "currency": "EUR",
        }
        encoded = json.dumps(event, separators=(",", ":"))
        event["plan"] = "p" * max(1, EVENT_BYTES - len(encoded) - 10)
        events.append(json.dumps(event, separators=(",", ":")).encode())
    return events


def _round(base: str, segments: int) -> tuple[float, float, int]:
    """One spill and one recovery in a fresh directory: (spill s, recovery s, events)."""
    batches = [_events(EVENTS_PER_SEGMENT, n * EVENTS_PER_SEGMENT) for n in range(segments)]
    directory = tempfile.mkdtemp(prefix="bench-spool-", dir=base)
    try:
        spool = Spool(directory, spool_namespace("http://127.0.0.1:1", "priv_bench"), 1 << 40)
        t0 = time.perf_counter()
        for batch in batches:
            spool.write(batch)
        spill = time.perf_counter() - t0
        recovered = 0
        t0 = time.perf_counter()
        while True:
            segment = spool.claim()
            if segment is None:
                break
            recovered += len(segment.events)
            segment.delete()
        recovery = time.perf_counter() - t0
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    expected = segments * EVENTS_PER_SEGMENT
    if recovered != expected:
        raise RuntimeError(f"recovered {recovered} events, wrote {expected}")
    return spill, recovery, recovered


def measure_spool(
    rounds: int = 7, segments: int = 40, directory: Optional[str] = None
) -> dict[str, Any]:
    """Spill and recovery rates (events/s, medians over ``rounds``) and per-segment times (ms)."""
    base = directory or tempfile.gettempdir()
    spills, recoveries = [], []
    for _ in range(rounds):
        spill, recovery, events = _round(base, segments)
        spills.append((events / spill, spill / segments * 1e3))
        recoveries.append((events / recovery, recovery / segments * 1e3))
    return {
        "rounds": rounds,
        "segments": segments,
        "event_bytes": len(_events(1, 0)[0]),
        "spill_events_per_s": [rate for rate, _ in spills],
        "spill_ms_per_segment": [ms for _, ms in spills],
        "recovery_events_per_s": [rate for rate, _ in recoveries],
        "recovery_ms_per_segment": [ms for _, ms in recoveries],
        "directory": base,
    }


def track_cost_with_and_without_spool(rounds: int, calls: int) -> dict[str, list[float]]:
    """``track()`` CPU µs per call with the API healthy, without and with ``spool_dir``.

    Paired rounds, alternating which goes first; both clients post to the same
    counting collector, which answers at once, so nothing is ever spilled.
    """
    import tempfile
    import time

    from _peer_sink import PeerSink

    from ripples import Ripples

    costs: dict[str, list[float]] = {"no spool": [], "spool_dir set": []}
    with PeerSink() as sink, tempfile.TemporaryDirectory() as spool:
        clients = {
            "no spool": Ripples("priv_bench_a", base_url=sink.url),
            "spool_dir set": Ripples("priv_bench_b", base_url=sink.url, spool_dir=spool),
        }
        for number in range(rounds):
            order = list(clients.items())
            if number % 2:
                order.reverse()
            for label, client in order:
                started = time.process_time()
                for i in range(calls):
                    client.track("clicked", "user_1", area="bench", n=i)
                costs[label].append((time.process_time() - started) / calls * 1e6)
                client.flush(timeout=30)
        for client in clients.values():
            client.close(timeout=5)
        assert not any(os.scandir(spool)) or all(
            not name.endswith(".seg") for _, _, names in os.walk(spool) for name in names
        ), "a healthy API must never make the client write to the spool"
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="3 rounds of 10 segments")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--segments", type=int, default=40, help="segments per round")
    parser.add_argument("--dir", default=None, help="where to create the spool directories")
    args = parser.parse_args()
    rounds, segments = (3, 10) if args.quick else (args.rounds, args.segments)
    result = measure_spool(rounds, segments, args.dir)
    print(
        f"Spool on {result['directory']}: {rounds} rounds x {segments} segments x "
        f"{EVENTS_PER_SEGMENT} events of {result['event_bytes']} bytes, fsync on"
    )
    rows = []
    for label, key in (
        ("spill (write + fsync), events/s", "spill_events_per_s"),
        ("spill, ms per 500-event segment", "spill_ms_per_segment"),
        ("recovery (claim + read + delete), events/s", "recovery_events_per_s"),
        ("recovery, ms per 500-event segment", "recovery_ms_per_segment"),
    ):
        values = result[key]
        rows.append([label, statistics.median(values), min(values), max(values)])
    print(table(["measure", "median", "min", "max"], rows))
    costs = track_cost_with_and_without_spool(rounds, 20_000 if not args.quick else 5_000)
    print("\ntrack() with the API healthy, CPU µs per call (process CPU, paired rounds):")
    print(
        table(
            ["client", "median", "min", "max"],
            [[k, statistics.median(v), min(v), max(v)] for k, v in costs.items()],
        )
    )


if __name__ == "__main__":
    main()
