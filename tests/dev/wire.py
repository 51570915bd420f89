"""Raw wire events and posts, so collector tests never depend on the client."""

from __future__ import annotations

import json
import uuid
from typing import Any, Optional

import requests

from ripples.dev import DevServer

KEY = "priv_dev_tests"
BATCH_PATH = "/v1/ingest/batch"


def event(kind: str = "track", **fields: Any) -> dict[str, Any]:
    """A valid wire event of ``kind``; ``fields`` override or add keys (None removes one)."""
    data: dict[str, Any] = {
        "$type": kind,
        "$user_id": "user_1",
        "$event_id": str(uuid.uuid4()),
        "$sent_at": "2026-11-26T10:00:00Z",
        "$sdk_name": "python",
        "$sdk_version": "1.0.0",
        "$platform": "server",
    }
    if kind == "track":
        data["$name"] = "created a budget"
    if kind == "revenue":
        data["$amount"] = 29.99
    for key, value in fields.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def system(**fields: Any) -> dict[str, Any]:
    """Spell ``$``-keys as keywords: ``system(visitor_id=...)`` -> ``{"$visitor_id": ...}``."""
    return {f"${key}": value for key, value in fields.items()}


def post(
    server: DevServer,
    events: Optional[list[dict[str, Any]]] = None,
    *,
    body: Optional[bytes] = None,
    key: Optional[str] = KEY,
    headers: Optional[dict[str, str]] = None,
    session: Optional[requests.Session] = None,
    timeout: float = 10,
) -> requests.Response:
    """POST a batch (or a raw body) to ``server``'s ingest endpoint."""
    sent = {"Content-Type": "application/json"}
    if key is not None:
        sent["Authorization"] = f"Bearer {key}"
    sent.update(headers or {})
    if body is None:
        body = json.dumps({"events": events or []}).encode()
    poster = session or requests
    return poster.post(server.url + BATCH_PATH, data=body, headers=sent, timeout=timeout)
