"""One HTTP request to the dev collector: ingest, the inspector page and its JSON API.

The ingest path is kept short because the collector must never be what a
benchmark measures: read the body, parse, validate, one transaction, one
``write`` of the whole response (headers and body together, so Nagle and
delayed ACKs never add 40 ms to a keep-alive exchange).

Fault switches apply to ``POST /v1/ingest/batch`` only, in the order an
outage would show them to a client: hang, then latency, then a failure
status; the inspector keeps working while the collector plays dead.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import logging
import random
import re
import zlib
from datetime import datetime, timezone
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional
from urllib.parse import parse_qs

from ._summary import summarize
from ._validate import ContractError, validate_batch

if TYPE_CHECKING:
    from ._server import _HTTPServer

BATCH_PATH = "/v1/ingest/batch"
MAX_EVENTS_LIMIT = 1000
logger = logging.getLogger("ripples.dev")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_decode_json = json.JSONDecoder(parse_constant=_refuse_constant).decode
_encode_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _load_page() -> tuple[bytes, str]:
    """The inspector and a Content-Security-Policy pinning its own inline script and style."""
    page = Path(__file__).with_name("_inspector.html").read_text("utf-8")

    def digest(tag: str) -> str:
        found = re.search(rf"<{tag}>(.*?)</{tag}>", page, re.DOTALL)
        body = found.group(1) if found else ""
        return "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"

    policy = (
        f"default-src 'none'; script-src {digest('script')}; style-src {digest('style')}; "
        "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    )
    return page.encode("utf-8"), policy


_PAGE, _PAGE_POLICY = _load_page()


class _Reply(Exception):
    """Raised anywhere on a request path to answer at once with ``{"error": message}``."""

    def __init__(
        self, status: int, message: str, *, close: bool = False, headers: tuple[str, ...] = ()
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.close = close
        self.headers = headers


class Handler(BaseHTTPRequestHandler):
    """Routes requests; state (store, switches, stats) lives on ``self.server.dev``."""

    protocol_version = "HTTP/1.1"
    server_version = "ripples-dev"
    sys_version = ""
    timeout = 300  # an idle keep-alive connection gives its thread back eventually
    disable_nagle_algorithm = True
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.untrack(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.address_string(), *args)

    # -- routing -------------------------------------------------------------------------
    def do_POST(self) -> None:
        path = self.path.partition("?")[0]
        try:
            if path == BATCH_PATH:
                self._ingest()
            elif path == "/api/clear":
                self._read_body(self.server.dev.max_body_size)
                self._check_inspector_request()
                if not self.headers.get("X-Ripples-Inspector"):
                    raise _Reply(403, "send the X-Ripples-Inspector header to clear the store")
                self.server.dev.clear()
                self._send_json(200, {"cleared": True})
            else:
                self._read_body(self.server.dev.max_body_size)
                raise _Reply(404, f"no such endpoint: POST {path}")
        except _Reply as reply:
            self._send_error_reply(reply)

    def do_GET(self) -> None:
        path, _, query = self.path.partition("?")
        try:
            if path in ("/", "/index.html"):
                self._check_inspector_request()
                self._respond(
                    200,
                    _PAGE,
                    "text/html; charset=utf-8",
                    (
                        f"Content-Security-Policy: {_PAGE_POLICY}",
                        "Cache-Control: no-store",
                        "Referrer-Policy: no-referrer",
                        "X-Frame-Options: DENY",
                    ),
                )
            elif path == "/api/events":
                self._check_inspector_request()
                self._send_json(200, self._events_page(parse_qs(query)))
            elif path == "/api/summary":
                self._check_inspector_request()
                self._send_json(200, summarize(self.server.store))
            else:
                raise _Reply(404, f"no such endpoint: GET {path}")
        except _Reply as reply:
            self._send_error_reply(reply)

    # -- ingest --------------------------------------------------------------------------
    def _ingest(self) -> None:
        dev = self.server.dev
        counters = self.server.counters
        stopping = self.server.stopping
        counters.add("requests")
        dev.last_request_headers = dict(self.headers.items())
        if self.server.hang.on and not self.server.hang.wait_while_on(stopping):
            self.close_connection = True
            return
        latency = dev.latency
        if latency > 0 and stopping.wait(latency):
            self.close_connection = True
            return
        try:
            body = self._read_body(dev.max_body_size)
        except _Reply as reply:
            self._refused(reply.status, reply.message)
            raise
        fail_rate = dev.fail_rate
        if fail_rate > 0 and random.random() < fail_rate:
            counters.add("simulated_failures")
            status = dev.fail_status
            retry_after = dev.retry_after
            headers: tuple[str, ...] = ()
            if retry_after is not None and status in (429, 503):
                seconds = f"{retry_after:.3f}".rstrip("0").rstrip(".")
                headers = (f"Retry-After: {seconds}",)
            logger.info("simulated failure: HTTP %d", status)
            raise _Reply(status, "simulated failure (ripples dev --fail-rate)", headers=headers)
        try:
            self._check_key(dev.key)
            text = self._decode(body, dev.max_body_size)
            events = validate_batch(self._parse(text))
        except _Reply as reply:
            self._refused(reply.status, reply.message)
            raise
        except ContractError as exc:
            self._refused(400, str(exc))
            raise _Reply(400, str(exc)) from None
        accepted, duplicates = self.server.store.insert(events, text)
        counters.add_batch(accepted, duplicates)
        logger.info("stored %d event(s), %d duplicate(s)", accepted, duplicates)
        self._send_json(200, {"accepted": accepted, "duplicates": duplicates})

    def _refused(self, status: int, message: str) -> None:
        self.server.counters.add("refused_batches")
        logger.warning("refused a batch: HTTP %d: %s", status, message)

    def _check_key(self, key: Optional[str]) -> None:
        scheme, _, token = self.headers.get("Authorization", "").partition(" ")
        token = token.strip()
        challenge = ('WWW-Authenticate: Bearer realm="ripples"',)
        if scheme.lower() != "bearer" or not token:
            raise _Reply(
                401, "missing API key: send Authorization: Bearer <key>", headers=challenge
            )
        if key is not None and not hmac.compare_digest(token.encode(), key.encode()):
            raise _Reply(401, "invalid API key", headers=challenge)

    def _decode(self, body: bytes, limit: int) -> str:
        """The body as text, gunzipped when the client says so."""
        encoding = (self.headers.get("Content-Encoding") or "identity").strip().lower()
        if encoding in ("gzip", "x-gzip"):
            inflater = zlib.decompressobj(wbits=31)
            try:
                body = inflater.decompress(body, limit + 1)
            except zlib.error:
                raise _Reply(400, "body is not valid gzip") from None
            if len(body) > limit or inflater.unconsumed_tail:
                raise _Reply(413, f"body is larger than {limit} bytes once decompressed")
            if not inflater.eof:
                raise _Reply(400, "gzip body is truncated")
        elif encoding != "identity":
            raise _Reply(415, f"unsupported Content-Encoding {encoding!r} (use gzip or none)")
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            raise _Reply(400, "malformed JSON: body is not UTF-8") from None

    def _parse(self, text: str) -> Any:
        try:
            return _decode_json(text)
        except RecursionError:
            raise _Reply(400, "malformed JSON: nested too deeply") from None
        except ValueError as exc:
            raise _Reply(400, f"malformed JSON: {exc}") from None

    # -- body ----------------------------------------------------------------------------
    def _read_body(self, limit: int) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked(limit)
        raw = self.headers.get("Content-Length")
        if raw is None:
            return b""
        try:
            length = int(raw)
            if length < 0:
                raise ValueError(raw)
        except ValueError:
            raise _Reply(400, "invalid Content-Length", close=True) from None
        if length > limit:
            raise _Reply(413, f"body of {length} bytes is larger than {limit} bytes", close=True)
        body = self.rfile.read(length)
        if len(body) < length:
            raise _Reply(400, "body ended early", close=True)
        return body

    def _read_chunked(self, limit: int) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise _Reply(400, "malformed chunked body", close=True) from None
            if size == 0:
                break
            total += size
            if total > limit:
                raise _Reply(413, f"body is larger than {limit} bytes", close=True)
            parts.append(self.rfile.read(size))
            self.rfile.readline(1024)
        while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
            pass  # trailers
        return b"".join(parts)

    # -- inspector API -------------------------------------------------------------------
    def _check_inspector_request(self) -> None:
        """Refuse foreign Host names so a DNS-rebinding page cannot read the events."""
        if not self.server.loopback_only:
            return
        host = self.headers.get("Host", "").strip().lower()
        name = host[1 : host.find("]")] if host.startswith("[") else host.rsplit(":", 1)[0]
        if name == "localhost" or name.endswith(".localhost") or _is_loopback_address(name):
            return
        raise _Reply(403, f"unexpected Host header {host!r}; open the inspector via 127.0.0.1")

    def _events_page(self, query: dict[str, list[str]]) -> dict[str, Any]:
        def number(name: str, default: int, low: int, high: int) -> int:
            raw = query.get(name, [""])[-1]
            if not raw:
                return default
            try:
                value = int(raw)
            except ValueError:
                raise _Reply(400, f"{name} must be an integer") from None
            if not low <= value <= high:
                raise _Reply(400, f"{name} must be between {low} and {high}")
            return value

        limit = number("limit", 100, 1, MAX_EVENTS_LIMIT)
        after = number("after", 0, 0, 2**62)
        filters = {
            key: query[key][-1] for key in ("type", "user_id", "name") if query.get(key, [""])[-1]
        }
        store = self.server.store
        rows = store.rows(filters, limit=limit, after=after, newest_first=True)
        return {
            "epoch": store.epoch,
            "latest": store.latest(),
            "total": store.count(),
            "count": store.count(**filters),
            "events": [
                {"seq": seq, "received_at": _iso(received), "event": event}
                for seq, received, event in rows
            ],
        }

    # -- responses -----------------------------------------------------------------------
    def _send_error_reply(self, reply: _Reply) -> None:
        if reply.close:
            self.close_connection = True
        self._send_json(reply.status, {"error": reply.message}, reply.headers)

    def _send_json(self, status: int, payload: Any, headers: tuple[str, ...] = ()) -> None:
        self._respond(status, _encode_json(payload).encode("utf-8"), "application/json", headers)

    def _respond(
        self, status: int, body: bytes, content_type: str, headers: tuple[str, ...] = ()
    ) -> None:
        if self.request_version != "HTTP/1.1":
            self.close_connection = True
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Status"
        head = [
            f"{self.protocol_version} {status} {phrase}",
            f"Server: {self.server_version}",
            f"Date: {self.date_time_string()}",
            f"Content-Type: {content_type}",
            f"Content-Length: {len(body)}",
            "X-Content-Type-Options: nosniff",
            *headers,
        ]
        if self.close_connection:
            head.append("Connection: close")
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)


def _is_loopback_address(name: str) -> bool:
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False  # a host name such as 127.example.com


def _iso(timestamp: float) -> str:
    moment = datetime.fromtimestamp(timestamp, timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
