"""``ripples demo``: the example apps under their real servers, checked against a local collector.

It starts a ``DevServer`` in this process and each example project (shipped in the package
as ``ripples/_examples``, or the checkout's ``example_projects/``) as a subprocess of this
interpreter (gunicorn for Django and Flask, uvicorn for FastAPI) on a loopback socket it
binds itself, so no port can be taken in between. Then it plays
the product journey for a few simulated visitors per app, in parallel, each with its
own ``_rpl_vid`` cookie, waits for the events, prints a report and checks it: the exit
status is 0 only when every expected event arrived exactly once with the right visitor.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from typing import IO, Any, Optional

from ._apps import (
    DEMO_KEY,
    EXAMPLES,
    DemoError,
    Example,
    RunningApp,
    examples_dir,
    missing_packages,
    start_app,
    wait_until_ready,
)
from ._check import summarize, verify
from ._journey import Visitor, journey_requests, make_visitors, play

__all__ = ["add_demo_parser", "main", "run_demo"]


class Progress:
    """One rewritten status line on a terminal; plain lines (only on change) otherwise."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.lock = threading.Lock()
        self.last = ""
        self.done = 0
        self.total = 0

    def show(self, text: str, *, transient: bool = False) -> None:
        """``transient`` updates (counters) are only drawn on a terminal."""
        with self.lock:
            if text == self.last or (transient and not self.tty):
                return
            self.last = text
            if self.tty:
                self.stream.write(f"\r\033[K{text}")
            else:
                self.stream.write(f"ripples demo: {text}\n")
            self.stream.flush()

    def tick(self) -> None:
        with self.lock:
            self.done += 1
            done, total = self.done, self.total
        self.show(f"playing the journey: {done}/{total} requests", transient=done < total)

    def close(self) -> None:
        """Clear the status line (before the report is printed)."""
        with self.lock:
            if self.tty and self.last:
                self.stream.write("\r\033[K")
                self.stream.flush()
            self.last = ""


def add_demo_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "demo",
        help="run the example apps against a local collector and check every event",
        description=(
            "Start a local collector and the Django, Flask and FastAPI example apps under "
            "gunicorn and uvicorn, play the product journey for simulated visitors with their "
            "own _rpl_vid cookies, and check that every event arrived exactly once with the "
            "right visitor. Exit status: 0 all good, 1 events missing or wrong, 2 cannot run."
        ),
    )
    parser.add_argument(
        "--apps",
        default=",".join(e.name for e in EXAMPLES),
        metavar="NAMES",
        help="comma-separated examples to run (default: all)",
    )
    parser.add_argument(
        "--visitors",
        type=int,
        default=3,
        metavar="N",
        help="simulated browser visitors per app, plus one API client (default: 3)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="how long to wait for the events (default: 30)",
    )
    parser.add_argument(
        "--keep", action="store_true", help="leave the collector and apps running until Ctrl-C"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=0,
        metavar="N",
        help="the collector's port (default: any free port)",
    )
    parser.add_argument(
        "--examples",
        metavar="PATH",
        help="the example_projects directory (default: the installed copy, else the checkout's)",
    )
    parser.set_defaults(func=run_demo)
    return parser


