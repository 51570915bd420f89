"""How fast `ripples dev` ingests: batches of 100 posted over keep-alive connections.

    python benchmarks/bench_collector.py [--quick] [--batches N] [--runs N] [--memory]

The collector runs as its own process (`python -m ripples.dev`, as a user
runs it, with its default on-disk WAL store unless --memory), so the client
and the server do not share a GIL. Request bodies are encoded before the
clock starts; every event has a fresh ``$event_id``, so each one is really
stored. Figures are medians over runs; the acceptance target is 20,000
events/s. ``measure_ingest()`` is what benchmarks/run.py calls.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Optional

import requests

BATCH_SIZE = 100
TARGET_EVENTS_PER_SECOND = 20_000
_HEADERS = {"Authorization": "Bearer priv_bench", "Content-Type": "application/json"}


def _event(index: int) -> dict[str, Any]:
    return {
        "$type": "track",
        "$name": "created a budget",
        "$area": "budgets",
        "$user_id": f"user_{index % 1000}",
        "$visitor_id": str(uuid.uuid4()),
        "$event_id": str(uuid.uuid4()),
        "$sent_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "$sdk_name": "python",
        "$sdk_version": "1.0.0",
        "$platform": "server",
        "plan": "annual",
    }


def _bodies(batches: int) -> list[bytes]:
    return [
        json.dumps({"events": [_event(b * BATCH_SIZE + i) for i in range(BATCH_SIZE)]}).encode()
        for b in range(batches)
    ]


@contextmanager
def collector(memory: bool = False) -> Iterator[str]:
    """Run ``python -m ripples.dev`` on a free port; yields its URL."""
    with tempfile.TemporaryDirectory(prefix="ripples-bench-") as folder:
        db = ":memory:" if memory else os.path.join(folder, "dev.sqlite3")
        process = subprocess.Popen(
            [sys.executable, "-m", "ripples.dev", "--port", "0", "--db", db],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert process.stdout is not None
            url = None
            for line in process.stdout:
                found = re.search(r"RIPPLES_URL=(\S+)", line)
                if found:
                    url = found.group(1)
                    break
            if url is None:
                raise RuntimeError("ripples dev did not start")
            yield url
        finally:
            process.terminate()
            process.wait(10)


def _post_all(url: str, bodies: list[bytes], threads: int) -> float:
    """Post every body from ``threads`` sessions; return the elapsed seconds."""
    endpoint = url + "/v1/ingest/batch"
    shares = [bodies[i::threads] for i in range(threads)]
    sessions = [requests.Session() for _ in range(threads)]
    for session in sessions:  # open the keep-alive connections before the clock starts
        session.get(url + "/api/events?limit=1").raise_for_status()
    start = threading.Barrier(threads + 1)
    errors: list[BaseException] = []

    def work(session: requests.Session, share: list[bytes]) -> None:
        try:
            start.wait()
            for body in share:
                response = session.post(endpoint, data=body, headers=_HEADERS)
                if response.status_code != 200 or response.json()["accepted"] != BATCH_SIZE:
                    raise RuntimeError(f"HTTP {response.status_code}: {response.text[:200]}")
        except BaseException as exc:
            errors.append(exc)

    workers = [
        threading.Thread(target=work, args=(session, share))
        for session, share in zip(sessions, shares)
    ]
    for worker in workers:
        worker.start()
    start.wait()
    began = time.perf_counter()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - began
    for session in sessions:
        session.close()
    if errors:
        raise errors[0]
    return elapsed


def measure_ingest(
    quick: bool = False,
    batches: Optional[int] = None,
    runs: Optional[int] = None,
    thread_counts: tuple[int, ...] = (1, 4),
    memory: bool = False,
    url: Optional[str] = None,
) -> dict[str, dict[str, Any]]:
    """Events/s ingested per client thread count (median of ``runs``), with the target check."""
    batches = batches or (100 if quick else 300)
    runs = runs or (3 if quick else 5)
    results: dict[str, dict[str, Any]] = {}
    with collector(memory) if url is None else _given(url) as base:
        for threads in thread_counts:
            rates = []
            for _ in range(runs):
                bodies = _bodies(batches)
                rates.append(batches * BATCH_SIZE / _post_all(base, bodies, threads))
            median = statistics.median(rates)
            results[f"{threads} thread{'s' if threads > 1 else ''}"] = {
                "events/s": round(median),
                "batches/s": round(median / BATCH_SIZE),
                "min events/s": round(min(rates)),
                "runs": runs,
                "events per run": batches * BATCH_SIZE,
                "store": ":memory:" if memory else "file (WAL)",
                "target 20k/s": "ok" if median >= TARGET_EVENTS_PER_SECOND else "MISSED",
            }
    return results


@contextmanager
def _given(url: str) -> Iterator[str]:
    yield url.rstrip("/")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--batches", type=int, default=None, help="batches of 100 per run")
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--memory", action="store_true", help="use --db :memory:")
    parser.add_argument("--url", default=None, help="measure a collector already running")
    args = parser.parse_args()
    results = measure_ingest(args.quick, args.batches, args.runs, memory=args.memory, url=args.url)
    for case, figures in results.items():
        print(
            f"{case:>10}: {figures['events/s']:>8,} events/s "
            f"({figures['batches/s']:,} batches/s, min {figures['min events/s']:,}, "
            f"median of {figures['runs']}, store {figures['store']}) {figures['target 20k/s']}"
        )


if __name__ == "__main__":
    main()
