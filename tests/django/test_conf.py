"""The ``RIPPLES`` setting and the lazy ``ripples_django.ripples`` client."""

from __future__ import annotations

import inspect
import logging
import re
import threading
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.test import override_settings

import ripples_django
from ripples import Ripples, RipplesConfigError, RipplesValidationError
from ripples.testing import EventRecorder
from ripples_django import conf, ripples

from .helpers import new_visitor

CUSTOM = {
    "BASE_URL": "http://127.0.0.1:9/custom",
    "TIMEOUT": 7,
    "CONNECT_TIMEOUT": 1.5,
    "MAX_QUEUE_SIZE": 11,
    "FLUSH_INTERVAL": 2.5,
    "MAX_BUFFER_SIZE": 1234,
    "MAX_BATCH_SIZE": 12,
    "MAX_RETRIES": 0,
    "FLUSH_TIMEOUT": 4.0,
    "SHUTDOWN_TIMEOUT": 0.5,
    "DISABLED": True,
}


def record_error(exc: Exception) -> None:
    """Referenced by dotted path from ``ON_ERROR``."""


def test_the_public_surface_is_all() -> None:
    assert sorted(ripples_django.__all__) == ["RipplesMiddleware", "ripples"]
    for name in ripples_django.__all__:
        assert getattr(ripples_django, name) is not None


def test_every_keyword_of_ripples_is_an_upper_case_key() -> None:
    keywords = [p for p in inspect.signature(Ripples).parameters if p != "self"]
    assert conf.option_names() == {name.upper(): name for name in keywords}


def test_every_option_reaches_the_client() -> None:
    with override_settings(RIPPLES={**CUSTOM, "SECRET_KEY": "priv_from_settings"}):
        options = ripples.options
    expected = {conf.option_names()[key]: value for key, value in CUSTOM.items()}
    assert {name: options[name] for name in expected} == expected
    assert options["has_secret_key"]


def test_visitor_id_and_on_error_by_dotted_path() -> None:
    visitor = new_visitor()
    path = f"{__name__}.record_error"
    with override_settings(RIPPLES={"VISITOR_ID": visitor, "ON_ERROR": path}):
        assert conf.client_kwargs()["on_error"] is record_error
        with EventRecorder() as events:
            ripples.track("x", "u1")
    assert events[0]["$visitor_id"] == visitor


def test_environment_variables_remain_the_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RIPPLES_URL", "http://127.0.0.1:9/from-env")
    with override_settings(RIPPLES={}):
        assert ripples.options["base_url"] == "http://127.0.0.1:9/from-env"
        assert ripples.options["has_secret_key"]  # RIPPLES_SECRET_KEY
    with override_settings(RIPPLES={"BASE_URL": "http://127.0.0.1:9/setting"}):
        assert ripples.options["base_url"] == "http://127.0.0.1:9/setting"


def test_the_client_is_built_once_for_all_threads() -> None:
    seen: list[Any] = []
    start = threading.Barrier(16)

    def use() -> None:
        start.wait()
        seen.append(ripples._get_client())  # type: ignore[attr-defined]

    threads = [threading.Thread(target=use) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(client) for client in seen}) == 1
    assert isinstance(seen[0], Ripples)


def test_changing_the_setting_rebuilds_the_client() -> None:
    first = ripples._get_client()  # type: ignore[attr-defined]
    assert "lazy <Ripples" in repr(ripples)
    with override_settings(RIPPLES={"TIMEOUT": 9}):
        assert ripples.options["timeout"] == 9
    assert ripples._get_client() is not first  # type: ignore[attr-defined]
    assert ripples.options["timeout"] == 5  # the project setting again


def test_the_project_client_is_a_ripples_and_a_context_manager() -> None:
    assert isinstance(ripples, Ripples)
    with override_settings(RIPPLES={"TIMEOUT": 8}):
        with ripples as entered, EventRecorder() as events:
            assert entered is ripples
            ripples.track("inside with", "u1")
        assert entered.options["timeout"] == 8
    assert [e["$name"] for e in events] == ["inside with"]
    assert ripples.close() is True  # the core's bool, through the project client
    assert ripples.shutdown(timeout=0.1) is True


