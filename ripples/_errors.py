"""The exceptions the SDK raises or reports.

    RipplesError                    base class; ``status_code`` is set for HTTP errors
    ├── RipplesValidationError      bad input, raised by the tracking call (also a ValueError)
    ├── RipplesConfigError          a bad option or missing key, raised by Ripples() (a ValueError)
    ├── RipplesAPIError             the API refused or failed a batch; reported, never raised
    └── RipplesBufferOverflowError  the buffer was full, events dropped; reported, never raised

Only ``RipplesValidationError`` (from a tracking call) and ``RipplesConfigError``
(from ``Ripples()`` and the framework setup) are ever raised into application
code. Delivery problems go to ``on_error`` and the ``ripples`` logger,
because an analytics outage must never break a request.
"""

from __future__ import annotations


class RipplesError(Exception):
    """Base class of every error from the Ripples SDK."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class RipplesValidationError(RipplesError, ValueError):
    """A tracking call got an argument that cannot be sent; nothing was queued."""


class RipplesConfigError(RipplesError, ValueError):
    """An option has a wrong type or value, or the secret key is missing.

    Raised by ``Ripples()`` and by the framework integrations at setup, never
    by a tracking call; the message names the option and what it accepts.
    """


class RipplesAPIError(RipplesError):
    """A batch was refused by the API or could not be delivered.

    ``status_code`` is the HTTP status (``None`` for timeouts and connection
    errors), ``events`` the number of events concerned, and ``retryable`` says
    whether they were kept in the buffer for a later attempt.
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
    """The in-memory buffer was full, so the ``dropped`` oldest events were discarded."""

    def __init__(self, message: str, dropped: int) -> None:
        super().__init__(message)
        self.dropped = dropped
