"""A minimal blocking websocket client on wsproto (already installed with the servers)."""

from __future__ import annotations

import socket

from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    CloseConnection,
    Ping,
    RejectConnection,
    Request,
    TextMessage,
)


def websocket_session(
    port: int, target: str, messages: list[str], headers: list[tuple[bytes, bytes]]
) -> tuple[list[str], int | None]:
    """Send ``messages`` once accepted; return the text replies and the server's close code."""
    conn = WSConnection(ConnectionType.CLIENT)
    replies: list[str] = []
    partial = ""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        request = Request(host=f"127.0.0.1:{port}", target=target, extra_headers=headers)
        sock.sendall(conn.send(request))
        while True:
            data = sock.recv(65536)
            if not data:
                return replies, None
            conn.receive_data(data)
            for event in conn.events():
                if isinstance(event, AcceptConnection):
                    sock.sendall(b"".join(conn.send(TextMessage(data=m)) for m in messages))
                elif isinstance(event, TextMessage):
                    partial += event.data
                    if event.message_finished:
                        replies.append(partial)
                        partial = ""
                elif isinstance(event, Ping):
                    sock.sendall(conn.send(event.response()))
                elif isinstance(event, CloseConnection):
                    sock.sendall(conn.send(event.response()))
                    return replies, event.code
                elif isinstance(event, RejectConnection):
                    raise AssertionError(f"websocket refused with HTTP {event.status_code}")
