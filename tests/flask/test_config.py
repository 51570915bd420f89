"""``app.config`` and extension options: the core's option table and its one policy."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

import ripples
from ripples._options import OPTIONS
from ripples_flask import Ripples
from ripples_flask._config import CONFIG_KEYS

KEY = "priv_flask_config_tests"


def test_every_option_of_the_table_is_a_config_key() -> None:
    assert {f"RIPPLES_{o.name.upper()}": o.name for o in OPTIONS} == CONFIG_KEYS


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"RIPPLES_MAX_RETRIES": -1}, "max_retries must be an int >= 0, got -1"),
        ({"RIPPLES_TIMEOUT": "3"}, "timeout must be a number > 0, got '3'"),
        ({"RIPPLES_SPOOL_DIR": 7}, "spool_dir must be a path"),
    ],
)
def test_an_invalid_value_raises_a_config_error_in_init_app(
    config: dict[str, object], message: str
) -> None:
    app = Flask("invalid")
    app.config.update(RIPPLES_SECRET_KEY=KEY, **config)
    with pytest.raises(ripples.RipplesConfigError, match=message) as raised:
        Ripples(app)
    assert isinstance(raised.value, ValueError)
    assert KEY not in str(raised.value)


def test_the_spool_options_reach_the_client(tmp_path: Path) -> None:
    app = Flask("spool")
    app.config.update(
        RIPPLES_SECRET_KEY=KEY, RIPPLES_SPOOL_DIR=str(tmp_path), RIPPLES_MAX_SPOOL_BYTES=2048
    )
    ext = Ripples(app)
    with app.app_context():
        assert ext.client.options["spool_dir"] == str(tmp_path)
        assert ext.client.options["max_spool_bytes"] == 2048


def test_without_a_key_an_invalid_value_is_still_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RIPPLES_SECRET_KEY", raising=False)
    monkeypatch.delenv("RIPPLES_DISABLED", raising=False)
    broken = Flask("no-key-and-broken")
    broken.config.update(RIPPLES_FLUSH_INTERVAL=0)
    with pytest.raises(ripples.RipplesConfigError, match="flush_interval"):
        Ripples(broken)  # the missing-key policy disables sending; it does not hide this
