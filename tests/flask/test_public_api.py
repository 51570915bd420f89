"""The public surface of ``ripples_flask`` is exactly ``__all__``."""

from __future__ import annotations
import __future__

import types

import ripples_flask


def test_all_lists_exactly_the_public_names() -> None:
    public = {
        name
        for name, value in vars(ripples_flask).items()
        if not name.startswith("_")
        and not isinstance(value, (types.ModuleType, __future__._Feature))
    }
    assert public == set(ripples_flask.__all__) == {"Ripples"}
    assert ripples_flask.Ripples.__module__ == "ripples_flask"


def test_close_returns_the_cores_bool() -> None:
    from flask import Flask

    delivered = Flask("closes-clean")
    ext = ripples_flask.Ripples(delivered, secret_key="priv_close", disabled=True)
    with delivered.app_context():
        assert ext.close() is True
    stuck = Flask("closes-with-events-left")
    ext = ripples_flask.Ripples(
        stuck, secret_key="priv_close", base_url="http://127.0.0.1:9", max_retries=0
    )
    with stuck.app_context():
        ext.track("never delivered", "u1")
        assert ext.close(timeout=0.2) is False
