"""The extension under real servers: gunicorn (gthread) and ``flask run --with-threads``.

The app runs with ``flush_interval=60``, so an event that reaches the
collector within a test was sent because the integration woke the sender
after the response, not by the periodic flush.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from flaskapp_servers import AppServer, app_env, events_for, request, wait_for_users

from ripples.dev import DevServer

pytestmark = pytest.mark.servers  # real server processes: left out of test.sh --quick


def _visitor_then_none(served: list[tuple[int, str | None]]) -> bool:
    """Whether one thread served a request with a visitor and later one without."""
    seen_visitor = False
    for _, visitor in sorted(served):
        if visitor is not None:
            seen_visitor = True
        elif seen_visitor:
            return True
    return False


def test_each_event_carries_exactly_its_own_requests_visitor(
    app_server: AppServer, collector: DevServer
) -> None:
    prefix = f"{app_server.kind}-mix-"

    def one_client(index: int) -> list[tuple[str, str | None, dict[str, int]]]:
        connection = app_server.connect()  # keep-alive: the same server thread may serve all
        done = []
        for i in range(12):
            user, visitor, cookie = f"{prefix}{index}-{i}", None, None
            if i % 3 == 0:
                visitor = str(uuid.uuid4())
                sent = visitor.upper() if index % 2 else visitor
                cookie = f"theme=dark; _rpl_vid={sent}"
            elif i % 3 == 2:
                cookie = "_rpl_vid=not-a-uuid; session=abc"
            status, body = request(connection, "GET", f"/track?user={user}", cookie)
            assert status == 200, body
            done.append((user, visitor, json.loads(body)))
        connection.close()
        return done

    with ThreadPoolExecutor(6) as pool:
        served = [item for items in pool.map(one_client, range(6)) for item in items]

    events = wait_for_users(collector, prefix, len(served))
    assert len(events) == len(served)
    by_user = {event["$user_id"]: event for event in events}
    for user, visitor, _ in served:
        assert by_user[user].get("$visitor_id") == visitor, user
    by_thread: dict[int, list[tuple[int, str | None]]] = defaultdict(list)
    for _, visitor, where in served:
        by_thread[where["thread"]].append((where["order"], visitor))
    assert any(_visitor_then_none(requests) for requests in by_thread.values())


@pytest.fixture
def quiet_server(app_server: AppServer, collector: DevServer) -> Iterator[AppServer]:
    """A server of the same kind whose sender has never run, so no drain is in progress."""
    server = AppServer(app_server.kind, app_env(collector))
    yield server
    server.stop()


@pytest.mark.parametrize("path", ["/stream", "/stream-plain"])
def test_streamed_body_keeps_its_visitor_and_is_flushed_after_the_last_chunk(
    quiet_server: AppServer, collector: DevServer, path: str
) -> None:
    user = f"{quiet_server.kind}-{path[1:]}-user"
    visitor = str(uuid.uuid4())
    connection = quiet_server.connect()
    connection.request(
        "GET", f"{path}?user={user}&gate={user}", headers={"Cookie": f"_rpl_vid={visitor}"}
    )
    response = connection.getresponse()
    assert response.readline() == b"first\n"
    # Mid-stream: the first event is queued, nothing has woken the sender yet.
    assert events_for(collector, user) == []
    assert quiet_server.get(f"/release?gate={user}")[0] == 200  # tracks nothing, flushes nothing
    assert response.read() == b"last\n"
    connection.close()

    events = wait_for_users(collector, user, 2)
    assert [event["$name"] for event in events] == ["stream started", "stream finished"]
    assert all(event["$visitor_id"] == visitor for event in events)


def test_events_of_any_core_client_in_a_request_get_the_visitor(
    app_server: AppServer, collector: DevServer
) -> None:
    user = f"{app_server.kind}-core-client"
    visitor = str(uuid.uuid4())
    app_server.get_json(f"/core-client?user={user}", cookie=f"_rpl_vid={visitor}")
    (event,) = wait_for_users(collector, user, 1)
    assert event["$visitor_id"] == visitor


def test_a_file_response_is_sent_whole_and_its_events_flushed(
    app_server: AppServer, collector: DevServer
) -> None:
    user = f"{app_server.kind}-file"
    visitor = str(uuid.uuid4())
    status, body = app_server.get(f"/file?user={user}", cookie=f"_rpl_vid={visitor}")
    assert status == 200
    assert body == (Path(__file__).parent / "flaskapp.py").read_bytes()
    (event,) = wait_for_users(collector, user, 1)
    assert event["$visitor_id"] == visitor


JUNK_COOKIES = [
    "_rpl_vid=not-a-uuid",
    "_rpl_vid=",
    "_rpl_vid",
    ";;;=;_rpl_vid;==;",
    "_rpl_vid=<script>alert(1)</script>",
    '_rpl_vid="' + "%" * 3000 + '"',
    "_rpl_vid=12345678-1234-1234-1234-1234567890ab0",
    "_rpl_vid=\xff\xfe",
    "_rpl_vid=../../etc/passwd; _rpl_vid=also-bad",
    "x_rpl_vid=0b8e5b9e-2f0a-4a53-8d3e-6f1f7b1d2c3a",
    "_rpl_vid_old=0b8e5b9e-2f0a-4a53-8d3e-6f1f7b1d2c3a",
]


def test_junk_cookies_are_ignored_and_never_fail_the_request(
    app_server: AppServer, collector: DevServer
) -> None:
    prefix = f"{app_server.kind}-junk-"
    connection = app_server.connect()
    for index, cookie in enumerate(JUNK_COOKIES):
        status, body = request(connection, "GET", f"/track?user={prefix}{index}", cookie)
        assert status == 200, (cookie, body)
    visitors = [str(uuid.uuid4()) for _ in range(3)]
    valid = [f'_rpl_vid="{visitors[0]}"', f"a=1;_rpl_vid={visitors[1].upper()}",
             f"_rpl_vid={visitors[2]}; _rpl_vid=0b8e5b9e-2f0a-4a53-8d3e-6f1f7b1d2c3a"]
    for index, cookie in enumerate(valid):
        status, _ = request(connection, "GET", f"/track?user={prefix}valid{index}", cookie)
        assert status == 200
    connection.close()

    events = wait_for_users(collector, prefix, len(JUNK_COOKIES) + len(valid))
    by_user = {event["$user_id"]: event for event in events}
    for index in range(len(JUNK_COOKIES)):
        assert "$visitor_id" not in by_user[f"{prefix}{index}"], JUNK_COOKIES[index]
    for index, visitor in enumerate(visitors):  # quoted, upper-case, the first of two
        assert by_user[f"{prefix}valid{index}"]["$visitor_id"] == visitor


@pytest.fixture(scope="module")
def plain_server(app_server: AppServer, collector: DevServer) -> Iterator[AppServer]:
    """The same app without the extension, under the same kind of server."""
    app = "flaskapp:create_app(extension=False)"
    server = AppServer(app_server.kind, app_env(collector), app=app)
    yield server
    server.stop()


@pytest.mark.parametrize("with_extension", [True, False])
def test_the_documented_example_works_with_and_without_the_extension(
    app_server: AppServer,
    plain_server: AppServer,
    collector: DevServer,
    with_extension: bool,
) -> None:
    server = app_server if with_extension else plain_server
    prefix = f"{app_server.kind}-docs-{with_extension}-"
    visitor = str(uuid.uuid4())
    connection = server.connect()
    cases: list[tuple[str | None, str | None]] = [
        (f"_rpl_vid={visitor}", visitor), (None, None), ("_rpl_vid=junk", None)
    ]
    for index, (cookie, _) in enumerate(cases):
        status, body = request(connection, "POST", "/register", cookie, f"user_id={prefix}{index}")
        assert status == 200, body
        # The view called flush(): the event is stored before the response is.
        (event,) = events_for(collector, f"{prefix}{index}")
        assert event["$type"] == "signup"
    connection.close()
    for index, (_, expected) in enumerate(cases):
        (event,) = events_for(collector, f"{prefix}{index}")
        assert event.get("$visitor_id") == expected
