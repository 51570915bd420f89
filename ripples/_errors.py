"""The exceptions the SDK raises or reports.

    RipplesError                    base class; ``status_code`` is set for HTTP errors
    ├── RipplesValidationError      bad input, raised by the tracking call (also a ValueError)
    ├── RipplesAPIError             the API refused or failed a batch; reported, never raised
    └── RipplesBufferOverflowError  the buffer was full, events dropped; reported, never raised

Only ``RipplesValidationError`` (and ``RipplesError`` for a missing key) is ever
raised into application code. Delivery problems go to ``on_error`` and the
``ripples`` logger, because an analytics outage must never break a request.
"""

from __future__ import annotations


class RipplesError(Exception):
    """Base class of every error from the Ripples SDK.

    Raised as such by `Ripples` for a missing secret key or an invalid option;
    ``except RipplesError`` also catches `RipplesValidationError`, as with 0.1.x.

    Attributes:
        status_code: The HTTP status when the error comes from the API (`int`),
            else ``None``.
    """

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class RipplesValidationError(RipplesError, ValueError):
    """A tracking call got an argument that cannot be sent; nothing was queued.

    Raised by the call itself (`Ripples.revenue`, `Ripples.track`, ...), in tests as
    in production, with a message naming the method and the argument, e.g.
    ``revenue(): amount must be a finite number (int, float or Decimal), got '49.99'``.
    Also a `ValueError`.
    """


class RipplesAPIError(RipplesError):
    """A batch was refused by the API or could not be delivered.

    Never raised into your code: passed to the client's ``on_error`` (on the sender
    thread) and logged on the ``ripples`` logger. A 401 or 403 means a wrong key.

    Attributes:
        status_code: The HTTP status (`int`), or ``None`` for timeouts and
            connection errors.
        events: How many events the failure concerns (`int`).
        retryable: Whether they were kept in the buffer for a later attempt
            (`bool`): true for timeouts, connection errors, 408, 429 and 5xx; false
            for a refusal (any other 4xx), whose events are dropped.
    """

    def __init__(
        self,
        message: str,
        status_code: int | None = None,
        *,
        events: int = 0,
        retryable: bool = False,
    ) -> None:
        super().__init__(message, status_code)
        self.events = events
        self.retryable = retryable


class RipplesBufferOverflowError(RipplesError):
    """The in-memory buffer was full, so the ``dropped`` oldest events were discarded.

    Never raised into your code: passed to ``on_error`` and logged. The buffer holds
    ``max_buffer_size`` events (50,000 by default); see the Reliability page for
    sizing it.

    Attributes:
        dropped: How many events were discarded (`int`).
    """

    def __init__(self, message: str, dropped: int) -> None:
        super().__init__(message)
        self.dropped = dropped
