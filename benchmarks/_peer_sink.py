"""A counting HTTP sink that every benchmarked SDK can post to (benchmark-only).

The peers speak their own endpoints (posthog ``/batch/``, segment ``/v1/batch``)
that ``DevServer`` does not know, so for an A/B comparison all three SDKs post
here: one stdlib server, keep-alive, which parses each JSON batch, counts its
events per endpoint and notes when the last one arrived. It stores nothing, so
the collector is never the bottleneck of a client benchmark. ``hang = True``
makes it accept connections and never answer, like ``DevServer.hang``.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

#: endpoint path -> key of the list of events inside the posted JSON body
ENDPOINTS = {
    "/v1/ingest/batch": "events",  # ripples
    "/batch/": "batch",  # posthog
    "/batch": "batch",
    "/v1/batch": "batch",  # segment
}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDKs' sessions expect
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stall
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request access log."""

    def do_POST(self) -> None:
        sink = self.server.sink
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if sink.hang:
            sink.hung_requests += 1
            sink._release.wait()  # never answer; released by stop()
            self.close_connection = True
            return
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            payload = {}
        path = self.path.split("?", 1)[0]
        key = ENDPOINTS.get(path)
        events = payload.get(key) if key and isinstance(payload, dict) else None
        count = len(events) if isinstance(events, list) else 0
        sink._record(path, count)
        if sink.track_ids and count:
            sink._note_ids(events)  # type: ignore[arg-type]
        reply = b'{"status":1}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    sink: PeerSink


class PeerSink:
    """Counts events posted to any known SDK endpoint; use as a context manager."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.hang = False
        self.hung_requests = 0
        #: Also count distinct event ids and ``seq`` properties (lost/duplicated checks).
        self.track_ids = False
        self._ids: set[str] = set()
        self._seqs: set[Any] = set()
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._counts: dict[str, int] = {}
        self._requests = 0
        self._last_event_at = 0.0
        self._server = _Server((host, port), _Handler)
        self._server.sink = self
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def _record(self, path: str, count: int) -> None:
        with self._lock:
            self._requests += 1
            self._counts[path] = self._counts.get(path, 0) + count
            if count:
                self._last_event_at = time.monotonic()

    def _note_ids(self, events: list[Any]) -> None:
        """Each SDK's own event id (ours ``$event_id``, posthog ``uuid``, segment ``messageId``)
        and the benchmark's ``seq`` property (top level for ours, ``properties`` for peers)."""
        ids, seqs = [], []
        for event in events:
            if not isinstance(event, dict):
                continue
            eid = event.get("$event_id") or event.get("uuid") or event.get("messageId")
            if eid is not None:
                ids.append(str(eid))
            props = event.get("properties")
            seq = event.get("seq", props.get("seq") if isinstance(props, dict) else None)
            if seq is not None:
                seqs.append(seq)
        with self._lock:
            self._ids.update(ids)
            self._seqs.update(seqs)

    def distinct(self) -> dict[str, int]:
        """Distinct event ids and distinct ``seq`` values received since the last reset."""
        with self._lock:
            return {"ids": len(self._ids), "seqs": len(self._seqs)}

    def events(self) -> int:
        """Events received so far, all endpoints together."""
        with self._lock:
            return sum(self._counts.values())

    def snapshot(self) -> dict[str, Any]:
        """Counts, requests and the monotonic time of the last event (shared clock on Linux)."""
        with self._lock:
            return {
                "events": sum(self._counts.values()),
                "by_endpoint": dict(self._counts),
                "requests": self._requests,
                "last_event_at": self._last_event_at,
            }

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
            self._ids.clear()
            self._seqs.clear()
            self._requests = 0
            self._last_event_at = 0.0
        self.hung_requests = 0

    def wait_stable(self, expected: int, timeout: float, quiet: float = 0.5) -> int:
        """Poll until ``expected`` events arrived, or nothing new came for ``quiet`` s."""
        deadline = time.monotonic() + timeout
        last, last_change = -1, time.monotonic()
        while time.monotonic() < deadline:
            now_count = self.events()
            if now_count >= expected:
                return now_count
            if now_count != last:
                last, last_change = now_count, time.monotonic()
            elif time.monotonic() - last_change > quiet:
                return now_count
            time.sleep(0.01)
        return self.events()

    def start(self) -> PeerSink:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="peer-sink", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> PeerSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


if __name__ == "__main__":  # a manual run: python benchmarks/_peer_sink.py
    with PeerSink(port=8799) as sink:
        print(f"peer sink on {sink.url}; Ctrl-C to stop")
        try:
            while True:
                time.sleep(2)
                print(sink.snapshot())
        except KeyboardInterrupt:
            pass
