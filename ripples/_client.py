"""The ``Ripples`` client: validates calls and hands events to a background sender.

A client is a thin handle: the buffer and the thread live in a sender shared
by every client with the same configuration, so creating a client per request
(as the documented Django and Flask examples do) costs a dictionary lookup,
not a thread, a socket pool or an atexit registration.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from time import time as _now
from typing import Any, Callable

from . import _options, _recording
from ._config import SenderConfig
from ._context import _current, normalize_visitor_id
from ._errors import RipplesValidationError
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
from ._timestamps import timestamp_arg
from ._wire import complete_event

logger = logging.getLogger("ripples")


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

    Tracking calls validate their arguments (raising `RipplesValidationError` on bad
    input, with nothing queued) and return at once; a background thread sends the
    events in batches, retries without double counting and drains at exit. Delivery
    problems are passed to ``on_error`` and the ``ripples`` logger, never raised.

    Clients with equal options share one sender (buffer, thread and connection pool),
    so creating a client per request is cheap. A client is also a context manager:
    ``with Ripples() as ripples:`` calls `close` at the end of the block. The
    integrations (``ripples_django``, ``ripples_flask``, ``ripples_asgi``) build or take
    one and flush it after each response. Every option is listed in the Configuration
    page of the docs, with its Django and Flask spelling.

    Every tracking method takes ``idempotency_key`` (a non-empty `str` of at most 255
    characters, default ``None``): the event's ``$event_id`` is then derived from the
    key and the method (see `event_id_for`), so a webhook or task that runs twice with
    the same key stores one event. Any other value raises `RipplesValidationError`.

    Args:
        secret_key: Your ``priv_...`` key (`str`). Default: the ``RIPPLES_SECRET_KEY``
            environment variable. Never logged, never in a repr or an exception.
        base_url: The API's root URL (`str`). Default: ``RIPPLES_URL``, else
            ``https://api.ripples.sh``; a trailing ``/`` is removed. Plain ``http://``
            to a host that is not loopback logs one warning.
        timeout: HTTP read timeout per request, in seconds (`float`). Default 3.
        connect_timeout: HTTP connect timeout, in seconds (`float`). Default 2.
        max_queue_size: Wake the sender as soon as this many events wait (`int`): a
            full batch goes out at once. Default 1,000 (0.1.x: 100; one POST of 1,000
            events costs the host about a tenth of the CPU of ten POSTs of 100).
        on_error: ``callable(exc)`` told of every delivery problem
            (`RipplesAPIError`, `RipplesBufferOverflowError`). It runs on the sender
            thread; what it raises is logged and ignored. Default ``None``.
        flush_interval: Otherwise send whatever waits every this many seconds
            (`float`). Default 1.0.
        max_buffer_size: Most events held in memory, e.g. during an outage (`int`).
            When full, the oldest are dropped and reported. Default 50,000.
        max_batch_size: Most events in one POST (`int`). Default 1,000. A batch whose
            JSON body passes 512 KiB is split in halves first, so a request-size limit
            in front of the API (nginx's 1 MiB default) never refuses it.
        max_retries: Retries of a batch after a timeout, a connection error, a 408,
            429 or 5xx (`int`, 0 allowed), with exponential backoff and jitter,
            ``Retry-After`` honoured; then the batch stays buffered and the sender
            backs off. Default 3.
        flush_timeout: The longest `flush` and `aflush` wait when given no
            ``timeout``, in seconds (`float`). Default 10.0.
        shutdown_timeout: The longest `close` and the drain at interpreter exit take,
            in seconds (`float`, 0 allowed). Default 5.0.
        disabled: Validate every call as in production but send nothing; no key
            needed (`bool`). Default: true when ``RIPPLES_DISABLED`` is ``1``,
            ``true``, ``yes`` or ``on``, else false.
        visitor_id: A fixed browser visitor (a UUID `str`) for every event of this
            client, as in 0.1.x; a visitor bound with `bind_visitor` or passed to a
            call wins. Malformed: ignored. Default ``None``.
        spool_dir: A directory (`str` or path) for the durable spool: events that
            cannot be delivered during an outage, at ``close()`` or at exit are
            written there (files 0600) and re-sent by any process with the same
            configuration and directory. Nothing is written while the API is
            healthy. Default: ``RIPPLES_SPOOL_DIR``, else ``None`` (memory only).
        max_spool_bytes: The most bytes the spool may hold (`int`); past that the
            oldest spooled events are dropped and reported. Default 256 MiB.

    Raises:
        RipplesError: No secret key (and not disabled), a ``base_url`` that is not an
            http(s) URL, a non-callable ``on_error``, or a number option of the wrong
            type or range (timeouts, sizes and intervals must be > 0).
    """

    def __init__(
        self,
        secret_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float = 3,
        connect_timeout: float = 2,
        max_queue_size: int = 1000,
        on_error: Callable[[Exception], None] | None = None,
        flush_interval: float = 1.0,
        max_buffer_size: int = 50_000,
        max_batch_size: int = 1000,
        max_retries: int = 3,
        flush_timeout: float = 10.0,
        shutdown_timeout: float = 5.0,
        disabled: bool | None = None,
        visitor_id: str | None = None,
        spool_dir: str | os.PathLike[str] | None = None,
        max_spool_bytes: int = 256 * 1024 * 1024,
    ) -> None:
        """Check every option (see :data:`ripples._options.OPTIONS` and the README table).

        ``None`` for ``secret_key``, ``base_url``, ``disabled`` or ``spool_dir``
        means "read ``RIPPLES_SECRET_KEY`` / ``RIPPLES_URL`` / ``RIPPLES_DISABLED`` /
        ``RIPPLES_SPOOL_DIR``". Times are in seconds. Raises
        :class:`RipplesConfigError` (a ``ValueError``) for a wrong type or value,
        or when there is no secret key and the client is not disabled.
        """
        given = {name: value for name, value in locals().items() if name in _options.BY_NAME}
        values = _options.resolve(given)
        _options.require_secret_key(values)
        self._disabled: bool = values["disabled"]
        self._on_error: ErrorCallback = values["on_error"]
        self._visitor_id: str | None = values["visitor_id"]
        self._flush_timeout: float = values["flush_timeout"]
        config = SenderConfig(**{name: values[name] for name in SenderConfig._fields})
        # A subclass that sends by itself shares a sender per (configuration, class).
        custom_post = type(self)._post is not Ripples._post
        self._sender = shared_sender(config, self if custom_post else None, self._on_error)

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
        """Track a payment; a negative amount is a refund.

        Args:
            amount: In currency units, e.g. ``49.99`` for 49.99 euros, not cents: an
                `int`, `float` or `Decimal` (money fields), finite, not a `bool`.
                Negative for a refund.
            user_id: Your user's id: a non-blank `str`, or an `int` (sent as a string).
            timestamp: When it happened: a `datetime` (naive means UTC), a `date` or an
                ISO 8601 `str`. Default: now. Use it to backfill history.
            ripples_visitor_id: The browser visitor, the ``_rpl_vid`` cookie's UUID
                (`str`), as ``$visitor_id``. Default: the visitor an integration or
                `bind_visitor` bound, else the client's ``visitor_id``. Malformed
                values are left out (logged at debug level), never sent.
            visitor_id: Alias of ``ripples_visitor_id``.
            idempotency_key: A key (`str`, 1 to 255 characters) naming this event once
                and for all, e.g. ``f"stripe:{event.id}"``: every call with it sends the
                same ``$event_id``, so retries of a job or webhook store one event.
                Default ``None`` (a random id).
            **attributes: Custom properties, e.g. ``currency="EUR"`` (a 3-letter code;
                default: the project's currency) and ``transaction_id=`` (links a refund
                to its payment); values as for `track`.

        Raises:
            RipplesValidationError: ``amount`` is not a finite number, ``user_id`` is blank or
                not a str/int, a property cannot be JSON or starts with ``$``, or
                ``timestamp`` cannot be parsed, or a bad ``idempotency_key``. Nothing is queued.
        """
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
        """Track a new user; pass the visitor (or use an integration) to keep attribution.

        Args:
            user_id: The new user's id: a non-blank `str`, or an `int`.
            timestamp: When it happened: a `datetime` (naive means UTC), a `date` or an
                ISO 8601 `str`. Default: now. Use it to backfill history.
            ripples_visitor_id: The browser visitor, the ``_rpl_vid`` cookie's UUID
                (`str`), as ``$visitor_id``. Default: the visitor an integration or
                `bind_visitor` bound, else the client's ``visitor_id``. Malformed
                values are left out (logged at debug level), never sent.
            visitor_id: Alias of ``ripples_visitor_id``.
            idempotency_key: A key (`str`, 1 to 255 characters) naming this event once
                and for all, e.g. ``f"stripe:{event.id}"``: every call with it sends the
                same ``$event_id``, so retries of a job or webhook store one event.
                Default ``None`` (a random id).
            **attributes: Custom properties, e.g. ``email=``, ``name=``, ``referral=``;
                values as for `track`.

        Raises:
            RipplesValidationError: ``user_id`` is blank or not a str/int, a property cannot
                be JSON or starts with ``$``, ``timestamp`` cannot be parsed, or a bad
                ``idempotency_key``. Nothing is queued.
        """
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
        """Track a meaningful product action; ``activated=True`` marks this user's activation.

        Args:
            action_name: What the user did, e.g. ``"created a budget"`` (a non-blank
                `str`), sent as ``$name``.
            user_id: Who did it: a non-blank `str`, or an `int`.
            area: The product area, e.g. ``"budgets"`` (a non-blank `str`), as
                ``$area``. Default ``None``: not sent.
            activated: ``True`` on the one occurrence that is this user's activation
                moment (`bool`), as ``$activated``. Default ``None``: not sent.
            timestamp: When it happened: a `datetime` (naive means UTC), a `date` or an
                ISO 8601 `str`. Default: now. Use it to backfill history.
            ripples_visitor_id: The browser visitor, the ``_rpl_vid`` cookie's UUID
                (`str`), as ``$visitor_id``. Default: the visitor an integration or
                `bind_visitor` bound, else the client's ``visitor_id``. Malformed
                values are left out (logged at debug level), never sent.
            visitor_id: Alias of ``ripples_visitor_id``.
            idempotency_key: A key (`str`, 1 to 255 characters) naming this event once
                and for all, e.g. ``f"stripe:{event.id}"``: every call with it sends the
                same ``$event_id``, so retries of a job or webhook store one event.
                Default ``None`` (a random id).
            **attributes: Custom properties: `str`, `int`, `float`, `bool`, ``None``,
                `Decimal`, `datetime`/`date`, `UUID`, enums, and lists, tuples or dicts of
                those. Keys may not start with ``$``.

        Raises:
            RipplesValidationError: ``action_name`` or ``area`` is blank or not a str,
                ``activated`` is not a bool or None, ``user_id`` is blank, a property
                cannot be JSON or starts with ``$``, ``timestamp`` cannot be parsed, or a
                bad ``idempotency_key``. Nothing is queued.
        """
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
        """Set or update a user's traits (email, name, avatar_url, custom keys).

        Args:
            user_id: The user's id: a non-blank `str`, or an `int`.
            timestamp: When it happened: a `datetime` (naive means UTC), a `date` or an
                ISO 8601 `str`. Default: now. Use it to backfill history.
            ripples_visitor_id: The browser visitor, the ``_rpl_vid`` cookie's UUID
                (`str`), as ``$visitor_id``. Default: the visitor an integration or
                `bind_visitor` bound, else the client's ``visitor_id``. Malformed
                values are left out (logged at debug level), never sent.
            visitor_id: Alias of ``ripples_visitor_id``.
            idempotency_key: A key (`str`, 1 to 255 characters) naming this event once
                and for all, e.g. ``f"stripe:{event.id}"``: every call with it sends the
                same ``$event_id``, so retries of a job or webhook store one event.
                Default ``None`` (a random id).
            **attributes: The traits, e.g. ``email=``, ``name=``, ``avatar_url=``,
                ``company=``; values as for `track`.

        Raises:
            RipplesValidationError: ``user_id`` is blank or not a str/int, a trait cannot be
                JSON or starts with ``$``, ``timestamp`` cannot be parsed, or a bad
                ``idempotency_key``. Nothing is queued.
        """
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

        Args:
            subscription_id: Your (or your billing provider's) subscription id: a
                non-blank `str`, or an `int`.
            user_id: The subscriber: a non-blank `str`, or an `int`.
            status: One of ``"active"``, ``"canceled"``, ``"past_due"``, ``"trialing"``,
                ``"paused"``.
            amount: The price per billing cycle in currency units (``29.00``, not
                cents; sent as cents, ``"2900"``): an `int`, `float` or `Decimal`, not
                negative.
            interval: The billing cycle: ``"month"`` (default), ``"year"``, ``"week"``
                or ``"day"``.
            timestamp: When it happened: a `datetime` (naive means UTC), a `date` or an
                ISO 8601 `str`. Default: now. Use it to backfill history.
            ripples_visitor_id: The browser visitor, the ``_rpl_vid`` cookie's UUID
                (`str`), as ``$visitor_id``. Default: the visitor an integration or
                `bind_visitor` bound, else the client's ``visitor_id``. Malformed
                values are left out (logged at debug level), never sent.
            visitor_id: Alias of ``ripples_visitor_id``.
            idempotency_key: A key (`str`, 1 to 255 characters) naming this event once
                and for all, e.g. ``f"stripe:{event.id}"``: every call with it sends the
                same ``$event_id``, so retries of a job or webhook store one event.
                Default ``None`` (a random id).
            **attributes: ``currency=`` (a 3-letter code), ``name=`` or ``plan=`` (the
                plan name, as ``$name``), ``interval_count=`` (a positive `int`,
                default 1: e.g. 3 with ``"month"`` for quarterly), and custom
                properties as for `track`.

        Raises:
            RipplesValidationError: An unknown ``status`` or ``interval``, a negative or
                non-numeric ``amount``, a bad ``interval_count``, a blank id, a property
                that cannot be JSON, a ``timestamp`` that cannot be parsed, or a bad
                ``idempotency_key``. Nothing is queued.
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
            data["$sent_at"] = ts
            event = complete_event(data)
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

        Blocks the calling thread; in async code use `aflush`. While the sender backs
        off after failed retries it returns ``False`` at once instead of waiting out
        the outage. A disabled client returns ``True``.

        Args:
            timeout: The longest wait, in seconds (`float`). Default ``None``: the
                client's ``flush_timeout`` (10 s unless configured).

        Returns:
            ``True`` once every event queued before the call was delivered; ``False``
            if any failed, was refused, or the timeout passed first.

        Never raises: failures go to ``on_error`` and the ``ripples`` logger, and
        undelivered events stay buffered for a later attempt.
        """
        if self._disabled:
            return True
        return self._sender.flush(self._flush_timeout if timeout is None else timeout)

    async def aflush(self, timeout: float | None = None) -> bool:
        """`flush` for async code: waits without blocking the event loop.

        Args:
            timeout: The longest wait, in seconds (`float`). Default ``None``: the
                client's ``flush_timeout`` (10 s unless configured).

        Returns:
            ``True`` once every event queued before the call was delivered; ``False``
            if any failed, was refused, or the timeout passed first. Never raises.
        """
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
        """Deliver everything pending within ``timeout``, then stop the sender (alias ``shutdown``).

        Unlike ``flush()``, a shutdown path never takes the "API is backing off"
        shortcut: it attempts delivery until the deadline. With a spool
        (``spool_dir``), what could not be delivered is written to it. Clients
        with equal options share a sender, so this stops theirs too. Called by
        ``with Ripples() as ripples:`` at the end of the block. Safe to call
        more than once; a client used after ``close()`` starts its sender again.

        Args:
            timeout: The longest wait, in seconds (`float`). Default ``None``: the
                client's ``shutdown_timeout`` (5 s unless configured).

        Returns:
            ``True`` only if every event tracked before the call was delivered.
            What is left stays buffered (or spooled) and is reported to
            ``on_error`` and the log; an exit drain after a ``close()`` that
            timed out does not wait for it again. Never raises.
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
