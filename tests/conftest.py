"""Fixtures shared by every test area: a real collector on loopback and clients pointed at it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any, Callable

import pytest

from ripples import Ripples
from ripples.dev import DevServer

#: ``pytester`` runs users' test files in a sandbox (tests/testing).
pytest_plugins = ["pytester"]

TEST_KEY = "priv_test_0123456789abcdef"

# The suite must never reach the hosted API, whatever the developer's shell exports.
for _name in ("RIPPLES_SECRET_KEY", "RIPPLES_URL", "RIPPLES_DISABLED", "RIPPLES_SPOOL_DIR"):
    os.environ.pop(_name, None)


@pytest.fixture
def server() -> Iterator[DevServer]:
    """A fresh in-memory collector on a free loopback port."""
    with DevServer() as dev_server:
        yield dev_server


@pytest.fixture
def make_client(server: DevServer) -> Iterator[Callable[..., Ripples]]:
    """Build clients pointed at ``server``; each is closed after the test."""
    clients: list[Ripples] = []

    def make(**options: Any) -> Ripples:
        options.setdefault("secret_key", TEST_KEY)
        options.setdefault("base_url", server.url)
        client = Ripples(**options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close(timeout=2)


@pytest.fixture
def client(make_client: Callable[..., Ripples]) -> Ripples:
    return make_client()
