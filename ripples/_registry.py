"""One sender per configuration, so a client per request costs a dictionary lookup.

Clients with equal configurations share a sender: its buffer, thread and
connection pool. A subclass that overrides ``_post`` (the 0.1.x seam) sends
through its own method, so it gets one sender per (configuration, class),
which calls the override on the most recently created instance.
"""

from __future__ import annotations

import weakref
from typing import Any, Callable, Optional

from . import _lifecycle
from ._config import SenderConfig
from ._report import ErrorCallback
from ._sender import Sender
from ._transport import call_custom_post

#: ``_post(path, data)`` of a client subclass.
PostMethod = Callable[[str, "dict[str, Any]"], None]
_Key = tuple[SenderConfig, Optional[type]]

# Weak values: a sender lives while a client, a binding or its own thread uses it.
_shared: weakref.WeakValueDictionary[_Key, Sender] = weakref.WeakValueDictionary()
# The latest ``_post`` of each (configuration, class), called by that class's sender.
_posts: dict[_Key, PostMethod] = {}


def shared_sender(
    config: SenderConfig, owner: Any = None, on_error: ErrorCallback = None
) -> Sender:
    """The sender for ``config``; ``owner`` is the client when its class overrides ``_post``.

    ``on_error`` is the calling client's: a new sender keeps it as its own (its
    events are buffered without a per-event reference to it).
    """
    key: _Key = (config, None if owner is None else type(owner))
    if owner is not None:
        _posts[key] = owner._post
    sender = _shared.get(key)
    if sender is None:
        with _lifecycle.registry_lock():
            sender = _shared.get(key)
            if sender is None:
                transport = None if owner is None else call_custom_post(_latest_post(key))
                sender = Sender(config, transport, on_error)
                _shared[key] = sender
    return sender


def _latest_post(key: _Key) -> PostMethod:
    def post(path: str, data: dict[str, Any]) -> None:
        _posts[key](path, data)

    return post
