"""The ``Ripples`` client: validates calls and hands events to a background sender.

A client is a thin handle: the buffer and the thread live in a sender shared
by every client with the same configuration, so creating a client per request
(as the documented Django and Flask examples do) costs a dictionary lookup,
not a thread, a socket pool or an atexit registration.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import threading
from time import time as _now
from typing import Any, Callable
from urllib.parse import urlsplit

from . import _recording
from ._context import _current, normalize_visitor_id
from ._errors import RipplesError, RipplesValidationError
from ._events import (
    amount_arg,
    event_id_for,
    name_arg,
    properties_arg,
    subscription_fields,
    user_id_arg,
)
from ._ledger import DeliveryStats
from ._registry import shared_sender
from ._report import ErrorCallback
from ._sender import SenderConfig
from ._timestamps import timestamp_arg
from ._wire import complete_event

logger = logging.getLogger("ripples")

DEFAULT_BASE_URL = "https://api.ripples.sh"
_TRUE = frozenset({"1", "true", "yes", "on"})
_warned_plain_http: set[str] = set()
_warn_lock = threading.Lock()


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in _TRUE


def _positive(name: str, value: Any, *, integer: bool = False, zero_ok: bool = False) -> Any:
    kinds = (int,) if integer else (int, float)
    if (
        isinstance(value, bool)
        or not isinstance(value, kinds)
        or value < 0
        or (value == 0 and not zero_ok)
    ):
        kind = "an int" if integer else "a number"
        raise RipplesError(f"Ripples(): {name} must be {kind} > 0, got {value!r}")
    return value


def _is_loopback(host: str) -> bool:
    if host in ("localhost", "") or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_base_url(base_url: Any) -> str:
    if not isinstance(base_url, str):
        raise RipplesError(f"Ripples(): base_url must be a string, got {base_url!r}")
    url = base_url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RipplesError(f"Ripples(): base_url must be an http(s) URL, got {base_url!r}")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        with _warn_lock:
            first = url not in _warned_plain_http
            _warned_plain_http.add(url)
        if first:
            logger.warning(
                "ripples: base_url %s uses plain http on a non-loopback host: "
                "the secret key travels unencrypted; use https",
                url,
            )
    return url


def _event(
    method: str, event_type: str, user_id: Any, attributes: dict[str, Any], visitor: Any
) -> tuple[dict[str, Any], Any]:
    """The event dict (checked custom properties, then the common system fields) and the
    visitor the call asked for: ``visitor`` or, failing that, the 0.1.x ``$visitor_id`` key.

    ``attributes`` is the call's own ``**kwargs`` dict, so it is reused, not copied.
    """
    user = user_id_arg(method, user_id)
    dollar_visitor = attributes.pop("$visitor_id", None)  # a spelling, not a property
    data = properties_arg(method, attributes) if attributes else attributes
    data["$type"] = event_type
    data["$user_id"] = user
    return data, dollar_visitor if visitor is None else visitor


class Ripples:
    """Send revenue, signups, product usage and identity to Ripples.

    Tracking calls validate their arguments (raising
    :class:`RipplesValidationError` on bad input) and return at once; a
    background thread delivers batches. Delivery problems are passed to
    ``on_error`` and the ``ripples`` logger, never raised.

    Every tracking method takes ``idempotency_key`` (a non-empty ``str`` of at
    most 255 characters, default None): the event's ``$event_id`` is then
    derived from the key and the method (see :func:`ripples.event_id_for`), so
    a webhook or task that runs twice with the same key stores one event. A
    key that is not such a string raises :class:`RipplesValidationError`.
    """

    def __init__(
        self,
        secret_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float = 3,
        connect_timeout: float = 2,
        max_queue_size: int = 100,
        on_error: Callable[[Exception], None] | None = None,
        flush_interval: float = 1.0,
        max_buffer_size: int = 50_000,
        max_batch_size: int = 500,
        max_retries: int = 3,
        flush_timeout: float = 10.0,
        shutdown_timeout: float = 5.0,
        disabled: bool | None = None,
        visitor_id: str | None = None,
    ) -> None:
        self._disabled = _env_flag("RIPPLES_DISABLED") if disabled is None else bool(disabled)
        key = secret_key if secret_key is not None else os.environ.get("RIPPLES_SECRET_KEY", "")
        key = key.strip() if isinstance(key, str) else ""
        if not key and not self._disabled:
            raise RipplesError(
                "Missing secret key: set RIPPLES_SECRET_KEY in the environment or pass "
                "Ripples('priv_...'); set RIPPLES_DISABLED=1 to run without sending"
            )
        url = base_url or os.environ.get("RIPPLES_URL") or DEFAULT_BASE_URL
        if on_error is not None and not callable(on_error):
            raise RipplesError("Ripples(): on_error must be callable")
        self._on_error: ErrorCallback = on_error
        self._visitor_id = normalize_visitor_id(visitor_id)
        self._flush_timeout = float(_positive("flush_timeout", flush_timeout))
        config = SenderConfig(
            secret_key=key,
            base_url=_check_base_url(url),
            timeout=float(_positive("timeout", timeout)),
            connect_timeout=float(_positive("connect_timeout", connect_timeout)),
            max_queue_size=_positive("max_queue_size", max_queue_size, integer=True),
            max_batch_size=_positive("max_batch_size", max_batch_size, integer=True),
            max_buffer_size=_positive("max_buffer_size", max_buffer_size, integer=True),
            max_retries=_positive("max_retries", max_retries, integer=True, zero_ok=True),
            flush_interval=float(_positive("flush_interval", flush_interval)),
            shutdown_timeout=float(_positive("shutdown_timeout", shutdown_timeout, zero_ok=True)),
        )
        # A subclass that sends by itself shares a sender per (configuration, class).
        custom_post = type(self)._post is not Ripples._post
        self._sender = shared_sender(config, self if custom_post else None)

    def __repr__(self) -> str:
        state = " disabled" if self._disabled else ""
        return f"<Ripples base_url={self._sender.config.base_url!r} secret_key=***{state}>"

    @property
    def options(self) -> dict[str, Any]:
        """The resolved options, without the secret key (for checks and diagnostics)."""
        config = self._sender.config._asdict()
        config.pop("secret_key")
        config.update(
            flush_timeout=self._flush_timeout,
            disabled=self._disabled,
            has_secret_key=bool(self._sender.config.secret_key),
        )
        return config

    # -- tracking ------------------------------------------------------------

    def revenue(
        self,
        amount: float | int | Any,
        user_id: str,
        *,
        timestamp: Any = None,
        ripples_visitor_id: str | None = None,
        visitor_id: str | None = None,
        idempotency_key: str | None = None,
        **attributes: Any,
    ) -> None:
        """Track a payment; a negative amount is a refund. ``Decimal`` amounts are fine."""
        value = amount_arg("revenue", "amount", amount)
        data, visitor = _event(
            "revenue", "revenue", user_id, attributes, ripples_visitor_id or visitor_id
        )
        data["$amount"] = value
        self._enqueue("revenue", data, timestamp, visitor, idempotency_key)

    def signup(
        self,
        user_id: str,
        *,
        timestamp: Any = None,
        ripples_visitor_id: str | None = None,
        visitor_id: str | None = None,
        idempotency_key: str | None = None,
        **attributes: Any,
    ) -> None:
        """Track a new user; pass the visitor (or use an integration) to keep attribution."""
        data, visitor = _event(
            "signup", "signup", user_id, attributes, ripples_visitor_id or visitor_id
        )
        self._enqueue("signup", data, timestamp, visitor, idempotency_key)

    def track(
        self,
        action_name: str,
        user_id: str,
        *,
        area: str | None = None,
        activated: bool | None = None,
        timestamp: Any = None,
        ripples_visitor_id: str | None = None,
        visitor_id: str | None = None,
        idempotency_key: str | None = None,
        **attributes: Any,
    ) -> None:
        """Track a meaningful product action; ``activated=True`` marks this user's activation."""
        name = name_arg("track", "action_name", action_name)
        data, visitor = _event(
            "track", "track", user_id, attributes, ripples_visitor_id or visitor_id
        )
        data["$name"] = name
        if area is not None:
            data["$area"] = name_arg("track", "area", area)
        if activated is not None:
            if type(activated) is not bool:
                raise RipplesValidationError(
                    f"track(): activated must be True, False or None, got {activated!r}"
                )
            data["$activated"] = activated
        self._enqueue("track", data, timestamp, visitor, idempotency_key)

    def identify(
        self,
        user_id: str,
        *,
        timestamp: Any = None,
        ripples_visitor_id: str | None = None,
        visitor_id: str | None = None,
        idempotency_key: str | None = None,
        **attributes: Any,
    ) -> None:
        """Set or update a user's traits (email, name, avatar_url, custom keys)."""
        data, visitor = _event(
            "identify", "identify", user_id, attributes, ripples_visitor_id or visitor_id
        )
        self._enqueue("identify", data, timestamp, visitor, idempotency_key)

    def subscription(
        self,
        subscription_id: str,
        user_id: str,
        status: str,
        amount: float | int | Any,
        interval: str = "month",
        *,
        timestamp: Any = None,
        ripples_visitor_id: str | None = None,
        visitor_id: str | None = None,
        idempotency_key: str | None = None,
        **attributes: Any,
    ) -> None:
        """Track a subscription change for MRR (a revenue event with ``$amount`` 0).

        ``amount`` is per billing cycle in your currency; optional ``currency``,
        ``name``/``plan`` and ``interval_count``.
        """
        fields = subscription_fields(subscription_id, status, amount, interval, attributes)
        data, visitor = _event(
            "subscription", "revenue", user_id, attributes, ripples_visitor_id or visitor_id
        )
        data.update(fields)
        self._enqueue("subscription", data, timestamp, visitor, idempotency_key)

    def _enqueue(
        self,
        method: str,
        data: dict[str, Any],
        timestamp: Any,
        explicit_visitor: Any,
        idempotency_key: Any = None,
    ) -> None:
        ts = _now() if timestamp is None else timestamp_arg(method, timestamp)
        if idempotency_key is not None:
            data["$event_id"] = event_id_for(method, idempotency_key)
        binding = _current.get()
        visitor = None
        if explicit_visitor is not None:
            visitor = normalize_visitor_id(explicit_visitor)
            if visitor is None:
                logger.debug("ripples: %s(): ignoring a malformed visitor id", method)
        if visitor is None:
            if binding is not None and binding.visitor_id is not None:
                visitor = binding.visitor_id
            else:
                visitor = self._visitor_id
        if visitor is not None:
            data["$visitor_id"] = visitor
        sinks = _recording._sinks
        if sinks:
            event = complete_event(data, ts)
            for sink in sinks:
                sink(dict(event))
            return
        if self._disabled:
            return
        sender = self._sender
        sender.put(data, ts, self._on_error)
        if binding is not None:
            binding._saw(sender)

    # -- delivery ------------------------------------------------------------

    def flush(self, timeout: float | None = None) -> bool:
        """Send everything queued before this call; return True if it was all delivered.

        Waits at most ``timeout`` seconds (default: the client's ``flush_timeout``).
        Never raises: failures go to ``on_error`` and the log, and undelivered
        events stay buffered for a later attempt.
        """
        if self._disabled:
            return True
        return self._sender.flush(self._flush_timeout if timeout is None else timeout)

    async def aflush(self, timeout: float | None = None) -> bool:
        """:meth:`flush` for async code: waits without blocking the event loop."""
        if self._disabled:
            return True
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()

        def settle(ok: bool) -> None:
            if not future.done():
                future.set_result(ok)

        def release(ok: bool) -> None:
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
                loop.call_soon_threadsafe(settle, ok)

        state = self._sender.add_waiter(release)
        if state != "waiting":
            return state == "done"
        try:
            return await asyncio.wait_for(
                asyncio.shield(future), self._flush_timeout if timeout is None else timeout
            )
        except asyncio.TimeoutError:
            return False

    def close(self, timeout: float | None = None) -> bool:
        """Deliver everything pending within ``timeout`` seconds, then stop the sender thread.

        ``timeout`` defaults to ``shutdown_timeout`` (5 s). Unlike ``flush()``,
        a shutdown path never takes the "API is backing off" shortcut: it
        attempts delivery until the deadline. Returns True only if every event
        tracked before the call was delivered; what is left stays buffered and
        is reported to ``on_error`` and the log (an exit drain after a
        ``close()`` that timed out does not wait for it again). Never raises.
        Safe to call more than once; a client used after ``close()`` starts
        its sender again.
        """
        if self._disabled:
            return True
        limit = self._sender.config.shutdown_timeout if timeout is None else timeout
        return self._sender.close(limit)

    shutdown = close

    async def aclose(self, timeout: float | None = None) -> bool:
        """:meth:`close` for async code (lifespan shutdown): runs it off the event loop."""
        if self._disabled:
            return True
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self.close, timeout)

    def stats(self) -> DeliveryStats:
        """Where every event of this client's configuration is: the delivery ledger.

        Returns a :class:`~ripples.DeliveryStats` snapshot for this process
        (clients with equal configurations share one ledger): ``tracked``,
        ``delivered``, ``refused``, ``dropped`` (and ``dropped_by_reason``),
        ``pending``, ``spooled``, ``recovered``, ``undelivered_at_exit``,
        ``retries``, ``last_error``, ``last_success_at`` and
        ``backing_off_until`` (epoch seconds). The counts always balance:
        ``tracked + recovered == delivered + refused + dropped + pending +
        spooled + undelivered_at_exit``. A disabled client reports zeros.
        """
        if self._disabled:
            return DeliveryStats()
        return self._sender.stats()

    def __enter__(self) -> Ripples:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _post(self, path: str, data: dict[str, Any]) -> None:
        """POST one batch to the API (an extension point: override to use another HTTP client).

        An override receives ``("/v1/ingest/batch", {"events": [...]})`` from the
        sender thread; raising counts as a failed delivery (a ``RipplesError``
        with a 4xx ``status_code`` other than 408/429 as a refusal, anything
        else as transient, so the events are retried).
        """
        self._sender.post(data)
