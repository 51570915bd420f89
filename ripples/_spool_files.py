"""The POSIX file operations the spool is built on, each one a crash-safety step.

- :func:`publish` makes a file appear complete or not at all: write a temp file
  (``O_EXCL``, 0600), fsync it, ``os.replace`` it to its final name, fsync the
  directory so the rename survives a power cut.
- :func:`try_flock` takes an exclusive ``flock`` without waiting. The lock
  belongs to the open file description, so the kernel drops it when the holder
  closes the file or dies, ``kill -9`` included.
- :func:`same_file` tells whether a path still names the file a descriptor has
  open, which a claimer checks after locking: the file may have been deleted
  between its ``open`` and its lock.

When one of them fails for want of a usable directory, the spool raises
:class:`SpoolUnavailable`.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from typing import Callable

if sys.platform != "win32":
    import fcntl

O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


class SpoolUnavailable(Exception):
    """The spool directory cannot be used: missing and not creatable, not writable, or full.

    The message names the path and the OS error, never the key. The caller warns
    once and keeps the events in memory. ``evicted_events`` is how many older
    spooled events a failed :meth:`Spool.write` had already deleted to make room.
    """

    def __init__(self, message: str, evicted_events: int = 0) -> None:
        super().__init__(message)
        self.evicted_events = evicted_events


def publish(data: bytes, temp: str, final_name: Callable[[], str]) -> str:
    """Write ``data`` durably under ``final_name()`` by way of ``temp``; the final path.

    ``final_name`` is called just before the rename, so a name with a timestamp
    orders files by when they became visible. On any error the temp file is
    removed and the error raised; the final name never holds a partial file.
    """
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | O_NOFOLLOW, 0o600)
    try:
        try:
            os.fchmod(fd, 0o600)  # exactly 0600, whatever the umask
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        final = final_name()
        os.replace(temp, final)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    fsync_directory(os.path.dirname(final))
    return final


def try_flock(fd: int) -> bool:
    """Lock ``fd`` exclusively if nobody else holds it: whether it is now ours."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def same_file(fd: int, path: str) -> bool:
    """Whether ``path`` still names the file open on ``fd`` (not deleted or replaced since)."""
    try:
        named = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    opened = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (opened.st_dev, opened.st_ino)


def read_all(fd: int) -> bytes:
    """The whole file open on ``fd``, read from its start."""
    chunks: list[bytes] = []
    offset = 0
    while True:
        chunk = os.pread(fd, 1 << 20, offset)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        offset += len(chunk)


def fsync_directory(path: str) -> None:
    """Make a rename or creation in ``path`` durable; file systems that refuse are let be."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise
    finally:
        os.close(fd)


def pid_alive(pid: str) -> bool:
    """Whether a process with this id (decimal text) exists on this machine."""
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def close_quietly(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.close(fd)
