"""A WSGI app whose every request tracks ten revenue events; the client reads its spool from
RIPPLES_SPOOL_DIR and its key and URL from the environment."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from typing import Any, Callable

from ripples import Ripples

logging.basicConfig(level=logging.WARNING)  # as an app would: the spool is logged
ripples = Ripples(
    timeout=0.5, connect_timeout=0.5, max_retries=1, flush_interval=0.2, shutdown_timeout=2
)


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    _, _, tag = environ.get("PATH_INFO", "/").rpartition("/")
    for i in range(10):
        ripples.revenue(9.99, f"user_{tag}", transaction_id=f"{tag}_{i}", pid=os.getpid())
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
