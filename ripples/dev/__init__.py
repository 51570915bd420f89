"""A local Ripples-compatible collector with a live inspector page.

    from ripples.dev import DevServer

    with DevServer() as server:                  # a free loopback port, in-memory store
        client = Ripples(secret_key="priv_test", base_url=server.url)
        client.signup("user_1")
        client.flush()
        [event] = server.wait_for(1, type="signup")

The same server runs from the shell as ``ripples dev`` (see docs/dev-server.md).
It validates every event strictly against the ingest contract, so a mistake
is refused here with the hosted API's message instead of going missing later.
"""

from __future__ import annotations

from ._server import DevServer

__all__ = ["DevServer"]

DevServer.__module__ = __name__
