"""The secret key never shows in reprs, exceptions or logs."""

from __future__ import annotations

import logging
from typing import Callable

import pytest

from ripples import Ripples
from ripples.dev import DevServer

from ..polling import wait_until

SECRET = "priv_super_secret_value_123"


def test_key_not_in_repr_or_str(server: DevServer) -> None:
    client = Ripples(SECRET, base_url=server.url)
    assert SECRET not in repr(client) and SECRET not in str(client)
    assert "secret_key" not in client.options and SECRET not in repr(client.options)
    assert SECRET not in repr(client._sender) and SECRET not in repr(client._sender.config)


def test_key_never_logged_or_reported(
    caplog: pytest.LogCaptureFixture, make_client: Callable[..., Ripples]
) -> None:
    caplog.set_level(logging.DEBUG, logger="ripples")
    errors: list[Exception] = []
    with DevServer(key="priv_other") as strict:
        client = make_client(secret_key=SECRET, base_url=strict.url, on_error=errors.append)
        client.signup("u1")
        client.flush(timeout=10)
        wait_until(lambda: bool(errors))
    down = make_client(
        secret_key=SECRET, base_url=strict.url, on_error=errors.append, max_retries=1
    )
    down.signup("u1")
    down.flush(timeout=10)
    wait_until(lambda: len(errors) >= 2)
    assert caplog.records
    assert SECRET not in caplog.text
    for error in errors:
        assert SECRET not in str(error) and SECRET not in repr(error)


def test_plain_http_to_a_public_host_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="ripples")
    Ripples("priv_x", base_url="http://analytics.example.com/api")
    Ripples("priv_x", base_url="http://analytics.example.com/api")
    Ripples("priv_x", base_url="http://127.0.0.1:9/api")
    warnings = [r for r in caplog.records if "plain http" in r.getMessage()]
    assert len(warnings) == 1
    assert "analytics.example.com" in warnings[0].getMessage()
