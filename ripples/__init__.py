"""Ripples: server-side analytics for revenue, signups, product usage and identity.

    from ripples import Ripples

    ripples = Ripples()                       # reads RIPPLES_SECRET_KEY
    ripples.revenue(49.99, "user_123", currency="EUR")
    ripples.track("created a budget", "user_123", area="budgets")
    ripples.revenue(49.99, "user_123", idempotency_key="stripe:evt_123")  # stored once

Calls return at once; a background thread delivers batches, retries without
double counting, and drains at exit.
"""

import logging as _logging

from ._client import Ripples
from ._context import (
    VISITOR_COOKIE,
    VisitorBinding,
    bind_visitor,
    current_visitor_id,
    set_visitor_id,
    visitor_id_from_cookies,
)
from ._errors import (
    RipplesAPIError,
    RipplesBufferOverflowError,
    RipplesError,
    RipplesValidationError,
)
from ._events import event_id_for
from ._ledger import DeliveryStats
from ._version import __version__

__all__ = [
    "VISITOR_COOKIE",
    "DeliveryStats",
    "Ripples",
    "RipplesAPIError",
    "RipplesBufferOverflowError",
    "RipplesError",
    "RipplesValidationError",
    "VisitorBinding",
    "__version__",
    "bind_visitor",
    "current_visitor_id",
    "event_id_for",
    "set_visitor_id",
    "visitor_id_from_cookies",
]

# A library stays quiet unless the application configures logging.
_logging.getLogger("ripples").addHandler(_logging.NullHandler())

# Show the public path in reprs and tracebacks (``ripples.Ripples``, not ``ripples._client``).
for _cls in (
    DeliveryStats,
    Ripples,
    RipplesAPIError,
    RipplesBufferOverflowError,
    RipplesError,
    RipplesValidationError,
    VisitorBinding,
):
    _cls.__module__ = __name__
del _cls
