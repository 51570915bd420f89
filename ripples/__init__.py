"""Ripples: server-side analytics for revenue, signups, product usage and identity.

    from ripples import Ripples

    ripples = Ripples()                       # reads RIPPLES_SECRET_KEY
    ripples.revenue(49.99, "user_123", currency="EUR")
    ripples.track("created a budget", "user_123", area="budgets")
    ripples.revenue(49.99, "user_123", idempotency_key="stripe:evt_123")  # stored once

Calls return at once; a background thread delivers batches, retries without
double counting, and drains at exit.

The public names are loaded on first use (PEP 562), so importing a submodule
that needs none of them, such as the pytest plugin every pytest run of a
project with ``ripples`` installed loads, does not start the SDK: no sender
module, no exit or fork hooks.
"""

import importlib as _importlib
import logging as _logging
import typing as _typing

from ._version import __version__

if _typing.TYPE_CHECKING:
    from ._client import Ripples
    from ._context import (
        VISITOR_COOKIE,
        VisitorBinding,
        bind_visitor,
        current_visitor_id,
        set_visitor_id,
        visitor_id_from_cookies,
    )
    from ._cookies import visitor_id_from_cookie_headers
    from ._errors import (
        RipplesAPIError,
        RipplesBufferOverflowError,
        RipplesConfigError,
        RipplesError,
        RipplesValidationError,
    )
    from ._events import event_id_for
    from ._ledger import DeliveryStats

__all__ = [
    "VISITOR_COOKIE",
    "DeliveryStats",
    "Ripples",
    "RipplesAPIError",
    "RipplesBufferOverflowError",
    "RipplesConfigError",
    "RipplesError",
    "RipplesValidationError",
    "VisitorBinding",
    "__version__",
    "bind_visitor",
    "current_visitor_id",
    "event_id_for",
    "set_visitor_id",
    "visitor_id_from_cookie_headers",
    "visitor_id_from_cookies",
]

#: Where each public name lives.
_HOMES = {
    "Ripples": "._client",
    "VISITOR_COOKIE": "._context",
    "VisitorBinding": "._context",
    "bind_visitor": "._context",
    "current_visitor_id": "._context",
    "event_id_for": "._events",
    "set_visitor_id": "._context",
    "visitor_id_from_cookies": "._context",
    "visitor_id_from_cookie_headers": "._cookies",
    "RipplesAPIError": "._errors",
    "RipplesBufferOverflowError": "._errors",
    "RipplesConfigError": "._errors",
    "RipplesError": "._errors",
    "RipplesValidationError": "._errors",
    "DeliveryStats": "._ledger",
}

# A library stays quiet unless the application configures logging.
_logging.getLogger("ripples").addHandler(_logging.NullHandler())


def _load() -> None:
    """Import every public name at once and show the public path in reprs and tracebacks
    (``ripples.Ripples``, not ``ripples._client.Ripples``)."""
    namespace = globals()
    for name, home in _HOMES.items():
        value = getattr(_importlib.import_module(home, __name__), name)
        if isinstance(value, type):
            value.__module__ = __name__
        namespace[name] = value


def __getattr__(name: str) -> _typing.Any:
    if name in _HOMES:
        _load()
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
