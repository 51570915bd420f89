"""A hanging Ripples API must not change response times; events wait and go out later."""

from __future__ import annotations

import time
import uuid

import pytest
from flaskapp_servers import COMMANDS, AppServer, app_env, events_for, request, wait_for_users

from ripples.dev import DevServer

pytestmark = pytest.mark.servers  # real server processes: left out of test.sh --quick

#: A request that waited for the API would take at least this long.
API_TIMEOUT = 2.0


@pytest.mark.parametrize("kind", sorted(COMMANDS))
def test_responses_stay_fast_while_the_api_hangs_and_events_are_sent_later(kind: str) -> None:
    with DevServer(host="127.0.0.1", port=0) as collector:
        env = app_env(
            collector, TESTAPP_RIPPLES_TIMEOUT=str(API_TIMEOUT), TESTAPP_RIPPLES_MAX_RETRIES="0"
        )
        server = AppServer(kind, env)
        try:
            prefix = f"{kind}-outage-"
            server.get_json(f"/track?user={prefix}warmup")
            assert len(wait_for_users(collector, prefix, 1)) == 1
            attempts = collector.stats["requests"]
            collector.hang = True
            visitor = str(uuid.uuid4())
            connection = server.connect()
            durations = []
            for index in range(20):
                started = time.monotonic()
                path = f"/track?user={prefix}{index}"
                status, _ = request(connection, "GET", path, f"_rpl_vid={visitor}")
                durations.append(time.monotonic() - started)
                assert status == 200
            connection.close()
            # Generous: these take milliseconds; waiting for the API would take seconds.
            assert max(durations) < API_TIMEOUT / 2, durations
            assert sorted(durations)[len(durations) // 2] < 0.25, durations

            # Keep hanging until the sender gave up on an attempt (read timeout) and
            # tried again: the events must survive the failure, not just a slow answer.
            deadline = time.monotonic() + 20
            while collector.stats["requests"] < attempts + 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert collector.stats["requests"] >= attempts + 2
            assert events_for(collector, prefix + "0") == []
            collector.hang = False
            events = wait_for_users(collector, prefix, 21, timeout=30)
            assert len({event["$user_id"] for event in events}) == 21
            assert all(e["$visitor_id"] == visitor for e in events if "warmup" not in e["$user_id"])
        finally:
            server.stop()
