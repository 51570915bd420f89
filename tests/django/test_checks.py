"""System checks: ids, when they fire, and that installing the app binds them."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from ripples_django.checks import check_settings
from ripples_django.middleware import RipplesMiddleware

MIDDLEWARE = ["ripples_django.middleware.RipplesMiddleware"]


class ProjectMiddleware(RipplesMiddleware):
    """A project's own subclass counts as installed."""


def ids(**settings: Any) -> list[str]:
    settings.setdefault("MIDDLEWARE", MIDDLEWARE)
    with override_settings(**settings):
        return [message.id for message in check_settings()]


def test_a_complete_configuration_passes() -> None:
    assert ids(RIPPLES={"SECRET_KEY": "priv_x", "BASE_URL": "https://ripples.example.com"}) == []


def test_no_key_is_an_error_with_a_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RIPPLES_SECRET_KEY")
    assert ids(RIPPLES={}) == ["ripples_django.E001"]
    with override_settings(RIPPLES={}, MIDDLEWARE=MIDDLEWARE):
        (error,) = check_settings()
    assert "RIPPLES_SECRET_KEY" in error.hint and "DISABLED" in error.hint


def test_no_key_is_fine_when_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RIPPLES_SECRET_KEY")
    assert ids(RIPPLES={"DISABLED": True}) == []
    monkeypatch.setenv("RIPPLES_DISABLED", "1")
    assert ids(RIPPLES={}) == []


def test_the_key_may_come_from_the_environment() -> None:
    assert ids(RIPPLES={}) == []  # RIPPLES_SECRET_KEY is set by the fixture


@pytest.mark.parametrize(
    "setting",
    [{"SECRET_KEY": "priv_x", "TIMOUT": 3}, {"MAX_RETRIES": -1}, {"ON_ERROR": "no.such.thing"}, []],
)
def test_unknown_keys_and_invalid_values_are_errors(setting: Any) -> None:
    assert ids(RIPPLES=setting) == ["ripples_django.E002"]


def test_a_missing_middleware_is_a_warning() -> None:
    assert ids(MIDDLEWARE=[]) == ["ripples_django.W001"]
    assert ids(MIDDLEWARE=[f"{__name__}.ProjectMiddleware"]) == []
    assert ids(MIDDLEWARE=["no.such.Middleware", *MIDDLEWARE]) == []


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://ripples.example.com", ["ripples_django.W002"]),
        ("http://10.0.0.5:8788", ["ripples_django.W002"]),
        ("https://ripples.example.com", []),
        ("http://127.0.0.1:8788", []),
        ("http://localhost:8788", []),
        ("http://[::1]:8788", []),
    ],
)
def test_plain_http_to_a_public_host_is_a_warning(url: str, expected: list[str]) -> None:
    assert ids(RIPPLES={"BASE_URL": url}) == expected


def test_the_checks_are_registered_by_the_app(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RIPPLES_SECRET_KEY")
    with override_settings(RIPPLES={}), pytest.raises(SystemCheckError, match="E001"):
        call_command("check")
    with override_settings(SILENCED_SYSTEM_CHECKS=["ripples_django.E001"]):
        call_command("check")
