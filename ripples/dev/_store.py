"""Accepted events in SQLite, de-duplicated on ``$event_id`` as the hosted API does.

One connection guarded by one lock: SQLite serialises writers anyway, and a
single connection is what makes ``:memory:`` work across the server's
threads. A batch is one transaction with ``executemany`` and
``INSERT OR IGNORE``, so a retried batch stores nothing twice and the
request path stays short. The columns beside the JSON text are what the
inspector filters on and what the summary panels aggregate in SQL.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import threading
import time
from typing import Any, Optional

_SCHEMA_VERSION = 3
# The JSON text is stored once per batch, as the request carried it (no
# encoding on the ingest path); each event row points at its batch and its
# position in the batch's "events". Reads are rare and small.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS batches (
    id INTEGER PRIMARY KEY,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    user_id TEXT NOT NULL,
    name TEXT,
    area TEXT,
    activated INTEGER NOT NULL,
    visitor_id TEXT,
    amount REAL,
    currency TEXT,
    subscription_id TEXT,
    sent_at TEXT NOT NULL,
    received_at REAL NOT NULL,
    batch INTEGER NOT NULL,
    position INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_type ON events (type, seq);
"""
# No index on user_id: with many users it costs a scattered page write per
# event on every batch (ingest fell ~35% by 150k events), while a filtered
# read scans newest-first and stops at its limit.
_INSERT = (
    "INSERT OR IGNORE INTO events (event_id, type, user_id, name, area, activated, visitor_id,"
    " amount, currency, subscription_id, sent_at, received_at, batch, position)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
#: Filters accepted by :meth:`EventStore.events` and friends, and their columns.
FILTERS = {
    "type": "type",
    "user_id": "user_id",
    "name": "name",
    "area": "area",
    "visitor_id": "visitor_id",
    "event_id": "event_id",
}
DEFAULT_CURRENCY = "default"
_PARAMS_PER_QUERY = 500

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


def _row(event: dict[str, Any], now: float, batch: int, position: int) -> tuple[Any, ...]:
    get = event.get
    kind = event["$type"]
    amount = currency = subscription = None
    if kind == "revenue":
        amount = float(event["$amount"])
        currency = get("currency")
        currency = currency.upper() if type(currency) is str and currency else DEFAULT_CURRENCY
        if amount == 0 and "subscription_id" in event:
            subscription = str(event["subscription_id"])
    return (
        event["$event_id"],
        kind,
        event["$user_id"],
        get("$name"),
        get("$area"),
        get("$activated") is True,
        get("$visitor_id"),
        amount,
        currency,
        subscription,
        event["$sent_at"],
        now,
        batch,
        position,
    )


class EventStore:
    """Thread-safe event storage; ``path`` is a file name or ``":memory:"``."""

    def __init__(self, path: str = ":memory:") -> None:
        if path != ":memory:":
            folder = os.path.dirname(os.path.abspath(path))
            os.makedirs(folder, exist_ok=True)
        self.path = path
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        self._changed = threading.Condition(threading.Lock())
        self._version = 0
        self._clears = 0
        self._token = secrets.token_hex(4)
        conn = self._conn
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version not in (0, _SCHEMA_VERSION):
            conn.close()
            raise RuntimeError(
                f"{path} was written by another version of ripples dev; delete it or pick "
                "another --db"
            )
        if path != ":memory:":
            # WAL keeps writes sequential; no fsync at all, because this is a
            # development scratchpad: it survives a crash of the collector, and
            # a power cut may cost it recent events, never the app's data.
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=OFF")
        conn.executescript(_SCHEMA)
        conn.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")

    def __repr__(self) -> str:
        return f"<EventStore {self.path!r}>"

    @property
    def epoch(self) -> str:
        """Changes when the store is cleared or re-opened, so a page knows to reload."""
        return f"{self._token}-{self._clears}"

    def insert(self, events: list[dict[str, Any]], body: Optional[str] = None) -> tuple[int, int]:
        """Store a validated batch in one transaction; return (accepted, duplicates).

        ``body`` is the request's JSON text, whose ``"events"`` are ``events``:
        stored as it came, it saves encoding the batch again.
        """
        if not events:
            return 0, 0
        now = time.time()
        data = body if body is not None else _dumps({"events": events})
        conn = self._conn
        with self._lock:
            before = conn.total_changes
            conn.execute("BEGIN")
            try:
                batch = conn.execute("INSERT INTO batches (data) VALUES (?)", (data,)).lastrowid
                assert batch is not None
                conn.executemany(
                    _INSERT, [_row(event, now, batch, i) for i, event in enumerate(events)]
                )
                accepted = conn.total_changes - before - 1
                if not accepted:  # a retried batch: keep nothing of it
                    conn.execute("DELETE FROM batches WHERE id = ?", (batch,))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        if accepted:
            with self._changed:
                self._version += 1
                self._changed.notify_all()
        return accepted, len(events) - accepted

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run a read-only query under the store's lock (used by the summary)."""
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def rows(
        self,
        filters: dict[str, Any],
        *,
        limit: Optional[int] = None,
        after: int = 0,
        newest_first: bool = False,
    ) -> list[tuple[int, float, dict[str, Any]]]:
        """(seq, received_at, event) for matching events."""
        where, params = _where(filters, after)
        sql = f"SELECT seq, received_at, batch, position FROM events{where} ORDER BY seq"
        sql += " DESC" if newest_first else ""
        if limit is not None:
            sql += " LIMIT ?"
            params += (limit,)
        with self._lock:
            found = self._conn.execute(sql, params).fetchall()
            wanted = sorted({row[2] for row in found})
            batches: dict[int, list[dict[str, Any]]] = {}
            for start in range(0, len(wanted), _PARAMS_PER_QUERY):
                chunk = wanted[start : start + _PARAMS_PER_QUERY]
                marks = ",".join("?" * len(chunk))
                for batch, data in self._conn.execute(
                    f"SELECT id, data FROM batches WHERE id IN ({marks})", chunk
                ):
                    batches[batch] = json.loads(data)["events"]
        return [(seq, received, batches[batch][pos]) for seq, received, batch, pos in found]

    def events(self, **filters: Any) -> list[dict[str, Any]]:
        """Stored wire dicts, oldest first."""
        return [event for _, _, event in self.rows(filters)]

    def count(self, **filters: Any) -> int:
        where, params = _where(filters, 0)
        return int(self.query(f"SELECT COUNT(*) FROM events{where}", params)[0][0])

    def latest(self) -> int:
        """The highest sequence number ever stored (0 when empty)."""
        found = self.query("SELECT MAX(seq) FROM events")[0][0]
        return int(found) if found is not None else 0

    def wait_for(self, count: int, timeout: float, **filters: Any) -> list[dict[str, Any]]:
        """Block until at least ``count`` matching events are stored; else AssertionError."""
        deadline = time.monotonic() + timeout
        while True:
            with self._changed:
                version = self._version
            found = self.count(**filters)
            if found >= count:
                return self.events(**filters)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                described = ", ".join(f"{k}={v!r}" for k, v in filters.items()) or "any"
                raise AssertionError(
                    f"expected at least {count} stored event(s) matching {described} "
                    f"within {timeout:g}s, found {found}"
                )
            with self._changed:
                if self._version == version:
                    self._changed.wait(remaining)

    def clear(self) -> None:
        with self._lock:
            self._conn.execute("BEGIN")
            self._conn.execute("DELETE FROM events")
            self._conn.execute("DELETE FROM batches")
            self._conn.execute("COMMIT")
            self._clears += 1
        with self._changed:
            self._version += 1
            self._changed.notify_all()

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _where(filters: dict[str, Any], after: int) -> tuple[str, tuple[Any, ...]]:
    clauses: list[str] = []
    params: list[Any] = []
    for key, value in filters.items():
        if value is None:
            continue
        column = FILTERS.get(key)
        if column is None:
            raise TypeError(f"unknown event filter {key!r}; use one of {', '.join(FILTERS)}")
        clauses.append(f"{column} = ?")
        params.append(value)
    if after:
        clauses.append("seq > ?")
        params.append(after)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), tuple(params)
