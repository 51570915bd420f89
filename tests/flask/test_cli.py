"""``flask ripples check``: exit 0 only when the API accepted the test event."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest
from flask import Flask
from flaskapp_servers import HERE

from ripples.dev import DevServer
from ripples_flask import Ripples

KEY = "priv_flask_cli_tests_0123"


@pytest.fixture(scope="module")
def collector() -> Iterator[DevServer]:
    with DevServer(host="127.0.0.1", port=0, key=KEY) as server:
        yield server


def test_check_succeeds_through_the_real_flask_command(collector: DevServer) -> None:
    env = {**os.environ, "RIPPLES_SECRET_KEY": KEY, "RIPPLES_URL": collector.url}
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "flaskapp:create_app", "ripples", "check"],
        cwd=HERE, env=env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK" in result.stdout and collector.url in result.stdout
    assert "Delivery ledger: tracked 1, delivered 1, pending 0" in result.stdout
    assert collector.wait_for(1, user_id="ripples-check")[0]["$type"] == "identify"


def _check(**config: object) -> tuple[int, str]:
    app = Flask("cli")
    app.config.update(config)
    Ripples(app)
    result = app.test_cli_runner().invoke(args=["ripples", "check", "--timeout", "10"])
    return result.exit_code, result.output


def test_check_fails_clearly_when_the_key_is_refused(collector: DevServer) -> None:
    code, output = _check(RIPPLES_SECRET_KEY="priv_wrong_key_4242", RIPPLES_URL=collector.url)
    assert code == 1
    assert "refused the secret key" in output and "RIPPLES_SECRET_KEY" in output
    assert "priv_wrong_key_4242" not in output
    assert "Delivery ledger: tracked 1, delivered 0" in output and "refused 1" in output


def test_check_fails_clearly_when_the_url_is_unreachable() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    code, output = _check(RIPPLES_SECRET_KEY=KEY, RIPPLES_URL=url, RIPPLES_MAX_RETRIES=0)
    assert code == 1
    assert "could not reach the API" in output and url in output


def test_check_fails_clearly_without_a_key_or_when_disabled() -> None:
    code, output = _check()
    assert code == 1 and "no secret key" in output
    code, output = _check(RIPPLES_SECRET_KEY=KEY, RIPPLES_DISABLED=True)
    assert code == 1 and "disabled" in output
