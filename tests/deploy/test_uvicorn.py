"""uvicorn with ``RipplesMiddleware(client=...)``: SIGTERM during an outage and during a backoff.

uvicorn re-raises SIGTERM after the lifespan shutdown, so no atexit hook
runs and the middleware's ``aclose()`` is the only delivery at shutdown. It
must attempt delivery whatever the backoff state, and give up within
``shutdown_timeout`` when the API is down, saying how many events it could
not deliver.
"""

from __future__ import annotations

import signal
import time
import uuid

import pytest

from ripples.dev import DevServer
from tests.polling import wait_until

from .conftest import MARGIN, Launched, Launcher, assert_exactly_once

SHUTDOWN_TIMEOUT = 2.0
EVENTS = 3


def _start(launch: Launcher, **env: str) -> Launched:
    app = launch(
        ["python", "-m", "uvicorn", "asgi_app:app", "--host", "127.0.0.1", "--port", "0"],
        DEPLOY_SHUTDOWN_TIMEOUT=str(SHUTDOWN_TIMEOUT),
        **env,
    )
    port = int(app.wait_for_line(r"Uvicorn running on http://127\.0\.0\.1:(\d+)").group(1))
    app.wait_ready(port)
    return app


def _track(app: Launched, prefix: str) -> dict[str, str]:
    """``EVENTS`` signups, each with its own visitor cookie; returns user -> visitor."""
    expected = {f"{prefix}-{index}": str(uuid.uuid4()) for index in range(EVENTS)}
    for user, visitor in expected.items():
        status, body = app.get(f"/signup?user={user}", f"_rpl_vid={visitor}")
        assert status == 200, body
    return expected


def _exited_after_sigterm(app: Launched, bound: float) -> None:
    app.send_signal(signal.SIGTERM)
    code = app.wait_exit(bound)
    # uvicorn re-raises the signal after its shutdown (older versions exit 0).
    assert code in (0, -signal.SIGTERM), app.output
    assert "Application shutdown complete" in app.output, app.output


@pytest.mark.parametrize("outage", ["stopped", "hanging"])
def test_sigterm_during_an_outage_exits_within_shutdown_timeout_and_reports_the_count(
    launch: Launcher, server: DevServer, outage: str
) -> None:
    # A long read timeout: a hung request would outlast shutdown_timeout on its own.
    app = _start(launch, DEPLOY_TIMEOUT="30")
    if outage == "stopped":
        server.stop()
    else:
        server.hang = True
    _track(app, f"uvicorn-{outage}")

    def all_pending() -> bool:
        stats = app.get_json("/stats")
        return stats["pending"] == EVENTS and (outage == "hanging" or stats["retries"] >= 1)

    wait_until(all_pending, 15, "the events to be pending after a failed attempt")
    _exited_after_sigterm(app, SHUTDOWN_TIMEOUT + MARGIN)
    after = app.output_after_signal
    assert f"could not deliver {EVENTS} events within {SHUTDOWN_TIMEOUT:.1f}s" in after, after
    assert "on_error RipplesAPIError: ripples: close() could not deliver" in after

    server.hang = False
    server.start()  # the collector is back: nothing arrives later from a dead process
    assert server.events() == []


def test_sigterm_during_a_backoff_delivers_everything(launch: Launcher, server: DevServer) -> None:
    # No retries within a batch: the first 503 spends them, and its Retry-After
    # (60 s) puts the sender in a backoff far longer than the test.
    app = _start(launch, DEPLOY_MAX_RETRIES="0")
    server.fail_rate = 1.0
    server.retry_after = 60
    expected = _track(app, "uvicorn-backoff")

    def backing_off() -> bool:
        stats = app.get_json("/stats")
        until = stats["backing_off_until"]
        return stats["pending"] == EVENTS and until is not None and until - time.time() > 30

    wait_until(backing_off, 15, "the sender to back off with every event pending")
    assert app.get_json("/stats")["last_error"]
    server.fail_rate = 0.0  # the API recovers; the sender would wait another minute
    _exited_after_sigterm(app, SHUTDOWN_TIMEOUT + MARGIN)

    events = assert_exactly_once(server, list(expected), context=app.output)
    for user, visitor in expected.items():
        assert events[user]["$visitor_id"] == visitor
    assert "could not deliver" not in app.output_after_signal, app.output
