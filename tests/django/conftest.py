"""Fixtures for the Django tests: the test project in-process, and under real servers.

The project's settings are applied for this package only: with
``settings.configure()`` when nothing configured Django yet, else with
``override_settings``. ``DJANGO_SETTINGS_MODULE`` is not set, so it cannot
leak into the subprocesses other test areas start, and ``sys.path`` is left
alone (the servers get the project on their own ``PYTHONPATH``).
"""

from __future__ import annotations

from collections.abc import Iterator

import django
import pytest
from django.conf import settings
from django.test import override_settings

from ripples.dev import DevServer
from ripples_django import ripples

from .helpers import TEST_KEY
from .project import settings as project_settings


@pytest.fixture(scope="package", autouse=True)
def _django_project() -> Iterator[None]:
    values = {name: getattr(project_settings, name) for name in dir(project_settings)}
    values = {name: value for name, value in values.items() if name.isupper()}
    if not settings.configured:
        settings.configure(**values)
        django.setup()
        yield
    else:
        with override_settings(**values):
            yield


@pytest.fixture(autouse=True)
def _isolated_client(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A fresh project client per test; a stray send hits a closed loopback port, never the API."""
    monkeypatch.setenv("RIPPLES_SECRET_KEY", TEST_KEY)
    monkeypatch.setenv("RIPPLES_URL", "http://127.0.0.1:9")
    ripples._reset()  # type: ignore[attr-defined]
    yield
    ripples._reset()  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def collector() -> Iterator[DevServer]:
    """One collector for a module's real-server tests (tests tell their events apart by user)."""
    with DevServer(key=TEST_KEY) as server:
        yield server
