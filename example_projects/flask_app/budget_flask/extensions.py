"""Extension objects, created unbound here and bound to an app in ``create_app``."""

from __future__ import annotations

from ripples_flask import Ripples

#: Track with ``ripples.signup(...)`` etc. in any view; the visitor comes from the request.
ripples = Ripples()
