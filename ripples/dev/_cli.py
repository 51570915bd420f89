"""``ripples dev``: run the collector in the foreground until Ctrl-C or SIGTERM.

``add_dev_parser(subparsers)`` registers the subcommand on the package CLI
(``ripples/_cli.py``); ``python -m ripples.dev`` runs the same command on
its own.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
from typing import Any, Optional

from ._server import DEFAULT_MAX_BODY_SIZE, DevServer

DEFAULT_PORT = 8788
DEFAULT_DB = os.path.join(".ripples", "dev.sqlite3")


class _Stop(Exception):
    """Raised in the main thread by the SIGTERM handler."""


def _rate(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be a number of seconds >= 0, got {text}")
    return value


def _status(text: str) -> int:
    value = int(text)
    if not 400 <= value <= 599:
        raise argparse.ArgumentTypeError(f"must be an HTTP error status (400-599), got {text}")
    return value


def add_dev_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``ripples dev``, on any parser."""
    parser.add_argument("--host", default="127.0.0.1", help="interface (default: 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port, 0 for any (default: {DEFAULT_PORT})"
    )
    parser.add_argument(
        "--db",
        default=DEFAULT_DB,
        metavar="PATH",
        help=f"SQLite file, or :memory: (default: {DEFAULT_DB})",
    )
    parser.add_argument("--key", default=None, help="require this key (default: any key)")
    faults = parser.add_argument_group("simulated outages (ingest endpoint only)")
    faults.add_argument(
        "--fail-rate",
        type=_rate,
        default=0.0,
        metavar="0..1",
        help="share of batches answered with --fail-status",
    )
    faults.add_argument(
        "--fail-status",
        type=_status,
        default=503,
        metavar="STATUS",
        help="status of a simulated failure (default: 503)",
    )
    faults.add_argument(
        "--retry-after",
        type=_seconds,
        default=None,
        metavar="SECONDS",
        help="Retry-After sent with a simulated 429 or 503",
    )
    faults.add_argument(
        "--latency",
        type=_seconds,
        default=0.0,
        metavar="SECONDS",
        help="wait before answering each batch",
    )
    faults.add_argument("--hang", action="store_true", help="accept connections and never answer")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log every stored batch, not only refused ones"
    )


def add_dev_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``dev`` on an ``add_subparsers()`` object; sets ``func=run_dev``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "dev",
        help="run a local collector with a live inspector page",
        description="Run a local Ripples-compatible collector and its inspector page.",
    )
    add_dev_arguments(parser)
    parser.set_defaults(func=run_dev)
    return parser


def _prepare_db(path: str) -> None:
    """Create the store's folder; a new ``.ripples/`` ignores itself in git."""
    if path == ":memory:":
        return
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        os.makedirs(folder)
        if os.path.basename(folder) == ".ripples":
            with open(os.path.join(folder, ".gitignore"), "w", encoding="utf-8") as ignore:
                ignore.write("*\n")


def run_dev(args: argparse.Namespace) -> int:
    """Serve until interrupted; returns the process exit status."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    logger = logging.getLogger("ripples.dev")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO if args.verbose else logging.WARNING)
    try:
        _prepare_db(args.db)
        server = DevServer(
            args.host,
            args.port,
            args.db,
            args.key,
            fail_rate=args.fail_rate,
            fail_status=args.fail_status,
            retry_after=args.retry_after,
            latency=args.latency,
            hang=args.hang,
            max_body_size=DEFAULT_MAX_BODY_SIZE,
        )
    except Exception as exc:
        print(f"ripples dev: cannot open the store {args.db}: {exc}", file=sys.stderr)
        return 1
    previous = None
    try:  # from here on, Ctrl-C or SIGTERM at any moment is a clean stop
        if threading.current_thread() is threading.main_thread():
            previous = signal.signal(signal.SIGTERM, _raise_stop)
        try:
            server.start()
        except OSError as exc:
            print(
                f"ripples dev: cannot listen on {args.host}:{args.port}: "
                f"{exc.strerror or exc} (another `ripples dev`? try --port 0)",
                file=sys.stderr,
            )
            return 1
        _announce(server, args)
        while True:
            time.sleep(3600)
    except (KeyboardInterrupt, _Stop):
        pass
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        server.close()
        logger.removeHandler(handler)
    print("ripples dev: stopped", flush=True)
    return 0


def _raise_stop(signum: int, frame: Any) -> None:
    raise _Stop


def _announce(server: DevServer, args: argparse.Namespace) -> None:
    faults = []
    if args.hang:
        faults.append("hanging")
    if args.fail_rate:
        faults.append(f"failing {args.fail_rate:.0%} with HTTP {args.fail_status}")
    if args.latency:
        faults.append(f"{args.latency:g}s latency")
    lines = [
        f"ripples dev: collecting on {server.url} (store: {args.db})",
        "",
        "  Point your app at it:",
        f"    export RIPPLES_URL={server.url}",
        "",
        f"  Inspector: {server.url}/",
        "",
        "  "
        + ("Key required (--key)." if args.key else "Any key is accepted.")
        + (f" Simulating: {', '.join(faults)}." if faults else "")
        + " Stop with Ctrl-C.",
    ]
    print("\n".join(lines), flush=True)


def main(argv: Optional[list[str]] = None) -> int:
    """``python -m ripples.dev [options]``."""
    parser = argparse.ArgumentParser(
        prog="python -m ripples.dev",
        description="Run a local Ripples-compatible collector and its inspector page.",
    )
    add_dev_arguments(parser)
    return run_dev(parser.parse_args(argv))
