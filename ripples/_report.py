"""Telling the user about delivery problems: the ``ripples`` logger and ``on_error``."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Callable, Optional

logger = logging.getLogger("ripples")

#: A client's ``on_error``: called from the sender thread (or the exiting thread).
ErrorCallback = Optional[Callable[[Exception], None]]


def report(exc: Exception, callbacks: Iterable[ErrorCallback], level: int) -> None:
    """Log ``exc`` and pass it to each distinct ``on_error``; never raises.

    Callbacks are told apart by identity: an ``on_error`` may be unhashable.
    """
    logger.log(level, "%s", exc)
    distinct = {id(callback): callback for callback in callbacks if callback is not None}
    for callback in distinct.values():
        try:
            callback(exc)
        except Exception:
            logger.exception("ripples: the on_error callback raised")
