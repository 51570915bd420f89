"""Ripples for Flask: ``ripples = Ripples(app)`` (or ``init_app`` in a factory).

Every request binds the browser visitor (the ``_rpl_vid`` cookie) so events
tracked while handling it are attributed, and wakes the background sender
after the last byte of the response, without making the response wait.
"""

from __future__ import annotations

from ._extension import Ripples

__all__ = ["Ripples"]

Ripples.__module__ = __name__