async def _aflush() -> bool:
    return await ripples.aflush(timeout=0.1)


def test_every_other_attribute_comes_from_the_built_client() -> None:
    import asyncio

    client = ripples._get_client()  # type: ignore[attr-defined]
    assert ripples._sender is client._sender  # type: ignore[attr-defined]
    assert asyncio.run(_aflush()) in (True, False)


def test_the_full_client_api_is_available() -> None:
    with EventRecorder() as events:
        ripples.signup("u1", email="jane@example.com")
        ripples.track("created a budget", "u1", area="budgets")
        ripples.revenue(49.99, "u1")
        ripples.identify("u1", name="Jane")
        ripples.subscription("sub_1", "u1", "active", 29.0)
    assert [e["$type"] for e in events] == ["signup", "track", "revenue", "identify", "revenue"]
    assert ripples.flush(timeout=0.1) in (True, False)
    assert {"flush", "aflush", "close", "track"} <= set(dir(ripples))


def test_validation_errors_still_raise_at_the_call_site() -> None:
    with pytest.raises(RipplesValidationError):
        ripples.track("", "u1")


@pytest.mark.parametrize(
    ("setting", "fragment"),
    [
        ({"TIMOUT": 3}, "TIMOUT"),
        ({"TIMEOUT": -1}, "timeout must be a number > 0, got -1"),
        ({"MAX_RETRIES": -1}, "max_retries must be an int >= 0, got -1"),
        ({"ON_ERROR": "no.such.module.handler"}, "ON_ERROR"),
        ({"BASE_URL": "ftp://example.com"}, "base_url"),
        ({"SPOOL_DIR": 42}, "spool_dir"),
        ({"MAX_SPOOL_BYTES": 0}, "max_spool_bytes must be an int > 0"),
    ],
)
def test_a_misconfiguration_raises_a_config_error_at_startup(
    setting: dict[str, Any], fragment: str
) -> None:
    app = django_apps.get_app_config("ripples_django")
    with override_settings(RIPPLES=setting):
        with pytest.raises(RipplesConfigError, match=re.escape(fragment)) as startup:
            app.ready()
        with pytest.raises(RipplesConfigError, match=re.escape(fragment)):
            ripples.track("x", "u1")  # a setting changed at run time: the same error
    assert isinstance(startup.value, ValueError)


def test_the_spool_options_reach_the_client(tmp_path: Any) -> None:
    setting = {"SPOOL_DIR": tmp_path, "MAX_SPOOL_BYTES": 1024}
    with override_settings(RIPPLES=setting):
        assert ripples.options["spool_dir"] == str(tmp_path)
        assert ripples.options["max_spool_bytes"] == 1024


def test_a_missing_key_disables_sending_with_an_error_log(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("RIPPLES_SECRET_KEY")
    with override_settings(RIPPLES={}), caplog.at_level(logging.ERROR, "ripples.django"):
        django_apps.get_app_config("ripples_django").ready()  # starts without a key
        ripples.signup("u1")
        assert ripples.options["disabled"]
    assert "RIPPLES_SECRET_KEY" in caplog.text


def test_a_non_dict_setting_is_reported() -> None:
    with override_settings(RIPPLES="priv_oops"), pytest.raises(RipplesConfigError, match="dict"):
        conf.client_kwargs()


def test_the_secret_key_never_appears_in_reprs_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    key = "priv_canary_5f1d2c"
    with override_settings(RIPPLES={"SECRET_KEY": key, "TIMEOUT": "x"}):
        with caplog.at_level(logging.DEBUG), pytest.raises(RipplesConfigError) as raised:
            ripples.track("x", "u1")
        assert key not in str(raised.value)
    with override_settings(RIPPLES={"SECRET_KEY": 12345}):
        with pytest.raises(RipplesConfigError, match="secret_key must be a string") as raised:
            ripples.track("x", "u1")
        assert "12345" not in str(raised.value)
    with override_settings(RIPPLES={"SECRET_KEY": key}):
        with caplog.at_level(logging.DEBUG):
            ripples.track("x", "u1")
        assert key not in repr(ripples)
    assert key not in caplog.text
