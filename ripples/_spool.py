"""A durable spool: events the API could not take yet, kept on disk across restarts.

Layout under the configured directory (format of a segment: ``_spool_format``)::

    <directory>/<namespace>/              0700, one per configuration, see spool_namespace()
        .lock                             0600, serialises writers (flock), never holds data
        <time_ns>-<pid>-<n>-<rand>.seg    0600, one immutable segment per write()
        .tmp-<pid>-<n>-<rand>             0600, a segment being written, invisible to readers

Interface::

    SpoolUnavailable                      directory missing/unwritable/full; warn, stay in memory
    spool_namespace(base_url, secret_key) -> str
    Spool(directory, namespace, max_bytes)
        .write(events: Sequence[bytes]) -> WriteResult
        .claim() -> Segment | None        oldest segment nobody holds, locked for the caller
        .size_bytes(), .pending_segments(), .pending_events() -> int; .path
    Segment                               .events, .damaged, .path, .size; .delete(), .release()
    WriteResult                           written_events, written_bytes, evicted_events,
                                          rejected_events, dropped_events, path

Crash safety. A segment is written to a temp file (``O_EXCL``, 0600), fsynced,
and only then renamed (``os.replace``) to its ``.seg`` name, after which the
directory is fsynced; so a ``.seg`` file is always complete, and a writer that
dies leaves at most a temp file, removed once it is ten minutes old and its pid
is gone (or an hour old). A reader claims a segment with ``flock(LOCK_EX |
LOCK_NB)`` on the file itself, which the kernel releases when the holder dies,
however it dies; it deletes the file only after the API accepted the events.
A crash between acceptance and deletion re-sends the segment, which is
harmless: events keep their ``$event_id`` and the API de-duplicates on it.
Within one process, a register (``_spool_segment``) keeps two threads from
claiming one segment. POSIX only: on Windows ``Spool()`` raises
:class:`SpoolUnavailable`. The steps themselves are in ``_spool_files``.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import logging
import os
import stat
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from ._spool_files import (
    O_NOFOLLOW,
    SpoolUnavailable,
    fsync_directory,
    pid_alive,
    publish,
    read_all,
    same_file,
    try_flock,
)
from ._spool_format import (
    FORMAT_VERSION,
    HEADER_SIZE,
    decode_segment,
    encode_segment,
    read_header,
    record_size,
)
from ._spool_segment import CLAIMS, Segment

__all__ = ["Segment", "Spool", "SpoolUnavailable", "WriteResult", "spool_namespace"]

logger = logging.getLogger("ripples")

SEGMENT_SUFFIX = ".seg"
TEMP_PREFIX = ".tmp-"
_LOCK_NAME = ".lock"
_STALE_TEMP_AGE = 600.0  # seconds: a temp file this old whose writer's pid is gone is debris
_ABANDONED_TEMP_AGE = 3600.0  # seconds: no write takes this long, whatever the pid says
_TEMP_SWEEP_EVERY = 60.0  # seconds between sweeps for debris from claim()
_WRITE_LOCK_WAIT = 2.0  # seconds a writer waits for another process's write to finish
_NAMESPACE_SALT = b"ripples-spool-namespace-v1"
_NAMESPACE_ITERATIONS = 100_000

_counter = itertools.count()
_namespaces: dict[tuple[str, str], str] = {}
_write_lock = threading.Lock()  # one writer per process; .lock serialises processes


def spool_namespace(base_url: str, secret_key: str) -> str:
    """The directory name for one configuration: 32 hex characters.

    PBKDF2-HMAC-SHA256 (100,000 iterations, fixed salt) over the key and the base
    URL (trailing slash ignored), so every process with the same configuration
    finds the same directory while the name reveals neither the key nor a hash
    that is cheap to test guesses against. Computed once per configuration.
    """
    cache_key = (base_url.rstrip("/"), secret_key)
    name = _namespaces.get(cache_key)
    if name is None:
        material = f"{secret_key}\n{cache_key[0]}".encode()
        digest = hashlib.pbkdf2_hmac("sha256", material, _NAMESPACE_SALT, _NAMESPACE_ITERATIONS)
        name = _namespaces[cache_key] = digest.hex()[:32]
    return name


@dataclass(frozen=True)
class WriteResult:
    """What one :meth:`Spool.write` did.

    The newest events are kept when not all fit, so the events written are
    ``events[rejected_events:]``. ``evicted_events`` were in older segments,
    deleted to make room; ``path`` is the new segment, ``None`` if none was written.
    """

    written_events: int
    written_bytes: int
    evicted_events: int
    rejected_events: int
    path: str | None

    @property
    def dropped_events(self) -> int:
        """Events lost by this write: evicted from older segments plus rejected from this one."""
        return self.evicted_events + self.rejected_events


class Spool:
    """The segments of one configuration in one directory, shared by every process.

    ``directory`` is created (0700) if missing, then ``<directory>/<namespace>/``
    (0700). ``max_bytes`` (bytes, > 0) caps the total size of the segments.
    Raises :class:`SpoolUnavailable` if the directory cannot be created or
    written, ``ValueError`` for a bad ``namespace`` or ``max_bytes``.
    """

    def __init__(self, directory: str | os.PathLike[str], namespace: str, max_bytes: int) -> None:
        if not namespace or namespace in (".", "..") or os.sep in namespace:
            raise ValueError(f"invalid spool namespace {namespace!r}")
        if max_bytes <= 0:
            raise ValueError(f"max_bytes must be positive, got {max_bytes!r}")
        self.directory = os.fspath(directory)
        self.path = os.path.join(self.directory, namespace)
        self.max_bytes = max_bytes
        self._warned: set[str] = set()
        self._next_sweep = 0.0
        if sys.platform == "win32":
            raise SpoolUnavailable("the spool needs POSIX file locks (flock)")
        self._ensure_directory()
        self._probe()
        self._sweep_temps()

    def __repr__(self) -> str:
        return f"<Spool {self.path!r} max_bytes={self.max_bytes}>"

    # -- writing -----------------------------------------------------------------

    def write(self, events: Sequence[bytes]) -> WriteResult:
        """Store ``events`` (encoded JSON objects, oldest first) as one new segment.

        If the spool would exceed ``max_bytes``, the oldest segments nobody holds
        are deleted first (``evicted_events``); if the batch still does not fit,
        its newest events that do are written and the rest are ``rejected_events``.
        Raises :class:`SpoolUnavailable` on any OS error (no space, read-only,
        directory gone and not re-creatable); nothing partial is left visible.
        """
        batch = list(events)  # any sequence, a deque included
        if not batch:
            return WriteResult(0, 0, 0, 0, None)
        evicted = 0
        try:
            if not os.path.isdir(self.path):
                self._ensure_directory()
            with _write_lock, self._directory_lock():
                segments = self._scan()
                used = sum(size for _, size in segments)
                need = used + HEADER_SIZE + sum(map(record_size, batch)) - self.max_bytes
                if need > 0:
                    evicted, freed = self._evict(segments, need)
                    used -= freed
                keep = _newest_that_fit(batch, self.max_bytes - used)
                if not keep:
                    return WriteResult(0, 0, evicted, len(batch), None)
                data = encode_segment(keep)
                path = self._write_segment(data)
        except SpoolUnavailable as exc:
            exc.evicted_events += evicted
            raise
        except OSError as exc:
            raise SpoolUnavailable(
                f"cannot write to the spool {self.path}: {exc.strerror or exc}", evicted
            ) from exc
        return WriteResult(len(keep), len(data), evicted, len(batch) - len(keep), path)

    def _write_segment(self, data: bytes) -> str:
        token = f"{os.getpid()}-{next(_counter)}-{os.urandom(3).hex()}"
        return publish(
            data,
            os.path.join(self.path, TEMP_PREFIX + token),
            lambda: os.path.join(self.path, f"{time.time_ns():020d}-{token}{SEGMENT_SUFFIX}"),
        )

    def _evict(self, segments: list[tuple[str, int]], need: int) -> tuple[int, int]:
        """Delete the oldest unheld segments until ``need`` bytes are freed: (events, bytes)."""
        evicted = freed = 0
        for name, size in segments:
            if freed >= need:
                break
            path = os.path.join(self.path, name)
            with CLAIMS.lock:
                if CLAIMS.holds(path):
                    continue
                try:
                    events = _delete_unless_held(path)
                except OSError:
                    break  # the write that follows fails too, and says why
            if events is not None:
                evicted += events
                freed += size
        return evicted, freed

    @contextlib.contextmanager
    def _directory_lock(self) -> Iterator[None]:
        """Serialise writers across processes, so the size check and the write are one step.

        A writer that cannot get the lock within two seconds (its holder is stopped,
        say) goes ahead: overshooting by one segment is better than losing events.
        """
        path = os.path.join(self.path, _LOCK_NAME)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | O_NOFOLLOW, 0o600)
        try:
            deadline = time.monotonic() + _WRITE_LOCK_WAIT
            while not try_flock(fd) and time.monotonic() < deadline:
                time.sleep(0.005)
            yield
        finally:
            os.close(fd)

    # -- reading -----------------------------------------------------------------

    def claim(self) -> Segment | None:
        """The oldest segment no other process or thread holds, locked and read; else ``None``.

        Segments written by a newer SDK (a later format version) are left alone.
        A segment that cannot be opened or read is skipped with one warning.
        Raises :class:`SpoolUnavailable` if the directory cannot be listed.
        """
        if time.monotonic() >= self._next_sweep:
            self._sweep_temps()
        try:
            names = self._names()  # no stat: a claim costs one directory read
        except OSError as exc:
            raise SpoolUnavailable(f"cannot read the spool {self.path}: {exc.strerror}") from exc
        for name in names:
            path = os.path.join(self.path, name)
            with CLAIMS.lock:
                if CLAIMS.holds(path):
                    continue
                segment = self._try_claim(path)
                if segment is not None:
                    CLAIMS.add(segment)
                    return segment
        return None

    def _try_claim(self, path: str) -> Segment | None:
        try:
            fd = os.open(path, os.O_RDONLY | O_NOFOLLOW)
        except FileNotFoundError:
            return None
        except OSError as exc:
            self._warn_once(path, exc)
            return None
        try:
            if not try_flock(fd) or not same_file(fd, path):
                os.close(fd)
                return None
            data = read_all(fd)
        except OSError as exc:
            os.close(fd)
            self._warn_once(path, exc)
            return None
        decoded = decode_segment(data)
        if decoded.version is not None and decoded.version > FORMAT_VERSION:
            os.close(fd)
            return None
        return Segment(path, fd, decoded, len(data))

    def _warn_once(self, path: str, exc: OSError) -> None:
        if path not in self._warned:
            self._warned.add(path)
            logger.warning("ripples: skipping spool segment %s: %s", path, exc.strerror or exc)

    # -- inspection ----------------------------------------------------------------

    def size_bytes(self) -> int:
        """Total bytes of the segments on disk, claimed ones included."""
        return sum(size for _, size in self._scan_or_raise())

    def pending_segments(self) -> int:
        """Number of segments on disk, claimed ones included."""
        return len(self._scan_or_raise())

    def pending_events(self) -> int:
        """Events in the segments on disk, claimed ones included, as their headers announce."""
        total = 0
        for name, _ in self._scan_or_raise():
            with contextlib.suppress(FileNotFoundError):
                with open(os.path.join(self.path, name), "rb") as file:
                    data = file.read(HEADER_SIZE)
                    header = read_header(data)
                    if header is None:
                        data += file.read()
                total += header[1] if header else len(decode_segment(data).events)
        return total

    def _scan_or_raise(self) -> list[tuple[str, int]]:
        try:
            return self._scan()
        except OSError as exc:
            raise SpoolUnavailable(f"cannot read the spool {self.path}: {exc.strerror}") from exc

    def _names(self) -> list[str]:
        """Every segment's file name, oldest first (names sort by creation time)."""
        names = os.listdir(self.path)
        return sorted(n for n in names if n.endswith(SEGMENT_SUFFIX) and not n.startswith("."))

    def _scan(self) -> list[tuple[str, int]]:
        """``(name, bytes)`` of every segment, oldest first."""
        found = []
        for name in self._names():
            try:
                found.append((name, os.stat(os.path.join(self.path, name)).st_size))
            except FileNotFoundError:
                continue
        return found

    # -- setup and upkeep ------------------------------------------------------------

    def _ensure_directory(self) -> None:
        try:
            os.makedirs(self.directory, mode=0o700, exist_ok=True)
            try:
                os.mkdir(self.path, 0o700)
            except FileExistsError:
                pass
            else:
                os.chmod(self.path, 0o700)  # exactly 0700, whatever the umask
                fsync_directory(self.directory)
            info = os.lstat(self.path)
        except OSError as exc:
            raise SpoolUnavailable(
                f"cannot create the spool directory {self.path}: {exc.strerror or exc}"
            ) from exc
        if not stat.S_ISDIR(info.st_mode):
            raise SpoolUnavailable(f"the spool path {self.path} is not a directory")
        if info.st_uid != os.geteuid():
            raise SpoolUnavailable(f"the spool directory {self.path} belongs to another user")

    def _probe(self) -> None:
        """Create and remove a temp file, so an unwritable directory fails here, not later."""
        probe = os.path.join(self.path, f"{TEMP_PREFIX}{os.getpid()}-probe-{os.urandom(3).hex()}")
        try:
            os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | O_NOFOLLOW, 0o600))
            os.unlink(probe)
        except OSError as exc:
            raise SpoolUnavailable(
                f"cannot write to the spool directory {self.path}: {exc.strerror or exc}"
            ) from exc

    def _sweep_temps(self) -> None:
        """Remove temp files left by writers that crashed (see the module docstring)."""
        self._next_sweep = time.monotonic() + _TEMP_SWEEP_EVERY
        now = time.time()
        with contextlib.suppress(OSError), os.scandir(self.path) as entries:
            for entry in entries:
                if not entry.name.startswith(TEMP_PREFIX):
                    continue
                with contextlib.suppress(OSError):
                    age = now - entry.stat(follow_symlinks=False).st_mtime
                    pid = entry.name[len(TEMP_PREFIX) :].split("-", 1)[0]
                    if age > _ABANDONED_TEMP_AGE or (age > _STALE_TEMP_AGE and not pid_alive(pid)):
                        os.unlink(entry.path)


def _newest_that_fit(events: list[bytes], room: int) -> list[bytes]:
    """The longest tail of ``events`` whose segment (header included) fits in ``room`` bytes."""
    room -= HEADER_SIZE
    start = len(events)
    while start > 0 and record_size(events[start - 1]) <= room:
        room -= record_size(events[start - 1])
        start -= 1
    return events[start:]


def _delete_unless_held(path: str) -> int | None:
    """Delete a segment nobody holds: its event count, 0 if already gone, ``None`` if held."""
    try:
        fd = os.open(path, os.O_RDONLY | O_NOFOLLOW)
    except FileNotFoundError:
        return 0
    try:
        if not try_flock(fd):
            return None
        if not same_file(fd, path):
            return 0
        header = read_header(os.pread(fd, HEADER_SIZE, 0))
        count = header[1] if header else len(decode_segment(read_all(fd)).events)
        os.unlink(path)
        return count
    finally:
        os.close(fd)


def _after_fork_in_child() -> None:
    global _write_lock
    _write_lock = threading.Lock()  # another thread may have held it at the fork


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
