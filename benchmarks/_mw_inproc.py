"""The in-process half of ``bench_mwcpu.py``: each framework's app called directly, no server.

    python benchmarks/_mw_inproc.py FRAMEWORK ROUNDS REQUESTS   (env: RIPPLES_URL, the sink)
    python benchmarks/_mw_inproc.py --count FRAMEWORK VARIANT PATH REQUESTS

The same apps as the server runs (``_mw_apps.py``), ripples integration (a) and
no-op middleware (b), both built in this one process and called the way their
server calls them: a WSGI ``environ`` with the ``_rpl_vid`` cookie (Flask, Django;
the body iterated and closed) or an ASGI scope (Starlette, in one event loop).
Each round times a then b (order alternating) over ``REQUESTS`` calls with
``time.process_time()``, every thread included: after a slice of ``/one``, the
ripples variant's ``flush()`` waits for the sender thread to deliver, so its
work is in the slice. With no server, socket or other process in the loop, the
round-to-round spread is a fraction of a microsecond, which is what a 3 µs
target needs. Prints one JSON line:
``{"tracks nothing": {"diffs": [a - b, ...], "noop": [b, ...]}, ...}`` (µs per request).
"""

from __future__ import annotations

import asyncio
import gc
import io
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_mwcpu import CASES  # the server benchmark's cases

COOKIE = "_rpl_vid=3f2b8c1e-6a4d-4e8f-9b7a-1c2d3e4f5a6b"
Runner = Callable[[str, int], None]


def _use(variant: str) -> None:
    os.environ["BENCH_MW_VARIANT"] = variant  # read when an app is built (and by Django's /one)


def _wsgi_runner(app: Any) -> Runner:
    def start_response(status: str, headers: Any, exc_info: Any = None) -> None:
        return None

    def run(path: str, n: int) -> None:
        for _ in range(n):
            environ = {
                "REQUEST_METHOD": "GET", "PATH_INFO": path, "SCRIPT_NAME": "",
                "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80",
                "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": "127.0.0.1", "HTTP_COOKIE": COOKIE,
                "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(b""),
                "wsgi.errors": sys.stderr, "wsgi.multithread": True,
                "wsgi.multiprocess": False, "wsgi.run_once": False,
            }  # fmt: skip
            body = app(environ, start_response)
            for _chunk in body:
                pass
            close = getattr(body, "close", None)
            if close is not None:
                close()

    return run


def _asgi_runner(app: Any) -> Runner:
    loop = asyncio.new_event_loop()
    headers = [(b"host", b"127.0.0.1"), (b"cookie", COOKIE.encode())]

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        return None

    async def requests(path: str, n: int) -> None:
        for _ in range(n):
            scope = {
                "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                "method": "GET", "scheme": "http", "path": path, "raw_path": path.encode(),
                "query_string": b"", "root_path": "", "headers": headers,
                "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 80),
            }  # fmt: skip
            await app(scope, receive, send)

    return lambda path, n: loop.run_until_complete(requests(path, n))


def build(framework: str) -> dict[str, Runner]:
    """Both variants' runners, in this process."""
    import _mw_apps

    runners: dict[str, Runner] = {}
    if framework == "django":
        from django.conf import settings
        from django.core.handlers.wsgi import WSGIHandler

        _use("ripples")
        runners["ripples"] = _wsgi_runner(_mw_apps.django_app())
        settings.MIDDLEWARE = [f"{_mw_apps.__name__}.NoopDjangoMiddleware"]
        runners["noop"] = _wsgi_runner(WSGIHandler())
        return runners
    for variant in ("ripples", "noop"):
        _use(variant)
        if framework == "flask":
            runners[variant] = _wsgi_runner(_mw_apps.flask_app())
        else:
            runners[variant] = _asgi_runner(_mw_apps.asgi_app())
    return runners


def count_only(framework: str, variant: str, path: str, requests: int) -> None:
    """``--count``: one variant serves ``requests`` calls of ``path`` and nothing else, for
    an instruction counter (callgrind) run around the whole process."""
    import ripples

    runners = build(framework)
    _use(variant)
    runners[variant](path, 50)
    # Everything built so far out of the collector's way: a full collection over the
    # frameworks' objects would land in the N or the 2N run by chance and swamp the count.
    gc.collect()
    gc.freeze()
    runners[variant](path, requests)
    if variant == "ripples":
        ripples.Ripples().flush()


def main() -> None:
    if sys.argv[1] == "--count":
        count_only(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
        return
    framework, rounds, requests = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    import ripples

    flush = ripples.Ripples().flush  # the same options as the apps' client: the same sender
    runners = build(framework)
    for variant, run in runners.items():
        _use(variant)
        for _, path in CASES:
            run(path, max(200, requests // 10))
    flush()
    figures: dict[str, dict[str, list[float]]] = {
        case: {"diffs": [], "noop": []} for case, _ in CASES
    }
    for n in range(rounds):
        order = ("ripples", "noop") if n % 2 == 0 else ("noop", "ripples")
        for case, path in CASES:
            used: dict[str, float] = {}
            for variant in order:
                _use(variant)
                start = time.process_time()
                runners[variant](path, requests)
                if variant == "ripples" and path == "/one":
                    flush()
                used[variant] = (time.process_time() - start) / requests * 1e6
            figures[case]["diffs"].append(used["ripples"] - used["noop"])
            figures[case]["noop"].append(used["noop"])
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
