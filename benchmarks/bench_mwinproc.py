"""Middleware cost without a server (issue 15): in-process CPU and instruction counts.

    python benchmarks/bench_mwinproc.py [--quick] [--frameworks asgi,django,flask]
                                        [--no-instructions]

The server figures of ``bench_mwcpu.py`` carry the whole server's noise: on
this 2-core VM the same server's CPU per request moves by a third from one
slice of 1,000 requests to the next, far more than a 3 µs target. Two
measurements of the same a - b (ripples integration minus the no-op
middleware, the apps of ``_mw_apps.py``) that can resolve it:

- **E. In-process CPU**: both variants built in one process and called directly
  (``_mw_inproc.py``), paired rounds of ``time.process_time()`` (every thread,
  so the sender's delivery of ``/one`` events is in; the collector is this
  process's ``PeerSink``, outside the measured one).
- **F. Instructions** (``valgrind --tool=callgrind``, when installed): each
  variant and path serves N and then 3N requests in a fresh process (the objects
  built before the requests frozen out of the garbage collector's way); the
  difference over 2N is instructions per request, the same on a busy or an idle
  machine, to about ±1,500 instructions between runs. Converted to µs at the
  no-op app's own instructions per µs (from E).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Optional

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from _peer_sink import PeerSink  # noqa: E402
from _report import log, spread  # noqa: E402
from bench_mwcpu import (  # noqa: E402  (the same cases, targets and tables)
    CASES,
    FRAMEWORKS,
    LIMITS,
    middleware_table,
)

LABELS = {"asgi": "Starlette (ASGI)", "django": "Django (WSGI)", "flask": "Flask (WSGI)"}
CHILD = HERE / "_mw_inproc.py"


def _env(sink_url: str) -> dict[str, str]:
    env = {
        **os.environ,
        "RIPPLES_SECRET_KEY": "priv_bench_0123456789abcdef",
        "RIPPLES_URL": sink_url,
        "PYTHONPATH": os.pathsep.join([str(HERE.parent), str(HERE)]),
    }
    env.pop("RIPPLES_DISABLED", None)
    return env


def _child(args: list[str], env: dict[str, str], prefix: Optional[list[str]] = None) -> str:
    done = subprocess.run(
        [*(prefix or []), sys.executable, str(CHILD), *args],
        env=env, cwd=HERE, capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"_mw_inproc {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return done.stdout + done.stderr


def cpu_rows(frameworks: tuple[str, ...], rounds: int, requests: int) -> list[dict[str, Any]]:
    """E: per framework and case, the paired per-round a - b in CPU µs per request."""
    rows = []
    with PeerSink() as sink:
        for framework in frameworks:
            log(f"mwinproc: {framework}, {rounds} rounds in-process")
            out = _child([framework, str(rounds), str(requests)], _env(sink.url))
            diffs = json.loads(out.strip().splitlines()[0])
            for case, _ in CASES:
                rows.append(
                    {
                        "framework": framework,
                        "case": case,
                        "cost_us": statistics.median(diffs[case]["diffs"]),
                        "diffs": diffs[case]["diffs"],
                        "noop_us": statistics.median(diffs[case]["noop"]),
                        "limit_us": LIMITS[case],
                    }
                )
    return rows


def _instructions(args: list[str], env: dict[str, str]) -> int:
    out = _child(
        ["--count", *args], env, ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
    )
    found = re.search(r"Collected : (\d+)", out)
    if found is None:
        raise RuntimeError(f"no instruction count from callgrind:\n{out[-2000:]}")
    return int(found.group(1))


def instruction_rows(
    frameworks: tuple[str, ...], requests: int, cpu: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """F: instructions per request of a and b (N and 2N requests per fresh process)."""
    rows = []
    with PeerSink() as sink, ThreadPoolExecutor(max_workers=2) as pool:
        env = _env(sink.url)
        jobs = {
            (f, v, path, n): pool.submit(_instructions, [f, v, path, str(n)], env)
            for f in frameworks
            for v in ("ripples", "noop")
            for _, path in CASES
            for n in (requests, 3 * requests)
        }
        for framework in frameworks:
            for case, path in CASES:
                log(f"mwinproc: {framework} {case} under callgrind")
                per = {
                    v: (jobs[(framework, v, path, 3 * requests)].result()
                        - jobs[(framework, v, path, requests)].result()) / (2 * requests)
                    for v in ("ripples", "noop")
                }  # fmt: skip
                noop_us = next(
                    r["noop_us"] for r in cpu if r["framework"] == framework and r["case"] == case
                )
                rate = per["noop"] / noop_us if noop_us > 0 else None  # instructions per µs
                extra = per["ripples"] - per["noop"]
                rows.append(
                    {
                        "framework": framework,
                        "case": case,
                        "ripples_instructions": per["ripples"],
                        "noop_instructions": per["noop"],
                        "extra_instructions": extra,
                        "cost_us": extra / rate if rate else None,
                        "limit_us": LIMITS[case],
                    }
                )
    return rows


def render_cpu(rows: list[dict[str, Any]], rounds: int, requests: int) -> str:
    head = (
        f"\nE. Middleware CPU in-process (no server): the framework's app called directly, "
        f"ripples integration (a) vs no-op middleware (b), {requests:,} requests per slice, "
        f"{rounds} paired rounds (median; spread of a - b)"
    )
    return middleware_table(
        head,
        ["framework", "case", "b µs/req", "a - b µs", "spread"],
        rows,
        lambda r: [
            LABELS[r["framework"]],
            r["case"],
            r["noop_us"],
            r["cost_us"],
            spread(r["diffs"]),
        ],
    )


def render_instructions(rows: list[dict[str, Any]], requests: int) -> str:
    head = (
        f"\nF. Middleware instructions per request (callgrind, {requests} and {3 * requests} "
        "requests per process; µs at the no-op app's own instructions per µs from E). Under "
        "valgrind the sender's time-based batching posts ~50x smaller batches, so the one-event "
        "rows overstate the sending: the one-event target is judged as the tracks-nothing "
        "figure plus the all-in cost per event of section A"
    )
    return middleware_table(
        head,
        ["framework", "case", "a instr/req", "b instr/req", "a - b instr", "a - b ≈ µs"],
        rows,
        lambda r: [
            LABELS[r["framework"]],
            r["case"],
            round(r["ripples_instructions"]),
            round(r["noop_instructions"]),
            round(r["extra_instructions"]),
            r["cost_us"],
        ],
    )


def has_callgrind() -> bool:
    return shutil.which("valgrind") is not None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--frameworks", default=",".join(FRAMEWORKS))
    parser.add_argument("--no-instructions", action="store_true")
    args = parser.parse_args()
    frameworks = tuple(f for f in args.frameworks.split(",") if f)
    rounds, requests = (3, 500) if args.quick else (21, 4_000)
    cpu = cpu_rows(frameworks, rounds, requests)
    print(render_cpu(cpu, rounds, requests))
    if not args.no_instructions and has_callgrind():
        counted = 100 if args.quick else 1000
        print(render_instructions(instruction_rows(frameworks, counted, cpu), counted))


if __name__ == "__main__":
    main()
