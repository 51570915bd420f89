"""The public surface: what 0.1.x users import keeps working, nothing private leaks."""

from __future__ import annotations

import inspect

import ripples


def test_exported_names_match_all() -> None:
    assert ripples.Ripples  # the public names load on first use
    public = {name for name in vars(ripples) if name[0] not in "_@"}
    assert public - {"testing", "dev"} == set(ripples.__all__) - {"__version__"}
    for name in ripples.__all__:
        assert hasattr(ripples, name)


def test_official_0_1_names_are_available() -> None:
    for name in (
        "Ripples",
        "RipplesError",
        "VISITOR_COOKIE",
        "set_visitor_id",
        "visitor_id_from_cookies",
    ):
        assert name in ripples.__all__


def test_official_0_1_signatures_are_accepted() -> None:
    init = inspect.signature(ripples.Ripples.__init__).parameters
    for name in (
        "secret_key",
        "base_url",
        "timeout",
        "connect_timeout",
        "on_error",
        "max_queue_size",
        "visitor_id",
    ):
        assert name in init
    assert list(inspect.signature(ripples.Ripples.revenue).parameters)[:3] == [
        "self",
        "amount",
        "user_id",
    ]
    assert list(inspect.signature(ripples.Ripples.track).parameters)[:3] == [
        "self",
        "action_name",
        "user_id",
    ]
    assert list(inspect.signature(ripples.Ripples.subscription).parameters)[:6] == [
        "self",
        "subscription_id",
        "user_id",
        "status",
        "amount",
        "interval",
    ]


def test_errors_keep_status_code() -> None:
    error = ripples.RipplesError("boom", status_code=503)
    assert error.status_code == 503 and str(error) == "boom"
    assert ripples.Ripples.__module__ == "ripples"
