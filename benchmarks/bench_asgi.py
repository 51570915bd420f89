"""What ``RipplesMiddleware`` costs per request: requests/s of hello-world Starlette under uvicorn.

    python benchmarks/bench_asgi.py [--rounds 7] [--duration 3] [--connections 32]

One app, served by two uvicorn processes started side by side: bare, and
wrapped in the middleware. Each has a route that tracks nothing and one that
tracks one event; every request carries a ``_rpl_vid`` cookie, so the cookie
read is always paid. ``wrk`` drives one case at a time for ``duration``
seconds, the four cases interleaved (in a rotating order) within every round,
and the table gives medians over rounds; ``ratio`` is the median of the
per-round ratios with/without the middleware. On a shared machine requests/s
swing with other load, so the server's CPU time per request (all its threads,
the sender's included, read from /proc) is given too: it is the steadier
figure of what the middleware costs. Events go to the benchmarks' counting
sink (``_peer_sink``), which stores nothing.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
COOKIE = "_rpl_vid=3f2b8c1e-6a4d-4e8f-9b7a-1c2d3e4f5a6b"
CASES = (
    ("tracks nothing", "/nothing"),
    ("tracks one event", "/one"),
)


def make_app() -> Any:
    """The benchmarked app (a uvicorn ``--factory``): bare unless ``BENCH_ASGI_MIDDLEWARE=1``."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from ripples import Ripples
    from ripples_asgi import RipplesMiddleware

    ripples = Ripples()  # RIPPLES_SECRET_KEY and RIPPLES_URL (the sink) from the environment

    async def nothing(request: Request) -> PlainTextResponse:
        return PlainTextResponse("Hello, world!")

    async def one(request: Request) -> PlainTextResponse:
        ripples.track("said hello", "bench-user", area="bench")
        return PlainTextResponse("Hello, world!")

    app = Starlette(routes=[Route("/nothing", nothing), Route("/one", one)])
    if os.environ.get("BENCH_ASGI_MIDDLEWARE") == "1":
        return RipplesMiddleware(app, client=ripples)
    return app


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_uvicorn(middleware: bool, sink_url: str) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {
        **os.environ,
        "BENCH_ASGI_MIDDLEWARE": "1" if middleware else "0",
        "RIPPLES_SECRET_KEY": "priv_bench_0123456789abcdef",
        "RIPPLES_URL": sink_url,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(HERE)]),
    }
    env.pop("RIPPLES_DISABLED", None)
    command = [
        sys.executable, "-m", "uvicorn", "--factory", "bench_asgi:make_app",
        "--host", "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=HERE, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"uvicorn exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/nothing", timeout=2) as response:
                if response.status == 200:
                    return process, url
        except OSError:
            time.sleep(0.05)  # polling for readiness, with a deadline
    process.kill()
    raise RuntimeError("uvicorn did not start within 30 s")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads, the sender's included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wrk(url: str, duration: float, connections: int, pid: int) -> dict[str, float]:
    """One wrk run: requests/s, median latency and the server's CPU time per request."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(duration))}s", "--latency"]
    command += ["-H", f"Cookie: {COOKIE}", url]
    cpu_before = _cpu_seconds(pid)
    out = subprocess.run(
        command, capture_output=True, text=True, check=True, timeout=duration + 30
    ).stdout
    cpu = _cpu_seconds(pid) - cpu_before
    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk saw errors:\n{out}")
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)\b", out)
    total = re.search(r"(\d+) requests in", out)
    if rps is None or p50 is None or total is None:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}[p50.group(2)]
    return {
        "rps": float(rps.group(1)),
        "p50_ms": float(p50.group(1)) * scale,
        "cpu_us": cpu / max(1, int(total.group(1))) * 1e6,
    }


def measure(
    quick: bool = False,
    rounds: int | None = None,
    duration: float | None = None,
    connections: int = 32,
) -> list[dict[str, Any]]:
    """Medians of interleaved wrk runs, one row per case (see the module docstring)."""
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed (apt-get install wrk)")
    sys.path.insert(0, str(HERE))
    from _peer_sink import PeerSink

    rounds = rounds or (3 if quick else 7)
    duration = duration or (1.0 if quick else 3.0)
    runs: dict[tuple[str, bool], list[dict[str, float]]] = {}
    with PeerSink() as sink:
        servers = {flag: _start_uvicorn(flag, sink.url) for flag in (False, True)}
        try:
            plan = [(case, path, flag) for case, path in CASES for flag in (False, True)]
            for _, path, flag in plan:  # warm-up, not recorded
                _wrk(servers[flag][1] + path, min(1.0, duration), connections, servers[flag][0].pid)
            for n in range(rounds):
                order = plan[n % len(plan) :] + plan[: n % len(plan)]
                for case, path, flag in order:
                    process, url = servers[flag]
                    result = _wrk(url + path, duration, connections, process.pid)
                    runs.setdefault((case, flag), []).append(result)
        finally:
            for process, _ in servers.values():
                process.terminate()
                process.wait(10)
        events = sink.events()
    rows = []
    for case, _ in CASES:
        bare, wrapped = runs[(case, False)], runs[(case, True)]
        ratios = [w["rps"] / b["rps"] for b, w in zip(bare, wrapped)]
        bare_rps = statistics.median(r["rps"] for r in bare)
        wrapped_rps = statistics.median(r["rps"] for r in wrapped)
        bare_cpu = statistics.median(r["cpu_us"] for r in bare)
        wrapped_cpu = statistics.median(r["cpu_us"] for r in wrapped)
        rows.append(
            {
                "case": case,
                "bare_rps": round(bare_rps),
                "middleware_rps": round(wrapped_rps),
                "ratio": round(statistics.median(ratios), 3),
                "cost_us_per_request": round((1 / wrapped_rps - 1 / bare_rps) * 1e6, 1),
                "bare_p50_ms": round(statistics.median(r["p50_ms"] for r in bare), 2),
                "middleware_p50_ms": round(statistics.median(r["p50_ms"] for r in wrapped), 2),
                "bare_cpu_us": round(bare_cpu, 1),
                "middleware_cpu_us": round(wrapped_cpu, 1),
                "cpu_cost_us_per_request": round(wrapped_cpu - bare_cpu, 1),
            }
        )
    rows[-1]["events_at_sink"] = events
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--duration", type=float)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    rows = measure(args.quick, args.rounds, args.duration, args.connections)
    keys = list(dict.fromkeys(k for row in rows for k in row))
    widths = [max(len(k), *(len(str(row.get(k, ""))) for row in rows)) for k in keys]
    print("  ".join(k.ljust(w) for k, w in zip(keys, widths)))
    for row in rows:
        print("  ".join(str(row.get(k, "")).ljust(w) for k, w in zip(keys, widths)))


if __name__ == "__main__":
    main()
