"""``manage.py ripples_check`` against a real collector: success, wrong key, no server, no key."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from ripples.dev import DevServer
from tests.ports import free_port

from .helpers import TEST_KEY
from .servers import HERE, REPO


@pytest.fixture
def configured(collector: DevServer) -> DevServer:
    collector.clear()
    return collector


def check(**options: object) -> str:
    out = io.StringIO()
    call_command("ripples_check", stdout=out, **options)
    return out.getvalue()


def test_success_sends_one_test_event(configured: DevServer) -> None:
    with override_settings(RIPPLES={"BASE_URL": configured.url, "SECRET_KEY": TEST_KEY}):
        output = check()
    assert "OK:" in output and configured.url in output
    assert "settings.RIPPLES['SECRET_KEY']" in output
    assert "Delivery ledger: tracked 1, delivered 1, pending 0" in output
    assert "spooled 0, recovered 0, spool 0 bytes" in output
    (event,) = configured.wait_for(1, type="track", user_id="ripples_check")
    assert event["$name"] == "ripples_check"


def test_a_wrong_key_is_named_as_the_problem(configured: DevServer) -> None:
    settings = override_settings(RIPPLES={"BASE_URL": configured.url})
    with settings, pytest.raises(CommandError, match=r"refused the secret key.*--key") as info:
        check(key="priv_wrong_key_123")
    assert "priv_wrong_key_123" not in str(info.value)


def test_an_unreachable_url_is_named_as_the_problem() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(CommandError, match="Could not reach"):
        check(url=url, timeout=2)


def test_a_missing_key_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RIPPLES_SECRET_KEY")
    with override_settings(RIPPLES={}), pytest.raises(CommandError, match="RIPPLES_SECRET_KEY"):
        check()


def test_the_exit_status_tells_success_from_failure(configured: DevServer) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if k != "RIPPLES_SECRET_KEY"},
        "DJANGO_SETTINGS_MODULE": "project.settings",
        "PYTHONPATH": os.pathsep.join([str(HERE), str(REPO)]),
        "RIPPLES_URL": configured.url,
    }
    command = [sys.executable, "-m", "django", "ripples_check"]
    ok = subprocess.run(command, env={**env, "RIPPLES_SECRET_KEY": TEST_KEY}, capture_output=True)
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run([*command, "--key", "priv_wrong"], env=env, capture_output=True)
    assert bad.returncode != 0
    assert b"refused the secret key" in bad.stderr
    unset = subprocess.run(command, env=env, capture_output=True)  # no key configured at all
    assert unset.returncode != 0
    assert b"Ripples is not configured" in unset.stderr
