"""``DevServer``: the local collector as an object, for tests, scripts and ``ripples dev``.

It runs a threading HTTP server in a daemon thread (one thread per
keep-alive connection) over an :class:`EventStore`. Stopping closes the
listening socket *and* every open connection, so clients see the outage at
once; starting again binds the same port (``SO_REUSEADDR``) and keeps the
stored events, which is how tests simulate a collector restart.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import socketserver
import threading
from http.server import ThreadingHTTPServer
from typing import Any, Optional

from ._handler import Handler
from ._store import EventStore
from ._summary import summarize

DEFAULT_MAX_BODY_SIZE = 5 * 1024 * 1024
_STATS = (
    "requests",
    "accepted_batches",
    "refused_batches",
    "simulated_failures",
    "events",
    "duplicates",
)
logger = logging.getLogger("ripples.dev")


def _is_loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")


class _HTTPServer(ThreadingHTTPServer):
    """One listening generation of a DevServer; tracks its connections to close them on stop."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], dev: DevServer) -> None:
        self.dev = dev
        self.loopback_only = _is_loopback(address[0])
        self.stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host's FQDN, which can stall on a
        # misconfigured resolver; loopback needs no name.
        socketserver.TCPServer.server_bind(self)
        self.server_name = str(self.server_address[0])
        self.server_port = int(self.server_address[1])

    def track(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.add(connection)

    def untrack(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.discard(connection)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out (the point of --hang and --latency) is not news.
        logger.debug("connection from %s ended with an error", client_address, exc_info=True)


class DevServer:
    """A local Ripples-compatible collector on a background thread.

    ``with DevServer() as server:`` starts it on a free loopback port with an
    in-memory store; pass ``server.url`` as ``base_url`` or ``RIPPLES_URL``.
    The fault switches (``fail_rate``, ``fail_status``, ``retry_after``,
    ``latency``, ``hang``) can be changed at any time, also while running.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        db: str = ":memory:",
        key: Optional[str] = None,
        *,
        fail_rate: float = 0.0,
        fail_status: int = 503,
        retry_after: Optional[float] = None,
        latency: float = 0.0,
        hang: bool = False,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
    ) -> None:
        self.host = host
        self._port = port
        self._key = key
        self.max_body_size = max_body_size
        self._store = EventStore(db)
        self._hang_changed = threading.Condition(threading.Lock())
        self._hang = False
        self.fail_rate = fail_rate
        self.fail_status = fail_status
        self.retry_after = retry_after
        self.latency = latency
        self.hang = hang
        #: The headers of the latest ingest request, for tests of what a client sends.
        self.last_request_headers: dict[str, str] = {}
        self._stats_lock = threading.Lock()
        self._stats = dict.fromkeys(_STATS, 0)
        self._lifecycle = threading.Lock()
        self._httpd: Optional[_HTTPServer] = None
        self._thread: Optional[threading.Thread] = None
        self._closed = False

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        auth = "key required" if self._key is not None else "any key"
        return f"<DevServer {self._url_or_address()} {state}, {auth}>"

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> DevServer:
        """Start serving (again, on the same port after a stop); returns self."""
        with self._lifecycle:
            if self._closed:
                raise RuntimeError("this DevServer was closed; create a new one")
            if self._httpd is not None:
                return self
            httpd = _HTTPServer((self.host, self._port), self)
            self._port = int(httpd.server_address[1])
            thread = threading.Thread(
                target=httpd.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"ripples-dev:{self._port}",
                daemon=True,
            )
            thread.start()
            self._httpd, self._thread = httpd, thread
        return self

    def stop(self) -> None:
        """Stop listening and drop every connection, hung ones included; events are kept."""
        with self._lifecycle:
            httpd, thread = self._httpd, self._thread
            self._httpd = self._thread = None
            if httpd is None:
                return
            httpd.stopping.set()
            with self._hang_changed:
                self._hang_changed.notify_all()
            httpd.shutdown()
            httpd.server_close()
            httpd.close_connections()
            if thread is not None:
                thread.join(5)

    def close(self) -> None:
        """Stop and release the store; the object cannot be started again."""
        self.stop()
        with self._lifecycle:
            if not self._closed:
                self._closed = True
                self._store.close()

    def __enter__(self) -> DevServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def running(self) -> bool:
        """True between `start` and `stop` (or inside ``with``)."""
        return self._httpd is not None

    @property
    def port(self) -> int:
        """The port it listens on (`int`); raises ``RuntimeError`` before `start`."""
        if not self._port:
            raise RuntimeError("the port is chosen when the server starts; call start() first")
        return self._port

    @property
    def url(self) -> str:
        """The base URL for clients, e.g. ``http://127.0.0.1:8788``."""
        port = self.port
        host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(self.host, self.host)
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{port}"

    def _url_or_address(self) -> str:
        return self.url if self._port else f"{self.host}:<port not chosen>"

    @property
    def key(self) -> Optional[str]:
        """The key required in ``Authorization: Bearer``, or None to accept any key."""
        return self._key

    # -- stored events -------------------------------------------------------------------
    def events(
        self, type: Optional[str] = None, user_id: Optional[str] = None, **filters: Any
    ) -> list[dict[str, Any]]:
        """Stored wire dicts, oldest first; filters: type, user_id, name, area, visitor_id."""
        return self._store.events(type=type, user_id=user_id, **filters)

    def wait_for(self, count: int, timeout: float = 10.0, **filters: Any) -> list[dict[str, Any]]:
        """Wait until ``count`` matching events are stored and return them all, oldest first.

        Raises AssertionError (with what was found) when the deadline passes, so a
        test can use it as its assertion; it wakes on each stored batch, no polling.
        """
        return self._store.wait_for(count, timeout, **filters)

    def clear(self) -> None:
        """Forget every stored event and zero the stats."""
        self._store.clear()
        with self._stats_lock:
            self._stats = dict.fromkeys(_STATS, 0)

    def summary(self) -> dict[str, Any]:
        """The inspector's panels (signups, revenue, activation) as a dict."""
        return summarize(self._store)

    @property
    def stats(self) -> dict[str, int]:
        """Counters since start or the last clear(); ``events`` counts newly stored ones."""
        with self._stats_lock:
            return dict(self._stats)

    def _count(self, name: str) -> None:
        with self._stats_lock:
            self._stats[name] += 1

    def _count_batch(self, accepted: int, duplicates: int) -> None:
        with self._stats_lock:
            stats = self._stats
            stats["accepted_batches"] += 1
            stats["events"] += accepted
            stats["duplicates"] += duplicates

    # -- fault switches ------------------------------------------------------------------
    @property
    def fail_rate(self) -> float:
        """Share of ingest requests answered with ``fail_status`` (0 to 1)."""
        return self._fail_rate

    @fail_rate.setter
    def fail_rate(self, value: float) -> None:
        if isinstance(value, bool) or not 0 <= value <= 1:
            raise ValueError(f"fail_rate must be between 0 and 1, got {value!r}")
        self._fail_rate = float(value)

    @property
    def fail_status(self) -> int:
        """The HTTP status of a simulated failure (default 503)."""
        return self._fail_status

    @fail_status.setter
    def fail_status(self, value: int) -> None:
        if type(value) is not int or not 400 <= value <= 599:
            raise ValueError(f"fail_status must be an HTTP error status (400-599), got {value!r}")
        self._fail_status = value

    @property
    def retry_after(self) -> Optional[float]:
        """Seconds sent as ``Retry-After`` on simulated 429 and 503 answers, or None."""
        return self._retry_after

    @retry_after.setter
    def retry_after(self, value: Optional[float]) -> None:
        if value is not None and (isinstance(value, bool) or not value >= 0):
            raise ValueError(f"retry_after must be a number of seconds >= 0, got {value!r}")
        self._retry_after = value

    @property
    def latency(self) -> float:
        """Seconds to wait before answering each ingest request."""
        return self._latency

    @latency.setter
    def latency(self, value: float) -> None:
        if isinstance(value, bool) or not value >= 0:
            raise ValueError(f"latency must be a number of seconds >= 0, got {value!r}")
        self._latency = float(value)

    @property
    def hang(self) -> bool:
        """While True, ingest requests are accepted and never answered."""
        return self._hang

    @hang.setter
    def hang(self, value: bool) -> None:
        with self._hang_changed:
            self._hang = bool(value)
            self._hang_changed.notify_all()
