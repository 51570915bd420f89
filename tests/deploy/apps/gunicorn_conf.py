"""gunicorn settings for the deployment matrix: each worker tracks an event at boot and at exit.

That event is not woken by any request of its own, so a worker that served
nothing still has to deliver it through the exit drain at SIGTERM.
"""

from __future__ import annotations

import os
from typing import Any

bind = "127.0.0.1:0"
workers = 2
graceful_timeout = 5
preload_app = True


def post_worker_init(worker: Any) -> None:
    from wsgi_app import client  # type: ignore[import-not-found]

    client.track("worker booted", f"worker-{os.getpid()}", pid=os.getpid())
    # After init_signals: a SIGTERM from now on is handled (one that arrives while a
    # worker boots is lost, and gunicorn kills the worker at graceful_timeout).
    print(f"worker ready {os.getpid()}", flush=True)


def worker_exit(server: Any, worker: Any) -> None:
    """Runs as the worker leaves: only the exit drain (atexit) can deliver this event."""
    from wsgi_app import client

    client.track("worker exiting", f"exit-{os.getpid()}", pid=os.getpid())
