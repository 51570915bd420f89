"""What ``RipplesMiddleware`` costs per request, in requests/s with and without it.

Runs the Django test project (``tests/django/project``) under gunicorn (gthread,
1 worker, 4 threads) and uvicorn (ASGI), each with and without the middleware,
all four started before measuring, and loads a view that tracks nothing and
one that tracks one event, pointed at a local ``DevServer``. Runs are
interleaved: in every round each case runs without and with the middleware back
to back (order alternating), and the cost is the median of those paired
ratios, so a busy moment of a shared machine hits both sides alike.

    .venv/bin/python benchmarks/bench_django.py [--duration 3] [--rounds 5]

Uses ``wrk`` when installed (it barely loads the CPU), else keep-alive
``requests`` sessions in threads. ``measure()`` returns the rows for other
benchmark scripts.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from ripples.dev import DevServer  # noqa: E402
from tests.django.servers import serve  # noqa: E402  (the test project's server launcher)

KEY = "priv_bench_0123456789"
VIEWS = {"tracks nothing": "/hello/", "tracks one event": "/track/?u=bench&second=0"}
SERVERS = {"wsgi": "gunicorn gthread", "asgi": "uvicorn"}


def load(url: str, duration: float, connections: int, cookie: str) -> float:
    """Requests per second that ``connections`` keep-alive clients get from ``url``."""
    wrk = shutil.which("wrk")
    if wrk:
        output = subprocess.run(
            [
                wrk,
                "-t2",
                f"-c{connections}",
                f"-d{max(1, round(duration))}s",
                "-H",
                f"Cookie: {cookie}",
                url,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        match = re.search(r"Requests/sec:\s*([\d.]+)", output)
        if not match or "Non-2xx" in output or "Socket errors" in output:
            raise RuntimeError(f"wrk run failed or saw errors:\n{output}")
        return float(match.group(1))
    return _load_with_threads(url, duration, connections, cookie)


def _load_with_threads(url: str, duration: float, connections: int, cookie: str) -> float:
    counts = [0] * connections
    deadline = time.monotonic() + duration

    def client(index: int) -> None:
        with requests.Session() as session:
            while time.monotonic() < deadline:
                response = session.get(url, headers={"Cookie": cookie}, timeout=10)
                response.raise_for_status()
                counts[index] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(connections)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.monotonic() - began)


def measure(
    *,
    duration: float = 3.0,
    rounds: int = 5,
    connections: int = 8,
    servers: tuple[str, ...] = ("wsgi", "asgi"),
    quick: bool = False,
) -> list[dict[str, Any]]:
    """One row per (server, view): median requests/s without and with the middleware.

    ``ratio`` is the median of paired with/without runs (1.0: free), ``us_per_request``
    the cost it implies; ``quick`` shortens the runs for smoke tests.
    """
    if quick:
        duration, rounds = min(duration, 1.0), min(rounds, 2)
    cookie = f"_rpl_vid={uuid.uuid4()}"
    runs: dict[tuple[str, str, bool], list[float]] = {}
    with DevServer(key=KEY) as collector, contextlib.ExitStack() as stack:
        urls = {}
        for kind in servers:
            for middleware in (False, True):
                env = {
                    "RIPPLES_URL": collector.url,
                    "RIPPLES_SECRET_KEY": KEY,
                    "RIPPLES_TEST_MIDDLEWARE": "1" if middleware else "0",
                    "RIPPLES_TEST_FLUSH_INTERVAL": "1",  # the default, as in production
                }
                urls[kind, middleware] = stack.enter_context(serve(kind, env))
        for base in urls.values():  # warm up: imports, first client
            for path in VIEWS.values():
                load(base + path, 1, connections, cookie)
        for round_ in range(rounds):
            for view, path in VIEWS.items():
                for kind in servers:
                    # Back to back, order alternating: a busy moment hits both sides.
                    order = (False, True) if round_ % 2 == 0 else (True, False)
                    for middleware in order:
                        rps = load(urls[kind, middleware] + path, duration, connections, cookie)
                        runs.setdefault((kind, view, middleware), []).append(rps)
    rows = []
    for kind in servers:
        for view in VIEWS:
            bare, mw = runs[kind, view, False], runs[kind, view, True]
            ratio = statistics.median(w / b for w, b in zip(mw, bare))
            without, with_ = statistics.median(bare), statistics.median(mw)
            rows.append(
                {
                    "case": f"{SERVERS[kind]}, {view}",
                    "server": SERVERS[kind],
                    "view": view,
                    "rps_without": round(without, 1),
                    "rps_with": round(with_, 1),
                    "ratio": round(ratio, 3),
                    "overhead_pct": round(100 * (1 - ratio), 1),
                    "us_per_request": round(1e6 * (1 / (without * ratio) - 1 / without), 1),
                    "runs_without": [round(r, 1) for r in bare],
                    "runs_with": [round(r, 1) for r in mw],
                }
            )
    return rows


def format_table(rows: list[dict[str, Any]]) -> str:
    header = (
        f"{'server':<18}{'view':<18}{'req/s without':>15}{'req/s with':>12}"
        f"{'paired cost':>13}{'µs/req':>9}"
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        lines.append(
            f"{row['server']:<18}{row['view']:<18}{row['rps_without']:>15.0f}"
            f"{row['rps_with']:>12.0f}{row['overhead_pct']:>12.1f}%{row['us_per_request']:>9.0f}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per run")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved runs per configuration")
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    rows = measure(duration=args.duration, rounds=args.rounds, connections=args.connections)
    tool = "wrk" if shutil.which("wrk") else "requests threads"
    print(
        f"load: {tool}, {args.connections} keep-alive connections, {args.duration:g}s runs, "
        f"medians of {args.rounds} interleaved rounds"
    )
    print(format_table(rows))


if __name__ == "__main__":
    main()
