"""Ripples for ASGI apps (Starlette, FastAPI, Quart, Django's ASGI handler, ...).

    from ripples import Ripples
    from ripples_asgi import RipplesMiddleware

    ripples = Ripples()
    app = RipplesMiddleware(app, client=ripples)
    # or, in Starlette and FastAPI: app.add_middleware(RipplesMiddleware, client=ripples)

Every event tracked while handling a request gets the browser's ``_rpl_vid``
visitor, and is delivered right after the response without blocking the loop.
"""

from __future__ import annotations

from .middleware import RipplesMiddleware

__all__ = ["RipplesMiddleware"]

# Show the public path in reprs and tracebacks.
RipplesMiddleware.__module__ = __name__
