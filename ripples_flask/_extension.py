"""The ``Ripples`` Flask extension: a core client per app, reached through ``current_app``."""

from __future__ import annotations

import logging
from typing import Any
from weakref import WeakKeyDictionary

from flask import Flask, current_app, has_app_context

import ripples

from ._cli import ripples_cli
from ._config import check_option_names, client_kwargs, has_secret_key
from ._wsgi import RipplesWSGIMiddleware

logger = logging.getLogger("ripples.flask")


class _AppClient:
    """One app's client, the arguments it was built from, and whether a key was missing."""

    __slots__ = ("client", "kwargs", "missing_key")

    def __init__(self, client: ripples.Ripples, kwargs: dict[str, Any], missing_key: bool):
        self.client = client
        self.kwargs = kwargs
        self.missing_key = missing_key

    def __repr__(self) -> str:  # kwargs hold the secret key: never show them
        return f"<_AppClient client={self.client!r} missing_key={self.missing_key}>"


def _build(app: Flask, options: dict[str, Any]) -> _AppClient:
    kwargs = client_kwargs(app.config, options)
    try:
        return _AppClient(ripples.Ripples(**kwargs), kwargs, missing_key=False)
    except ripples.RipplesError:
        if has_secret_key(kwargs):
            raise
    # No key anywhere: starting the app must not depend on analytics. Validate
    # every call as usual but send nothing, and say so loudly once.
    logger.error(
        "ripples: no secret key for Flask app %r: set RIPPLES_SECRET_KEY in app.config or "
        "the environment (or RIPPLES_DISABLED=True). Events are validated but NOT sent.",
        app.name,
    )
    kwargs = {**kwargs, "disabled": True}
    return _AppClient(ripples.Ripples(**kwargs), kwargs, missing_key=True)


class Ripples:
    """Ripples analytics for Flask apps, app-factory friendly.

    ``Ripples(app)`` or ``ripples = Ripples()`` then ``ripples.init_app(app)``.
    Each app gets its own ``ripples.Ripples`` client, built once in
    ``init_app`` from, highest precedence first: the ``options`` given here
    (the keywords of ``ripples.Ripples()``), ``app.config["RIPPLES_<OPTION>"]``
    (``RIPPLES_URL`` is an alias of ``RIPPLES_BASE_URL``), then the environment
    variables the core reads. Every request binds the ``_rpl_vid`` visitor and
    wakes the sender after its last byte; the tracking methods below act on
    the current app's client.

    A missing secret key raises `ripples.RipplesError` from ``init_app`` (set
    ``RIPPLES_DISABLED = True`` in test configs).

    Args:
        app: The Flask app to set up now. Default ``None``: call `init_app` later
            (app factories).
        **options: Keywords of `ripples.Ripples` (``secret_key=``, ``timeout=``
            in seconds, ``on_error=``, ...), which win over ``app.config``.

    Raises:
        TypeError: An option that is not a keyword of `ripples.Ripples`.
    """

    def __init__(self, app: Flask | None = None, **options: Any) -> None:
        check_option_names(options)
        self._options = options
        self._apps: WeakKeyDictionary[Flask, _AppClient] = WeakKeyDictionary()
        if app is not None:
            self.init_app(app)

    def __repr__(self) -> str:
        return f"<ripples_flask.Ripples apps={len(self._apps)}>"

    def init_app(self, app: Flask) -> None:
        """Build the app's client, wrap ``app.wsgi_app`` and add ``flask ripples check``.

        Args:
            app: The Flask app; its ``RIPPLES_*`` config keys are read once, here.

        Raises:
            RuntimeError: A Ripples extension is already registered on ``app``.
            ripples.RipplesError: The resulting options are invalid, or there is no
                secret key and the app is not disabled.
        """
        if "ripples" in app.extensions:
            raise RuntimeError(
                f"A Ripples extension is already registered on Flask app {app.name!r}. "
                "Call init_app() once per app; reuse app.extensions['ripples'] instead."
            )
        self._apps[app] = _build(app, self._options)
        app.extensions["ripples"] = self
        app.wsgi_app = RipplesWSGIMiddleware(app.wsgi_app)  # type: ignore[method-assign]
        app.cli.add_command(ripples_cli)

    def _state(self) -> _AppClient:
        if not has_app_context():
            raise RuntimeError(
                "ripples_flask.Ripples needs a Flask application context: call it in a view "
                "or a `flask` CLI command, or inside `with app.app_context():`. In a streamed "
                "body use flask.stream_with_context, or keep `ripples.client` from the view."
            )
        app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
        try:
            return self._apps[app]
        except KeyError:
            raise RuntimeError(
                f"Flask app {app.name!r} is not registered with this Ripples extension; "
                "did you forget to call ripples.init_app(app)?"
            ) from None

    @property
    def client(self) -> ripples.Ripples:
        """The current app's ``ripples.Ripples`` client.

        Raises ``RuntimeError`` outside an application context, or for an app that
        was not given to `init_app`; so do the methods below. Keep the client from
        a view to track from a streamed body or a thread.
        """
        return self._state().client

    def signup(self, user_id: str, **attrs: Any) -> None:
        """Record a new user: `ripples.Ripples.signup` on the current app's client."""
        self._state().client.signup(user_id, **attrs)

    def track(
        self,
        action_name: str,
        user_id: str,
        *,
        area: str | None = None,
        activated: bool | None = None,
        **attrs: Any,
    ) -> None:
        """Record product usage: `ripples.Ripples.track` on the current app's client."""
        self._state().client.track(action_name, user_id, area=area, activated=activated, **attrs)

    def revenue(self, amount: Any, user_id: str, **attrs: Any) -> None:
        """Record a payment (a negative amount: a refund), in currency units.

        `ripples.Ripples.revenue` on the current app's client.
        """
        self._state().client.revenue(amount, user_id, **attrs)

    def identify(self, user_id: str, **attrs: Any) -> None:
        """Update a user's traits: `ripples.Ripples.identify` on the current app's client."""
        self._state().client.identify(user_id, **attrs)

    def subscription(
        self,
        subscription_id: str,
        user_id: str,
        status: str,
        amount: Any,
        interval: str = "month",
        **attrs: Any,
    ) -> None:
        """Record a subscription change for MRR: `ripples.Ripples.subscription`."""
        self._state().client.subscription(
            subscription_id, user_id, status, amount, interval, **attrs
        )

    def flush(self, timeout: float | None = None) -> bool:
        """Block until queued events were attempted. Not needed in views: requests flush.

        Args:
            timeout: The longest wait, in seconds. Default ``None``: the client's
                ``flush_timeout`` (10 s unless configured).

        Returns:
            ``True`` if everything queued before the call was delivered. Never raises
            for delivery problems (see `ripples.Ripples.flush`).
        """
        return bool(self._state().client.flush(timeout))

    async def aflush(self, timeout: float | None = None) -> bool:
        """``flush()`` without blocking the event loop (async views, background tasks).

        Same ``timeout`` (seconds) and result as `flush`.
        """
        client = self._state().client
        return bool(await client.aflush(timeout))

    def close(self, timeout: float | None = None) -> None:
        """Flush within the shutdown deadline and stop the current app's sender.

        Args:
            timeout: The longest wait, in seconds. Default ``None``: the client's
                ``shutdown_timeout`` (5 s unless configured).
        """
        self._state().client.close(timeout)
