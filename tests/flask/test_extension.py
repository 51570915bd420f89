"""The extension object in-process: app factory, configuration, errors, the WSGI wrapper.

Flask's test client drives real requests through ``app.wsgi_app`` here; it only
calls the body's ``close()`` when the response is closed, so each test closes
its responses, as real servers do after the last byte.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, request, send_file, stream_with_context
from gunicorn.http.wsgi import FileWrapper
from werkzeug.test import EnvironBuilder

import ripples
from ripples.dev import DevServer
from ripples_flask import Ripples
from ripples_flask._config import OPTION_NAMES

KEY = "priv_flask_extension_tests"


def make_app(ext: Ripples, name: str = "app", **config: Any) -> Flask:
    app = Flask(name)
    app.config.update(config)
    ext.init_app(app)

    @app.get("/track")
    def track() -> str:
        ext.track("viewed page", request.args["user"])
        return "ok"

    @app.get("/boom")
    def boom() -> str:
        ext.track("before error", request.args["user"])
        raise LookupError("boom")

    @app.get("/file")
    def file() -> Any:
        ext.track("downloaded file", request.args["user"])
        return send_file(__file__)

    return app


@pytest.fixture
def collector() -> Iterator[DevServer]:
    with DevServer(host="127.0.0.1", port=0) as server:
        yield server


def test_app_factory_gives_each_app_its_own_client_and_config(collector: DevServer) -> None:
    with DevServer(host="127.0.0.1", port=0) as other:
        ext = Ripples()
        first = make_app(
            ext,
            "first",
            RIPPLES_SECRET_KEY=KEY,
            RIPPLES_BASE_URL=collector.url,
            RIPPLES_FLUSH_INTERVAL=60,
        )
        second = make_app(
            ext,
            "second",
            RIPPLES_SECRET_KEY=KEY,
            RIPPLES_URL=other.url,
            RIPPLES_FLUSH_INTERVAL=60,
            RIPPLES_TIMEOUT=7,
        )
        assert first.extensions["ripples"] is ext is second.extensions["ripples"]
        with first.app_context():
            assert ext.client.options["base_url"] == collector.url
            assert ext.client.options["timeout"] == 3
        with second.app_context():
            assert ext.client.options["base_url"] == other.url
            assert ext.client.options["timeout"] == 7

        visitor = str(uuid.uuid4())
        for app, user in ((first, "factory-first"), (second, "factory-second")):
            client = app.test_client()
            client.set_cookie("_rpl_vid", visitor)
            client.get(f"/track?user={user}").close()
        # No flush() anywhere and flush_interval=60: closing the response sent them.
        assert collector.wait_for(1, user_id="factory-first")[0]["$visitor_id"] == visitor
        assert other.wait_for(1, user_id="factory-second")[0]["$visitor_id"] == visitor
        assert collector.events(user_id="factory-second") == []
        assert other.events(user_id="factory-first") == []


def _base_url(monkeypatch: pytest.MonkeyPatch, options: dict[str, Any], **config: Any) -> str:
    monkeypatch.setenv("RIPPLES_SECRET_KEY", KEY)
    monkeypatch.setenv("RIPPLES_URL", "http://127.0.0.1:1/env")
    app = Flask("precedence")
    app.config.update(config)
    ext = Ripples(app, **options)
    with app.app_context():
        return str(ext.client.options["base_url"])


def test_explicit_options_beat_app_config_which_beats_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env, alias = "http://127.0.0.1:1/env", "http://127.0.0.1:1/alias"
    config, explicit = "http://127.0.0.1:1/config", "http://127.0.0.1:1/explicit"
    assert _base_url(monkeypatch, {}) == env
    assert _base_url(monkeypatch, {}, RIPPLES_BASE_URL=None) == env
    assert _base_url(monkeypatch, {}, RIPPLES_URL=alias) == alias
    assert _base_url(monkeypatch, {}, RIPPLES_BASE_URL=config, RIPPLES_URL=alias) == config
    assert _base_url(monkeypatch, {"base_url": explicit}, RIPPLES_BASE_URL=config) == explicit


def test_the_secret_key_follows_the_same_precedence(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with DevServer(host="127.0.0.1", port=0, key=KEY) as collector:
        monkeypatch.setenv("RIPPLES_URL", collector.url)

        def refusals(options: dict[str, Any], **config: Any) -> list[int | None]:
            errors: list[Exception] = []
            app = Flask("keys")
            app.config.update(config, RIPPLES_ON_ERROR=errors.append)
            ext = Ripples(app, **options)
            with app.app_context():
                ext.identify("key-precedence")
                ext.flush(timeout=5)
            return [getattr(error, "status_code", None) for error in errors]

        monkeypatch.setenv("RIPPLES_SECRET_KEY", "priv_wrong_env")
        assert refusals({}) == [401]
        assert refusals({}, RIPPLES_SECRET_KEY=KEY) == []
        monkeypatch.setenv("RIPPLES_SECRET_KEY", KEY)
        assert refusals({}) == []
        assert refusals({}, RIPPLES_SECRET_KEY="priv_wrong_config") == [401]
        assert refusals({"secret_key": KEY}, RIPPLES_SECRET_KEY="priv_wrong_config") == []


def test_every_core_option_is_read_from_app_config(collector: DevServer) -> None:
    values = {
        "timeout": 7.0,
        "connect_timeout": 4.0,
        "max_queue_size": 11,
        "flush_interval": 9.0,
        "max_buffer_size": 1234,
        "max_batch_size": 77,
        "max_retries": 5,
        "flush_timeout": 6.0,
        "shutdown_timeout": 2.0,
        "base_url": collector.url,
        "max_spool_bytes": 4096,
    }
    visitor = str(uuid.uuid4())
    errors: list[Exception] = []
    behavioural = {"secret_key": KEY, "visitor_id": visitor, "on_error": errors.append}
    assert {*values, *behavioural, "disabled", "spool_dir"} == set(OPTION_NAMES)
    app = Flask("options")
    options = {**values, **behavioural}
    app.config.update({f"RIPPLES_{name.upper()}": value for name, value in options.items()})
    ext = Ripples(app)
    with app.app_context():
        assert {name: ext.client.options[name] for name in values} == values
        ext.track("outside a request", "options-user")
        assert ext.flush(timeout=5)
    assert collector.wait_for(1, user_id="options-user")[0]["$visitor_id"] == visitor
    assert errors == []

    disabled = Flask("disabled")
    disabled.config.update(RIPPLES_DISABLED=True)
    Ripples(disabled)
    with disabled.app_context():
        assert disabled.extensions["ripples"].client.options["disabled"] is True


def test_calls_outside_an_app_context_raise_a_clear_error() -> None:
    ext = Ripples(secret_key=KEY)
    with pytest.raises(RuntimeError, match="app_context"):
        ext.track("created a budget", "user_123")
    with pytest.raises(RuntimeError, match="app_context"):
        ext.flush()
    unregistered = Flask("unregistered")
    with unregistered.app_context(), pytest.raises(RuntimeError, match="init_app"):
        ext.signup("user_123")


def test_setup_mistakes_are_reported_when_the_app_is_built() -> None:
    with pytest.raises(ripples.RipplesConfigError, match="flush_intervall"):
        Ripples(flush_intervall=3)
    typo = Flask("typo")
    typo.config.update(RIPPLES_SECRET_KEY=KEY, RIPPLES_FLUSH_INTERVALL=3)
    with pytest.raises(ripples.RipplesConfigError, match="did you mean RIPPLES_FLUSH_INTERVAL"):
        Ripples(typo)
    app = Flask("twice")
    app.config.update(RIPPLES_SECRET_KEY=KEY)
    ext = Ripples(app)
    with pytest.raises(RuntimeError, match="already registered"):
        ext.init_app(app)
    with pytest.raises(RuntimeError, match="already registered"):
        Ripples(app)


def test_a_missing_key_does_not_stop_the_app_but_is_logged_and_nothing_is_sent(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = Flask("no-key")
    with caplog.at_level(logging.ERROR, logger="ripples.flask"):
        ext = Ripples(app)
    assert "RIPPLES_SECRET_KEY" in caplog.text
    with app.app_context():
        assert ext.client.options["disabled"] is True
        with pytest.raises(ripples.RipplesValidationError):
            ext.revenue("lots", "user_123")  # bad calls still fail loudly in development
        ext.revenue(49.99, "user_123")
    response = app.test_client().get("/")
    assert response.status_code == 404
    response.close()


def test_an_error_in_the_view_still_flushes_and_unbinds(collector: DevServer) -> None:
    ext = Ripples()
    app = make_app(
        ext, RIPPLES_SECRET_KEY=KEY, RIPPLES_BASE_URL=collector.url, RIPPLES_FLUSH_INTERVAL=60
    )
    app.testing = True  # propagate the exception out of app.wsgi_app
    client = app.test_client()
    client.set_cookie("_rpl_vid", str(uuid.uuid4()))
    with pytest.raises(LookupError):
        client.get("/boom?user=error-user")
    assert len(collector.wait_for(1, user_id="error-user")) == 1
    with app.app_context():
        ext.track("after the request", "error-after")
        ext.flush(timeout=5)
    assert "$visitor_id" not in collector.wait_for(1, user_id="error-after")[0]


def test_a_visitor_set_earlier_on_the_thread_never_leaks_into_a_request(
    collector: DevServer,
) -> None:
    ext = Ripples()
    app = make_app(ext, RIPPLES_SECRET_KEY=KEY, RIPPLES_BASE_URL=collector.url)
    stale = str(uuid.uuid4())

    def on_a_used_thread() -> None:
        ripples.set_visitor_id(stale)  # what a 0.1.x-style job might leave behind
        app.test_client().get("/track?user=stale-in-request").close()
        with app.app_context():
            ext.track("after the request", "stale-after")
            ext.flush(timeout=5)

    # In a copy of the context, so the stale binding cannot leak into later tests.
    contextvars.copy_context().run(on_a_used_thread)
    assert "$visitor_id" not in collector.wait_for(1, user_id="stale-in-request")[0]
    assert collector.wait_for(1, user_id="stale-after")[0]["$visitor_id"] == stale


def test_a_server_file_wrapper_is_passed_through_and_flushes_on_close(
    collector: DevServer,
) -> None:
    ext = Ripples()
    app = make_app(
        ext, RIPPLES_SECRET_KEY=KEY, RIPPLES_BASE_URL=collector.url, RIPPLES_FLUSH_INTERVAL=60
    )
    visitor = str(uuid.uuid4())
    builder = EnvironBuilder(
        path="/file", query_string="user=wrapper-user", headers=[("Cookie", f"_rpl_vid={visitor}")]
    )
    environ = builder.get_environ()
    environ["wsgi.file_wrapper"] = FileWrapper  # gunicorn's: it sends these with sendfile()
    statuses: list[str] = []

    def start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
        statuses.append(status)

    result: Any = app.wsgi_app(environ, start_response)
    assert type(result) is FileWrapper
    assert statuses == ["200 OK"]
    result.close()
    builder.close()
    assert collector.wait_for(1, user_id="wrapper-user")[0]["$visitor_id"] == visitor


def test_aflush_waits_without_blocking_the_loop(collector: DevServer) -> None:
    ext = Ripples()
    app = make_app(
        ext, RIPPLES_SECRET_KEY=KEY, RIPPLES_BASE_URL=collector.url, RIPPLES_FLUSH_INTERVAL=60
    )

    async def job() -> bool:
        with app.app_context():
            ext.identify("async-user", plan="pro")
            return await ext.aflush(timeout=5)

    assert asyncio.run(job()) is True
    assert collector.events(user_id="async-user")[0]["plan"] == "pro"


_probe: contextvars.ContextVar[str] = contextvars.ContextVar("probe", default="unset")


def test_a_streamed_body_runs_in_the_views_context_and_leaks_nothing(
    collector: DevServer,
) -> None:
    ext = Ripples()
    app = make_app(ext, RIPPLES_SECRET_KEY=KEY, RIPPLES_BASE_URL=collector.url)
    seen: list[str] = []
    visitor = str(uuid.uuid4())

    @app.get("/probe")
    def probe() -> Any:
        _probe.set("set by the view")
        client = ext.client

        def body() -> Iterator[str]:
            seen.append(_probe.get())
            _probe.set("set by the body")
            yield "first"
            seen.append(_probe.get())
            client.track("streamed", "probe-user")
            yield "last"

        return app.response_class(body())

    def serve() -> None:
        test_client = app.test_client()
        test_client.set_cookie("_rpl_vid", visitor)
        response = test_client.get("/probe")
        assert response.get_data() == b"firstlast"
        response.close()
        # The body's own context changes stay in the request's context.
        assert _probe.get() != "set by the body"

    contextvars.copy_context().run(serve)
    assert seen == ["set by the view", "set by the body"]
    assert collector.wait_for(1, user_id="probe-user")[0]["$visitor_id"] == visitor


_pushed: contextvars.ContextVar[str] = contextvars.ContextVar("pushed", default="none")


def test_a_body_primed_in_the_view_can_undo_in_the_body_what_it_set_in_the_view(
    collector: DevServer,
) -> None:
    """Flask 2.3-3.0's ``stream_with_context`` sets a context variable when the view primes
    the generator and resets it with its token after the last chunk: both must happen in
    one context, or the reset raises and the response is cut off."""
    ext = Ripples()
    app = make_app(ext, RIPPLES_SECRET_KEY=KEY, RIPPLES_BASE_URL=collector.url)
    seen: list[str] = []

    @app.get("/primed")
    def primed() -> Any:
        client = ext.client

        def body() -> Iterator[str]:
            token = _pushed.set("pushed in the view")
            try:
                yield "first,"
                seen.append(_pushed.get())
                client.track("primed", "primed-user")
                yield "last"
            finally:
                _pushed.reset(token)  # in the body: the context it was set in, or ValueError

        chunks = body()
        first = next(chunks)  # primed in the view, as stream_with_context does

        def rest() -> Iterator[str]:
            yield first
            yield from chunks

        return app.response_class(rest())

    @app.get("/stream")
    def stream() -> Any:
        @stream_with_context
        def body() -> Iterator[str]:
            yield request.args["user"] + ","
            ext.track("streamed with context", request.args["user"])
            yield "done"

        return app.response_class(body())

    visitor = str(uuid.uuid4())

    def serve() -> None:
        test_client = app.test_client()
        test_client.set_cookie("_rpl_vid", visitor)
        for path, body in (("/primed", b"first,last"), ("/stream?user=swc-user", b"swc-user,done")):
            response = test_client.get(path)
            assert response.get_data() == body
            response.close()
        assert _pushed.get() == "none"  # nothing the request set is left on this thread

    contextvars.copy_context().run(serve)
    assert seen == ["pushed in the view"]
    assert collector.wait_for(1, user_id="primed-user")[0]["$visitor_id"] == visitor
    assert collector.wait_for(1, user_id="swc-user")[0]["$visitor_id"] == visitor
