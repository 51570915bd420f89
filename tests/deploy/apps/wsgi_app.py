"""A Flask app as deployed under gunicorn and uWSGI: one event tracked at import.

With ``--preload`` (gunicorn) or without ``--lazy-apps`` (uWSGI) the import
happens in the master, whose sender then forks into every worker. The
import event must still be stored once, by the process that tracked it.
``/signup?user=...`` tracks a signup through a core client; the extension
binds the request's ``_rpl_vid`` visitor and wakes the sender after the
response. ``flush_interval`` is long, so what is not woken is delivered by
the exit drain or not at all.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from typing import Any

from flask import Flask, request

import ripples
import ripples_flask

# As an app would configure logging: the SDK's "ripples" logger only has a NullHandler.
handler = logging.StreamHandler(sys.stdout)
handler.setFormatter(logging.Formatter("ripples-log %(process)d %(levelname)s %(message)s"))
logging.getLogger("ripples").addHandler(handler)

OPTIONS: dict[str, Any] = {
    "flush_interval": float(os.environ.get("DEPLOY_FLUSH_INTERVAL", "60")),
    "shutdown_timeout": float(os.environ.get("DEPLOY_SHUTDOWN_TIMEOUT", "5")),
    "timeout": float(os.environ.get("DEPLOY_TIMEOUT", "3")),
}

client = ripples.Ripples(**OPTIONS)
client.track("app imported", f"import-{os.getpid()}", pid=os.getpid())

app = Flask(__name__)
ripples_flask.Ripples(app, **OPTIONS)


@app.get("/ready")
def ready() -> str:
    return "ok"


@app.get("/signup")
def signup() -> str:
    client.signup(request.args["user"], pid=os.getpid())
    return str(os.getpid())


try:  # under uWSGI: each worker tracks one more event as it leaves
    uwsgi: Any = importlib.import_module("uwsgi")
except ImportError:
    uwsgi = None

if uwsgi is not None:

    def _worker_exit() -> None:
        """uWSGI calls this in a worker before Python's atexit: only the exit drain sends it."""
        if uwsgi.worker_id() > 0:
            client.track("worker exiting", f"exit-{os.getpid()}", pid=os.getpid())

    uwsgi.atexit = _worker_exit
