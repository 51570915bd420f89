"""Which browser visitor the current request belongs to.

The binding lives in a ContextVar, not on the client: one client is shared by
every worker thread and coroutine, so a plain attribute would leak one
request's visitor onto another request's events. Copied contexts (threads
started by asgiref or anyio, ``contextvars.copy_context()``) see the same
binding object, which is how the integrations learn that a request tracked
something and which senders to wake after the response.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from contextvars import ContextVar, Token
from types import TracebackType
from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:
    from ._sender import Sender

#: First-party cookie the Ripples browser script writes on every page view.
VISITOR_COOKIE = "_rpl_vid"

_MAX_NESTING = 8
_UUID_RE = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


def normalize_visitor_id(value: Any) -> str | None:
    """Return ``value`` as a lowercase UUID string, or None when it is not one.

    The API stores visitor ids in a UUID column, so one malformed value would
    make it refuse a whole batch; cookies are user-controlled, so never trust them.
    """
    if not isinstance(value, str) or len(value) > 64:
        return None
    if len(value) == 36 and _UUID_RE.fullmatch(value):  # the usual, clean cookie
        return value.lower()
    text: str = value.strip().strip('"').strip()
    if len(text) == 36 and _UUID_RE.fullmatch(text):
        return text.lower()
    return None


def visitor_id_from_cookies(cookies: Mapping[str, str]) -> str | None:
    """The visitor id from a request's cookies (``request.COOKIES``, ``request.cookies``).

    Args:
        cookies: A mapping of cookie names to values, as a framework parses them
            (Django's ``request.COOKIES``, Flask's and Starlette's ``request.cookies``).

    Returns:
        The ``_rpl_vid`` cookie (`VISITOR_COOKIE`) as a lowercase UUID `str`, or
        ``None`` when it is absent or not a well-formed UUID (cookies are untrusted
        input: a malformed value is never sent). Never raises, even for a mapping
        whose ``get`` fails.
    """
    try:
        return normalize_visitor_id(cookies.get(VISITOR_COOKIE))
    except Exception:  # a hostile mapping must not break the request
        return None


class VisitorBinding:
    """A visitor bound to the current context, usable as a (re-enterable) context manager.

    Every event tracked while it is entered, by any client in this thread or
    coroutine (and in contexts copied from it), gets its ``visitor_id`` unless the
    call passes its own. Integrations create one per request with `bind_visitor` (or
    construct it directly from an id that `visitor_id_from_cookies` already
    validated: the constructor does not check it again), enter it around the view and
    again around each chunk of a streamed body, then call `flush_soon` once the
    response is sent.

    Attributes:
        visitor_id: The bound visitor, a lowercase UUID `str`, or ``None`` (events
            tracked under the binding then carry no visitor, unless the client has
            a fixed ``visitor_id``).
    """

    __slots__ = ("_outer", "_senders", "_tokens", "visitor_id")

    def __init__(self, visitor_id: str | None, outer: VisitorBinding | None = None) -> None:
        self.visitor_id = visitor_id
        self._tokens: list[Token[Optional[VisitorBinding]]] = []
        self._senders: set[Sender] = set()
        #: The binding this one replaced: it hears of our events too, so a view
        #: that binds its own visitor still gets flushed with its request.
        self._outer = outer

    def __repr__(self) -> str:
        return f"<VisitorBinding visitor_id={self.visitor_id!r} tracked={self.tracked}>"

    def __enter__(self) -> VisitorBinding:
        token = _current.set(self)
        self._tokens.append(token)
        if self._outer is None:
            previous = token.old_value
            if previous is not None and previous is not _UNSET and previous is not self:
                self._outer = previous
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        token = self._tokens.pop()
        try:
            _current.reset(token)
        except ValueError:  # exited in another context than entered: unbind there
            _current.set(None)

    @property
    def tracked(self) -> bool:
        """True once any client queued an event while this binding was current."""
        return bool(self._senders)

    def flush_soon(self) -> None:
        """Ask every sender that got an event under this binding to send now.

        Never blocks and never raises: the senders do the I/O on their own
        threads, so this is safe at the end of a request and inside an event loop.
        """
        senders = self._senders
        if not senders:
            return
        self._senders = set()
        # tuple() copies in one step under the GIL: a thread-pool thread of this
        # request may still be adding to the set while we iterate.
        for sender in tuple(senders):
            sender.wake()

    def _saw(self, sender: Sender) -> None:
        binding: VisitorBinding | None = self
        for _ in range(_MAX_NESTING):  # bounded: a re-entered binding may close a loop
            if binding is None:
                return
            binding._senders.add(sender)
            binding = binding._outer


_current: ContextVar[VisitorBinding | None] = ContextVar("ripples_visitor", default=None)
#: ``Token.old_value`` of a context where nothing was ever bound.
_UNSET: Any = Token.MISSING


def current_binding() -> VisitorBinding | None:
    return _current.get()


def current_visitor_id() -> str | None:
    """The visitor id bound to the current context (a lowercase UUID string), or None.

    Bound by :func:`bind_visitor`, :func:`set_visitor_id` or an integration's
    middleware. Read it when handing work to a background job, so the job can
    bind the same visitor (``ripples_celery`` does this for Celery tasks).
    """
    binding = _current.get()
    return None if binding is None else binding.visitor_id


def bind_visitor(visitor_id: str | None) -> VisitorBinding:
    """A binding for ``visitor_id`` (malformed or None: no visitor); enter it with ``with``.

    For your own integrations and background jobs: events tracked inside the block
    get the visitor, and the previous binding is restored on exit.

        with bind_visitor(job.visitor_id) as binding:
            ripples.signup(job.user_id)
        binding.flush_soon()   # ask the sender to send what the block tracked, now

    Args:
        visitor_id: The browser visitor's id (the ``_rpl_vid`` cookie, a UUID `str`).
            Anything that is not a well-formed UUID, or ``None``, binds "no visitor".

    Returns:
        A `VisitorBinding`, not yet entered. Never raises.
    """
    return VisitorBinding(normalize_visitor_id(visitor_id))


def set_visitor_id(visitor_id: str | None) -> None:
    """Bind the visitor for the rest of the current context (the 0.1.x API).

    The current context is the thread, or the asyncio task, and what it starts
    afterwards. Prefer ``with bind_visitor(...)``, which restores the previous state
    on exit.

    Args:
        visitor_id: The browser visitor's id (a UUID `str`); malformed or ``None``
            binds "no visitor". Never raises.
    """
    outer = _current.get()
    if outer is not None and not outer._tokens:
        # Replacing another unscoped binding: link to what *it* replaced, so a
        # loop calling this keeps one short chain instead of growing one.
        outer = outer._outer
    _current.set(VisitorBinding(normalize_visitor_id(visitor_id), outer))
