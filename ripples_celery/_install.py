"""Celery signal handlers: carry the visitor in task headers, flush after tasks, drain at exit.

Celery signals are process-wide, so the handlers are connected once (with a
``dispatch_uid``) and serve every Celery app of the process; the clients to
drain at shutdown are kept in a small registry. The
visitor is bound in ``task_prerun`` and unbound in ``task_postrun``: both run
in the thread (or greenlet) that executes the task, in every pool, so the
ContextVar binding is exactly as wide as the task.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any, Optional

from celery import Celery, signals

from ripples import Ripples, VisitorBinding, bind_visitor, current_visitor_id

logger = logging.getLogger("ripples.celery")

#: The task message header that carries the visitor id (a lowercase UUID string).
VISITOR_HEADER = "ripples_visitor_id"

_lock = threading.Lock()
_clients: list[Ripples] = []
#: Where the binding entered for a task execution is kept, on its ``task.request``.
_BINDING_ATTRIBUTE = "_ripples_binding"


class Installation:
    """What :func:`install` set up: the Celery app and the client drained at shutdown."""

    __slots__ = ("app", "client")

    def __init__(self, app: Celery, client: Ripples) -> None:
        self.app = app
        self.client = client

    def __repr__(self) -> str:
        return f"<ripples_celery.Installation app={self.app.main!r}>"


def install(app: Celery, client: Ripples) -> Installation:
    """Connect Ripples to ``app`` (a ``celery.Celery``); safe to call more than once.

    ``client`` is the ``ripples.Ripples`` the tasks use (or ``ripples_django.ripples``);
    it is closed, draining its buffer within its ``shutdown_timeout`` (seconds),
    when a prefork child or the worker shuts down. The hooks are Celery signal
    handlers, so they serve every Celery app in the process. Never raises into
    tasks. Raises TypeError when ``app`` is not a Celery app.
    """
    if not isinstance(app, Celery):
        raise TypeError(f"ripples_celery.install(): app must be a celery.Celery, got {app!r}")
    with _lock:
        if not any(known is client for known in _clients):
            _clients.append(client)
    _connect()
    return Installation(app, client)


def visitor_from_headers(headers: Any) -> Optional[str]:
    """The visitor id carried by a task's headers, or None when absent or malformed.

    Headers come from the broker and are untrusted: anything that is not a
    UUID string (after the same checks as the visitor cookie) is ignored.
    """
    try:
        value = headers.get(VISITOR_HEADER) if isinstance(headers, Mapping) else None
        if value is None:
            return None
        return bind_visitor(value).visitor_id  # validates: junk gives None
    except Exception:
        return None


def _connect() -> None:
    signals.before_task_publish.connect(
        _before_publish, weak=False, dispatch_uid="ripples_celery.publish"
    )
    signals.task_prerun.connect(_prerun, weak=False, dispatch_uid="ripples_celery.prerun")
    signals.task_postrun.connect(_postrun, weak=False, dispatch_uid="ripples_celery.postrun")
    signals.worker_process_shutdown.connect(
        _shutdown, weak=False, dispatch_uid="ripples_celery.process_shutdown"
    )
    signals.worker_shutdown.connect(_shutdown, weak=False, dispatch_uid="ripples_celery.shutdown")


def _before_publish(headers: Any = None, **_: Any) -> None:
    """Put the bound visitor (if any) in the outgoing message's headers."""
    try:
        visitor = current_visitor_id()
        if visitor is not None and isinstance(headers, dict):
            headers.setdefault(VISITOR_HEADER, visitor)
    except Exception:
        logger.warning("could not add the visitor to a task message", exc_info=True)


def _task_visitor(task: Any) -> Optional[str]:
    """The visitor of the task being run: its header, else (eager call) the caller's."""
    request = task.request
    visitor = visitor_from_headers({VISITOR_HEADER: getattr(request, VISITOR_HEADER, None)})
    if visitor is None:
        visitor = visitor_from_headers(getattr(request, "headers", None))
    if visitor is None and getattr(request, "is_eager", False):
        visitor = current_visitor_id()  # run in the caller's context: keep its visitor
    return visitor


def _prerun(task: Any = None, **_: Any) -> None:
    try:
        binding = bind_visitor(_task_visitor(task))
        binding.__enter__()
        # On this execution's request: a redelivered message may run twice at once
        # under the same task id, so the id cannot key the binding.
        setattr(task.request, _BINDING_ATTRIBUTE, binding)
    except Exception:
        logger.warning("could not bind the visitor for a task", exc_info=True)


def _postrun(task: Any = None, **_: Any) -> None:
    try:
        binding = getattr(task.request, _BINDING_ATTRIBUTE, None)
        if not isinstance(binding, VisitorBinding):
            return
        setattr(task.request, _BINDING_ATTRIBUTE, None)
        binding.__exit__(None, None, None)
        binding.flush_soon()
    except Exception:
        logger.warning("could not hand a task's events to the sender", exc_info=True)


def _shutdown(**_: Any) -> None:
    """Drain every installed client: a prefork child ends with ``os._exit``, skipping atexit."""
    with _lock:
        clients = list(_clients)
    for client in clients:
        try:
            client.close()
        except Exception:
            logger.warning("could not drain the Ripples client at shutdown", exc_info=True)
