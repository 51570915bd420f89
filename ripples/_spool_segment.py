"""A claimed spool segment, and the register of the segments this process holds.

``flock`` keeps other processes off a segment. The register keeps this process's
own threads (and two ``Spool`` objects on one directory) off it too, which also
holds where ``flock`` is emulated with per-process locks (NFS). After ``fork``
the child closes the descriptors it inherited, so a child that outlives its
parent's claim does not keep the segment locked.
"""

from __future__ import annotations

import os
import threading
import weakref

from ._spool_files import SpoolUnavailable, close_quietly
from ._spool_format import DecodedSegment


class Segment:
    """A claimed segment: its events, locked against every other claimer until
    :meth:`delete` or :meth:`release`.

    ``events`` holds every intact record (encoded JSON events, oldest first),
    ``damaged`` how many records were lost to truncation or corruption (a
    segment can have no intact event and still be worth deleting), ``size`` the
    file's bytes. Used as a context manager it is released on exit unless deleted.
    """

    def __init__(self, path: str, fd: int, decoded: DecodedSegment, size: int) -> None:
        self.path = path
        self.events: list[bytes] = decoded.events
        self.damaged = decoded.damaged
        self.size = size
        self._held = True
        self._close = weakref.finalize(self, close_quietly, fd)  # also if never released

    def __repr__(self) -> str:
        return f"<Segment {self.path!r} events={len(self.events)} damaged={self.damaged}>"

    def __enter__(self) -> Segment:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()

    def delete(self) -> None:
        """Remove the file, then release the lock; call only once the API accepted the events.

        A no-op once released. Raises :class:`SpoolUnavailable` if the file cannot
        be removed (the lock is released all the same; the events will be sent again).
        """
        if not self._held:
            return
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            self.release()
            raise SpoolUnavailable(f"cannot delete spool segment {self.path}: {exc}") from exc
        self.release()

    def release(self) -> None:
        """Give the segment back (delivery failed); the file stays for a later claim."""
        if not self._held:
            return
        self._held = False
        CLAIMS.discard(self)
        self._close()

    def abandon(self) -> None:
        """In a forked child: close the inherited descriptor; the parent keeps its claim."""
        self._held = False
        self._close()


class Claims:
    """The segments this process holds, by path. Hold ``lock`` around check-then-add."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._held: weakref.WeakValueDictionary[str, Segment] = weakref.WeakValueDictionary()

    def holds(self, path: str) -> bool:
        return path in self._held

    def add(self, segment: Segment) -> None:
        self._held[segment.path] = segment

    def discard(self, segment: Segment) -> None:
        with self.lock:
            if self._held.get(segment.path) is segment:
                del self._held[segment.path]

    def after_fork_in_child(self) -> None:
        self.lock = threading.Lock()  # another thread may have held it at the fork
        for segment in list(self._held.values()):
            segment.abandon()
        self._held.clear()


CLAIMS = Claims()

if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=CLAIMS.after_fork_in_child)
