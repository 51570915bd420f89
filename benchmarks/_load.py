"""A small keep-alive HTTP load generator for ``bench_mwcpu.py`` (stdlib only, its own process).

It reads one job per stdin line, ``PORT PATH REQUESTS CONNECTIONS``, sends
``REQUESTS`` GET requests over ``CONNECTIONS`` keep-alive connections (one
thread each) with the ``_rpl_vid`` cookie, checks each answer is a 200 with a
Content-Length body, and prints one JSON line: ``{"requests", "errors", "wall_s"}``.
Only the server's CPU time is measured, so this client's own speed does not
enter the figures; it is kept lean (pre-built request bytes, raw sockets) so
that it takes as little of the shared cores as it can.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time

COOKIE = "_rpl_vid=3f2b8c1e-6a4d-4e8f-9b7a-1c2d3e4f5a6b"


def _one_connection(port: int, request: bytes, count: int, errors: list[str]) -> None:
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buffer = b""
    try:
        for _ in range(count):
            sock.sendall(request)
            while b"\r\n\r\n" not in buffer:
                chunk = sock.recv(65536)
                if not chunk:
                    raise ConnectionError("the server closed the connection")
                buffer += chunk
            head, _, buffer = buffer.partition(b"\r\n\r\n")
            if not head.startswith((b"HTTP/1.1 200", b"HTTP/1.0 200")):
                raise RuntimeError(head.split(b"\r\n", 1)[0].decode())
            length = -1
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if length < 0:
                raise RuntimeError("no Content-Length in the answer")
            while len(buffer) < length:
                chunk = sock.recv(65536)
                if not chunk:
                    raise ConnectionError("the server closed the connection")
                buffer += chunk
            buffer = buffer[length:]
    except Exception as exc:
        errors.append(f"{type(exc).__name__}: {exc}")
    finally:
        sock.close()


def run(port: int, path: str, requests: int, connections: int) -> dict[str, object]:
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: {COOKIE}\r\n"
        "User-Agent: ripples-bench\r\n\r\n"
    ).encode()
    per, extra = divmod(requests, connections)
    errors: list[str] = []
    threads = [
        threading.Thread(target=_one_connection, args=(port, request, per + (k < extra), errors))
        for k in range(connections)
    ]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"requests": requests, "errors": errors[:3], "wall_s": time.perf_counter() - started}


def main() -> None:
    for line in sys.stdin:
        port, path, requests, connections = line.split()
        print(json.dumps(run(int(port), path, int(requests), int(connections))), flush=True)


if __name__ == "__main__":
    main()
