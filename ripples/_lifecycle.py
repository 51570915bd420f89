"""Process lifecycle: which senders exist, and what happens at fork and at exit.

How each way a process can end is handled (the table in docs/reliability.md):

- A normal exit runs ``atexit``: :func:`shutdown_all` drains every sender
  within its ``shutdown_timeout`` without starting a thread (Python 3.12+
  refuses), then reports what is left as undelivered.
- ``multiprocessing`` (fork, forkserver, spawn) and billiard (Celery prefork)
  children end through ``os._exit`` after running their own exit functions,
  so the first sender thread started in such a child registers
  :func:`shutdown_all` as one of their finalizers too.
- ``os.register_at_fork`` resets every sender in a forked child; a fork that
  skips the hooks (uWSGI without ``--py-call-uwsgi-fork-hooks``, C
  extensions) is caught by the senders' own pid check, which calls
  :func:`forked_without_hooks`.
- Servers that re-raise SIGTERM (uvicorn) skip atexit: the integrations drain
  at lifespan or worker shutdown instead, through ``Ripples.close()``.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
import time
import weakref
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._sender import Sender

_senders: weakref.WeakSet[Sender] = weakref.WeakSet()
_lock = threading.Lock()
_pid = os.getpid()
_exit_hooks_pid = -1


def track(sender: Sender) -> None:
    """Include ``sender`` in fork resets and the exit drain."""
    _senders.add(sender)


def registry_lock() -> threading.Lock:
    """The lock that guards process-wide registries; fresh after any fork."""
    if _pid != os.getpid():
        forked_without_hooks()
    return _lock


def _after_fork_in_child() -> None:
    global _lock, _pid
    _lock = threading.Lock()
    _pid = os.getpid()
    for sender in list(_senders):
        sender.after_fork_in_child()


def forked_without_hooks() -> None:
    """Do what the at-fork hook would have done, once per new pid."""
    if _pid != os.getpid():
        _after_fork_in_child()


def ensure_exit_hooks() -> None:
    """In a multiprocessing or billiard child, also drain from its exit functions.

    Their children leave through ``os._exit`` after ``util._exit_function()``
    runs the registered finalizers, so ``atexit`` never runs there. The
    registry is cleared when such a child starts, hence registering here,
    when this process starts its first sender thread.
    """
    global _exit_hooks_pid
    pid = os.getpid()
    if _exit_hooks_pid == pid:
        return
    _exit_hooks_pid = pid
    for package in ("multiprocessing", "billiard"):
        process = sys.modules.get(f"{package}.process")
        if process is None or getattr(process, "parent_process", lambda: None)() is None:
            continue
        try:
            util = __import__(f"{package}.util", fromlist=["Finalize"])
            util.Finalize(None, shutdown_all, exitpriority=100)
        except Exception:  # pragma: no cover - an unexpected multiprocessing variant
            continue


def shutdown_all() -> None:
    """Drain every sender within its shutdown deadline, then account for what is left."""
    if _pid != os.getpid():
        forked_without_hooks()
    senders = [sender for sender in list(_senders) if sender.has_work()]
    if not senders:
        return
    deadline = time.monotonic() + max(s.config.shutdown_timeout for s in senders)
    for sender in senders:
        sender.close(max(0.0, deadline - time.monotonic()), at_exit=True)
    for sender in senders:
        sender.abandon_at_exit()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(shutdown_all)
