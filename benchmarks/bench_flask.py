"""What ``ripples_flask`` costs per request: requests/s with and without it, same run.

    .venv/bin/python benchmarks/bench_flask.py [--rounds 5] [--duration 2] [--connections 8]

One gunicorn worker (``-w 1 -k gthread --threads 4``), pointed at a local
``DevServer``, serves the same hello-world Flask app twice: under ``/plain``
without the extension and under ``/ext`` with it, so both share one process
and its luck. Two views: ``hello`` tracks nothing, ``track`` tracks one event
(through the extension, or a plain ``ripples.Ripples()`` client without it, which
then sends on its timer instead of after each response). ``wrk`` (or a Python
keep-alive client when wrk is missing) loads one case at a time, the four cases
interleaved within each round; the table shows medians. ``measure()`` returns
the rows for ``benchmarks/run.py``.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil

HERE = Path(__file__).resolve().parent
KEY = "priv_bench_flask_0123456789"
CASES = (("tracks nothing", "/hello"), ("one event", "/track?user=bench"))


def _flask_app(extension: bool, **options: Any) -> Any:
    from flask import Flask

    import ripples

    app = Flask(f"bench_flask_{extension}")
    if extension:
        from ripples_flask import Ripples

        client: Any = Ripples(app, **options)
    else:
        client = ripples.Ripples(**options)

    @app.get("/hello")
    def hello() -> str:
        return "Hello, World!"

    @app.get("/track")
    def track() -> str:
        client.track("viewed page", "bench-user", area="bench")
        return "Hello, World!"

    return app


def create_app() -> Any:
    """Both apps in one worker (``/plain/...`` and ``/ext/...``), so they share its luck."""
    from werkzeug.exceptions import NotFound
    from werkzeug.middleware.dispatcher import DispatcherMiddleware

    return DispatcherMiddleware(
        NotFound(), {"/plain": _flask_app(extension=False), "/ext": _flask_app(extension=True)}
    )


class _Gunicorn:
    def __init__(self, env: dict[str, str]) -> None:
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            "1",
            "-k",
            "gthread",
            "--threads",
            "4",
            "-b",
            "127.0.0.1:0",
            "--chdir",
            str(HERE),
            "bench_flask:create_app()",
        ]
        from gunicorn.config import KNOWN_SETTINGS

        if any(setting.name == "control_socket_disable" for setting in KNOWN_SETTINGS):
            command.insert(-1, "--no-control-socket")  # gunicorn 24+: no shared socket file
        self.process = subprocess.Popen(
            command, env={**os.environ, **env}, stderr=subprocess.PIPE, text=True
        )
        assert self.process.stderr is not None
        for line in self.process.stderr:
            match = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", line)
            if match:
                self.port = int(match.group(1))
                break
        else:
            raise RuntimeError("gunicorn did not start")
        self._drain = threading.Thread(target=self.process.stderr.read, daemon=True)
        self._drain.start()
        _get(self.port, "/plain/hello")
        self.worker = psutil.Process(self.process.pid).children()[0]

    def cpu_seconds(self) -> float:
        """CPU used by the worker (request threads and sender thread): robust to a busy host."""
        times = self.worker.cpu_times()
        return float(times.user + times.system)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)
        self._drain.join(5)
        if self.process.stderr is not None:
            self.process.stderr.close()


def _get(port: int, path: str) -> None:
    deadline = time.monotonic() + 20
    while True:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            connection.request("GET", path)
            assert connection.getresponse().status == 200
            connection.close()
            return
        except (ConnectionError, OSError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _load_wrk(port: int, path: str, duration: float, connections: int) -> tuple[float, int]:
    result = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(duration))}s",
            f"http://127.0.0.1:{port}{path}",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    if "Non-2xx" in result.stdout or "Socket errors" in result.stdout:
        raise RuntimeError(f"wrk saw errors:\n{result.stdout}")
    rate = re.search(r"Requests/sec:\s+([\d.]+)", result.stdout)
    count = re.search(r"(\d+) requests in", result.stdout)
    assert rate and count, result.stdout
    return float(rate.group(1)), int(count.group(1))


def _load_python(port: int, path: str, duration: float, connections: int) -> tuple[float, int]:
    """Fallback load: keep-alive clients in threads (slower than wrk, same for every case)."""
    counts = [0] * connections
    stop_at = time.monotonic() + duration

    def client(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while time.monotonic() < stop_at:
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            assert response.status == 200
            counts[index] += 1
        connection.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(connections)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.monotonic() - started), sum(counts)


def measure(
    rounds: int = 5, duration: float = 2.0, connections: int = 8, quick: bool = False
) -> list[dict[str, Any]]:
    """Median requests/s per case, without and with the extension, interleaved per round.

    ``ratio`` is with/without (1.0 = free); ``cost_us`` the extra time per request;
    ``cpu_us_*`` the worker's CPU time per request, which a busy host disturbs less.
    """
    from ripples.dev import DevServer

    if quick:
        rounds, duration = 3, 1.0
    load = _load_wrk if shutil.which("wrk") else _load_python
    runs: dict[tuple[str, bool], list[float]] = {}
    cpu: dict[tuple[str, bool], list[float]] = {}
    with DevServer(host="127.0.0.1", port=0) as collector:
        env = {"RIPPLES_SECRET_KEY": KEY, "RIPPLES_URL": collector.url}
        server = _Gunicorn(env)
        try:
            for _, path in CASES:  # warm up the worker and the sender
                for prefix in ("/plain", "/ext"):
                    load(server.port, prefix + path, 1.0, connections)
            for index in range(rounds):
                order = (False, True) if index % 2 == 0 else (True, False)
                for name, path in CASES:
                    for extension in order:
                        prefix = "/ext" if extension else "/plain"
                        before = server.cpu_seconds()
                        rps, count = load(server.port, prefix + path, duration, connections)
                        used = server.cpu_seconds() - before
                        runs.setdefault((name, extension), []).append(rps)
                        cpu.setdefault((name, extension), []).append(used / count * 1e6)
        finally:
            server.stop()
    rows = []
    for name, _ in CASES:
        without = statistics.median(runs[(name, False)])
        with_ext = statistics.median(runs[(name, True)])
        spread = max(
            (max(values) - min(values)) / statistics.median(values)
            for key, values in runs.items()
            if key[0] == name
        )
        rows.append(
            {
                "name": name,
                "without_rps": round(without),
                "with_rps": round(with_ext),
                "ratio": round(with_ext / without, 3),
                "cost_us": round((1 / with_ext - 1 / without) * 1e6, 1),
                "spread_pct": round(spread * 100, 1),
                "cpu_us_without": round(statistics.median(cpu[(name, False)]), 1),
                "cpu_us_with": round(statistics.median(cpu[(name, True)]), 1),
                "runs": rounds,
                "load": f"{load.__name__[6:]} c={connections} {duration:g}s",
            }
        )
    return rows


def measure_in_process(
    repeats: int = 7, number: int = 3000, quick: bool = False
) -> list[dict[str, Any]]:
    """The wrapper's own cost, without a server: ``app(environ, start_response)`` in a loop.

    Best of ``repeats`` (timeit-style, as the host's noise only ever adds time),
    with and without the extension interleaved, per case.
    """
    from werkzeug.test import EnvironBuilder

    from ripples.dev import DevServer

    if quick:
        repeats, number = 5, 1000

    def start_response(status: str, headers: Any, exc_info: Any = None) -> None:
        return None

    def per_request(app: Any, environ: dict[str, Any]) -> float:
        started = time.perf_counter()
        for _ in range(number):
            body = app(dict(environ), start_response)
            for _chunk in body:
                pass
            body.close()
        return (time.perf_counter() - started) / number * 1e6

    cookie = "theme=dark; _rpl_vid=3f2b8c1e-6a4d-4e8f-9b7a-1c2d3e4f5a6b"
    cases = (
        ("tracks nothing, no cookie", "/hello", None),
        ("tracks nothing, visitor cookie", "/hello", cookie),
        ("one event, visitor cookie", "/track", cookie),
    )
    rows = []
    with DevServer(host="127.0.0.1", port=0) as collector:
        options = {"secret_key": KEY, "base_url": collector.url}
        apps = {extension: _flask_app(extension, **options) for extension in (False, True)}
        for name, path, cookie_header in cases:
            headers = [("Cookie", cookie_header)] if cookie_header else []
            environ = EnvironBuilder(path=path, headers=headers).get_environ()
            timings: dict[bool, list[float]] = {False: [], True: []}
            for _ in range(repeats):
                for extension in (False, True):
                    timings[extension].append(per_request(apps[extension], environ))
            without, with_ext = min(timings[False]), min(timings[True])
            rows.append(
                {
                    "name": name,
                    "without_us": round(without, 1),
                    "with_us": round(with_ext, 1),
                    "overhead_us": round(with_ext - without, 1),
                }
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=float, default=2.0, help="seconds per load run")
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    rows = measure(args.rounds, args.duration, args.connections)
    print("ripples_flask under gunicorn -w 1 -k gthread --threads 4 (median requests/s)")
    header = (
        f"{'case':<16}{'without':>10}{'with':>10}{'ratio':>8}{'cost/request':>15}{'spread':>9}"
        f"{'CPU/req without':>17}{'with':>8}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row['name']:<16}{row['without_rps']:>10}{row['with_rps']:>10}"
            f"{row['ratio']:>8.3f}{row['cost_us']:>12.1f} us{row['spread_pct']:>8.1f}%"
            f"{row['cpu_us_without']:>14.0f} us{row['cpu_us_with']:>5.0f} us"
        )
    print(
        f"({rows[0]['runs']} interleaved rounds, load: {rows[0]['load']}; spread = "
        "(max - min) / median of the runs of a case)"
    )
    print("\nIn process, no server (best of 7): microseconds per request")
    for row in measure_in_process():
        print(
            f"  {row['name']:<32}{row['without_us']:>7.1f} -> {row['with_us']:>6.1f} us"
            f"  (+{row['overhead_us']:.1f})"
        )


if __name__ == "__main__":
    main()
