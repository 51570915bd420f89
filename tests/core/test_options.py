"""The option table: one source for ``Ripples()``, the framework configs and the docs."""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

import pytest

import ripples
from ripples import Ripples, RipplesConfigError, RipplesError
from ripples._options import BY_NAME, OPTIONS, markdown_table, resolve

ROOT = Path(__file__).resolve().parents[2]
KEY = "priv_options_canary_8c1e"
TABLE = re.compile(r"<!-- options-table[^>]*-->\n(.*?)<!-- /options-table -->", re.S)


def test_the_signature_is_the_table() -> None:
    parameters = list(inspect.signature(Ripples).parameters.values())
    assert [p.name for p in parameters] == [option.name for option in OPTIONS]
    for parameter in parameters:
        assert parameter.default == BY_NAME[parameter.name].default or parameter.default is None


def test_config_error_is_a_value_error_and_exported() -> None:
    assert issubclass(RipplesConfigError, RipplesError)
    assert issubclass(RipplesConfigError, ValueError)
    assert ripples.RipplesConfigError is RipplesConfigError
    assert "RipplesConfigError" in ripples.__all__


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("max_retries", -1, "max_retries must be an int >= 0, got -1"),
        ("max_retries", 1.5, "max_retries must be an int >= 0, got 1.5"),
        ("timeout", 0, "timeout must be a number > 0, got 0"),
        ("timeout", True, "timeout must be a number > 0, got True"),
        ("timeout", None, "timeout must be a number > 0, got None"),
        ("timeout", float("nan"), "timeout must be a number > 0, got nan"),
        ("shutdown_timeout", -0.1, "shutdown_timeout must be a number >= 0, got -0.1"),
        ("max_batch_size", 0, "max_batch_size must be an int > 0, got 0"),
        ("max_queue_size", "10", "max_queue_size must be an int > 0, got '10'"),
        ("base_url", "ftp://example.com", "base_url must be an http(s) URL"),
        ("base_url", 8080, "base_url must be a string, got 8080"),
        ("on_error", "print", "on_error must be a callable"),
        ("disabled", "maybe", "disabled must be a bool"),
        ("visitor_id", "not-a-uuid", "visitor_id must be a visitor UUID"),
        ("spool_dir", 42, "spool_dir must be a path"),
        ("spool_dir", "", "spool_dir must be a non-empty path"),
        ("max_spool_bytes", 0, "max_spool_bytes must be an int > 0, got 0"),
    ],
)
def test_each_bad_value_raises_a_config_error_naming_the_option(
    name: str, value: Any, message: str
) -> None:
    with pytest.raises(RipplesConfigError) as raised:
        Ripples(KEY, **{name: value})
    assert str(raised.value).startswith(f"Ripples(): {message}")


def test_zero_retries_and_a_zero_shutdown_timeout_are_allowed() -> None:
    options = Ripples(KEY, max_retries=0, shutdown_timeout=0, disabled=True).options
    assert options["max_retries"] == 0 and options["shutdown_timeout"] == 0.0


def test_a_missing_key_is_a_config_error_that_names_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("RIPPLES_SECRET_KEY", raising=False)
    monkeypatch.delenv("RIPPLES_DISABLED", raising=False)
    with pytest.raises(RipplesConfigError, match="RIPPLES_SECRET_KEY"):
        Ripples()
    assert Ripples(disabled=True).options["has_secret_key"] is False


def test_a_wrongly_typed_key_is_refused_without_showing_it() -> None:
    with pytest.raises(RipplesConfigError, match="secret_key must be a string") as raised:
        Ripples(12345678)  # type: ignore[arg-type]
    assert "12345678" not in str(raised.value)


def test_the_spool_options_are_validated_stored_and_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = Ripples(KEY, spool_dir=tmp_path, max_spool_bytes=1 << 20, disabled=True)
    assert client.options["spool_dir"] == str(tmp_path)
    assert client.options["max_spool_bytes"] == 1 << 20
    assert Ripples(KEY, disabled=True).options["spool_dir"] is None
    assert Ripples(KEY, disabled=True).options["max_spool_bytes"] == 256 * 1024 * 1024

    monkeypatch.setenv("RIPPLES_SPOOL_DIR", str(tmp_path / "from-env"))
    assert Ripples(KEY, disabled=True).options["spool_dir"] == str(tmp_path / "from-env")
    a_file = tmp_path / "file"
    a_file.write_text("")
    with pytest.raises(RipplesConfigError, match="spool_dir must be a directory"):
        Ripples(KEY, spool_dir=a_file)


def test_environment_variables_fill_what_is_not_given() -> None:
    environ = {
        "RIPPLES_SECRET_KEY": KEY,
        "RIPPLES_URL": "http://127.0.0.1:9/",
        "RIPPLES_DISABLED": "yes",
    }
    values = resolve({}, environ)
    assert values["secret_key"] == KEY
    assert values["base_url"] == "http://127.0.0.1:9"
    assert values["disabled"] is True
    explicit = resolve({"base_url": "http://127.0.0.1:8/", "disabled": False}, environ)
    assert explicit["base_url"] == "http://127.0.0.1:8" and explicit["disabled"] is False
    assert resolve({}, {})["disabled"] is False
    with pytest.raises(RipplesConfigError, match="disabled must be a bool"):
        resolve({}, {"RIPPLES_DISABLED": "sometimes"})


def test_unknown_names_are_refused() -> None:
    with pytest.raises(RipplesConfigError, match="unknown option"):
        resolve({"flush_intervall": 3})


def test_the_options_property_never_holds_the_key() -> None:
    options = Ripples(KEY, disabled=True).options
    assert KEY not in repr(options)
    assert set(options) >= {o.name for o in OPTIONS} - {"secret_key", "on_error", "visitor_id"}


def test_the_docs_table_is_generated_from_the_option_table() -> None:
    documents = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    tables = [
        (path, match[1])
        for path in documents
        for match in TABLE.finditer(path.read_text(encoding="utf-8"))
    ]
    assert tables, "no <!-- options-table --> block in README.md or docs/"
    for path, table in tables:
        assert table == markdown_table(), f"{path}: regenerate with markdown_table()"
    for option in OPTIONS:
        assert f"| `{option.name}` |" in markdown_table()


def test_equal_values_of_another_type_are_checked_again() -> None:
    assert Ripples(KEY, max_retries=1, disabled=True).options["max_retries"] == 1
    with pytest.raises(RipplesConfigError, match="max_retries must be an int >= 0, got True"):
        Ripples(KEY, max_retries=True)  # == 1, but a bool: the memo must not answer for it


def test_a_changed_environment_is_read_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RIPPLES_URL", "http://127.0.0.1:9/a")
    assert Ripples(KEY, disabled=True).options["base_url"] == "http://127.0.0.1:9/a"
    monkeypatch.setenv("RIPPLES_URL", "http://127.0.0.1:9/b")
    assert Ripples(KEY, disabled=True).options["base_url"] == "http://127.0.0.1:9/b"