def run_demo(args: argparse.Namespace) -> int:
    """Run the demo; the exit status says whether every event arrived as it should."""
    progress = Progress(sys.stderr)
    with _terminate_gracefully():
        try:
            return _run(args, progress)
        except DemoError as exc:
            progress.close()
            print(f"ripples demo: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            return 130
        finally:
            progress.close()


@contextmanager
def _terminate_gracefully() -> Iterator[None]:
    """Turn SIGTERM into an exit that unwinds, so the app servers are stopped, not orphaned."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def leave(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, leave)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _selected(names: str) -> list[Example]:
    wanted = [name.strip() for name in names.split(",") if name.strip()]
    known = {example.name: example for example in EXAMPLES}
    unknown = [name for name in wanted if name not in known]
    if unknown or not wanted:
        raise DemoError(f"unknown app(s) {', '.join(unknown)}; choose from {', '.join(known)}")
    return [known[name] for name in wanted]


def _run(args: argparse.Namespace, progress: Progress) -> int:
    chosen = _selected(args.apps)
    examples = examples_dir(args.examples)
    missing = missing_packages(chosen)
    if missing:
        raise DemoError(
            f"the demo needs packages that are not installed: {', '.join(missing)}\n"
            f"Install them with:\n  {sys.executable} -m pip install 'ripples[all]'"
            f"\n(in a clone of the repository: {sys.executable} -m pip install -e '.[all]')"
            f"\nor just these with:\n  {sys.executable} -m pip install {' '.join(missing)}"
        )
    if args.visitors < 1:
        raise DemoError("--visitors must be at least 1")
    from ripples.dev import DevServer

    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ripples-demo-")))
        progress.show("starting the collector")
        server = stack.enter_context(DevServer(port=args.port, db=":memory:", key=DEMO_KEY))
        apps = stack.enter_context(_serving(chosen, examples, server.url, workdir, progress))
        visitors = {
            app.example.name: make_visitors(app.example.name, args.visitors) for app in apps
        }
        everyone = [visitor for group in visitors.values() for visitor in group]
        started = time.monotonic()
        _play_all(apps, visitors, progress)
        played = time.monotonic()
        expected = sum(len(visitor.expected) for visitor in everyone)
        arrived = _wait_for_events(server, expected, args.timeout, progress)
        timing = f"journey played in {played - started:.1f}s; " + (
            f"every event arrived within {time.monotonic() - played:.1f}s of the last request"
            if arrived >= expected
            else f"{arrived} of {expected} events arrived within {args.timeout:g}s"
        )
        if not args.keep:
            progress.show("stopping the apps (the SDK drains at exit)")
            for app in apps:
                app.stop()
        events = server.events()
        progress.close()
        problems = verify(events, everyone)
        if arrived < expected and len(events) >= expected:
            problems.append(
                f"only {arrived} of {expected} events arrived within {args.timeout:g}s of the "
                "journey; the rest came when the apps shut down"
            )
        print(f"Ripples demo: {len(everyone)} simulated users, collector at {server.url}")
        print(timing, end="\n\n")
        for app in apps:
            print(summarize(app, visitors[app.example.name], events), end="\n\n")
        print(_verdict(problems, expected, len(events)))
        if problems and _sdk_messages(apps):
            print(_sdk_messages(apps))
        if args.keep:
            _keep_running(server.url, apps)
        return 1 if problems else 0


def _play_all(
    apps: Sequence[RunningApp], visitors: dict[str, list[Visitor]], progress: Progress
) -> None:
    """Every visitor of every app at once, one thread each, like real concurrent users."""
    jobs = [(visitor, app.url) for app in apps for visitor in visitors[app.example.name]]
    progress.total = sum(journey_requests(visitor) for visitor, _ in jobs)
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        runs = [pool.submit(play, visitor, url, progress.tick) for visitor, url in jobs]
        for run in runs:
            run.result()  # a journey's own failures are recorded; this surfaces bugs


@contextmanager
def _serving(
    chosen: Sequence[Example], examples: Path, url: str, workdir: Path, progress: Progress
) -> Iterator[list[RunningApp]]:
    apps: list[RunningApp] = []
    try:
        for example in chosen:
            progress.show(f"starting {example.name} under {example.server}")
            apps.append(start_app(example, examples, url, workdir))
        for app in apps:
            progress.show(f"waiting for {app.example.name} to answer")
            wait_until_ready(app)
        yield apps
    finally:
        for app in apps:
            app.stop()


def _wait_for_events(server: Any, expected: int, timeout: float, progress: Progress) -> int:
    deadline = time.monotonic() + timeout
    while True:
        count = len(server.events())
        finished = count >= expected or time.monotonic() >= deadline
        progress.show(f"waiting for events: {count}/{expected}", transient=not finished)
        if finished:
            return count
        # Not there yet raises: loop to refresh the progress line and check the deadline.
        with suppress(AssertionError):
            server.wait_for(count + 1, timeout=max(0.05, min(0.5, deadline - time.monotonic())))


def _verdict(problems: list[str], expected: int, received: int) -> str:
    if not problems:
        return (
            f"OK: all {expected} expected events arrived exactly once, "
            "each with the right visitor (or none, for the API clients)."
        )
    counted = Counter(problems)  # "missing track 'added transaction'" nine times is one line
    lines = [f"FAILED: expected {expected} events, got {received}:"]
    lines += [f"  - {problem}" + (f" (x{n})" if n > 1 else "") for problem, n in counted.items()]
    return "\n".join(
        lines[:40] + ([f"  ... and {len(lines) - 40} more"] if len(lines) > 40 else [])
    )


def _sdk_messages(apps: Sequence[RunningApp]) -> str:
    """What the SDK logged in each app (a refused key, an unreachable URL), for a failed run."""
    lines = []
    for app in apps:
        said = [line.strip() for line in app.log_tail(400).splitlines() if "ripples:" in line]
        lines += [f"  {app.example.name}: {line}" for line in dict.fromkeys(said[-3:])]
    return "The SDK logged, last lines per app:\n" + "\n".join(lines) if lines else ""


def _keep_running(url: str, apps: Sequence[RunningApp]) -> None:
    print(f"\nInspector: {url}/")
    for app in apps:
        print(f"App {app.example.name}: {app.url}/  (open it to click through by hand)")
    print("Collector and apps keep running; press Ctrl-C to stop.", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        print()


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m ripples._demo``: the same command without the ``ripples`` entry point."""
    parser = argparse.ArgumentParser(prog="ripples")
    add_demo_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["demo", *(argv if argv is not None else sys.argv[1:])])
    return int(args.func(args))
