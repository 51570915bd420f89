"""The middleware under real servers: gunicorn (gthread, WSGI) and uvicorn (ASGI, async views).

The project sets ``FLUSH_INTERVAL`` to 60 s and no view calls ``flush()``, so
events that reach the collector within seconds were sent because the
middleware triggered the flush after the response.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Optional

import pytest
import requests

from ripples.dev import DevServer

from .helpers import new_visitor, server_env, wait_for_users
from .servers import serve

pytestmark = pytest.mark.servers  # real server processes: left out of test.sh --quick

JUNK_COOKIES = ["not-a-uuid", "'; DROP TABLE visitors; --", "1" * 36, "\u00e9" * 10]


@dataclass
class App:
    kind: str
    url: str

    @property
    def track_paths(self) -> list[str]:
        """Views that track two events: sync everywhere, plus the async view under ASGI."""
        return ["/track/", "/atrack/"] if self.kind == "asgi" else ["/track/"]

    @property
    def stream_paths(self) -> list[str]:
        return ["/stream/", "/astream/"] if self.kind == "asgi" else ["/stream/"]


@pytest.fixture(scope="module", params=["wsgi", "asgi"])
def app(request: pytest.FixtureRequest, collector: DevServer) -> Iterator[App]:
    with serve(request.param, server_env(collector)) as url:
        yield App(request.param, url)


def get(session: requests.Session, url: str, visitor: Optional[str]) -> requests.Response:
    headers = {"Cookie": f"_rpl_vid={visitor}"} if visitor is not None else {}
    response = session.get(url, headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    return response


def test_events_arrive_without_any_flush_in_the_view(app: App, collector: DevServer) -> None:
    visitor = new_visitor()
    prefix = f"{app.kind}-noflush-"
    with requests.Session() as session:
        for path in app.track_paths:
            get(session, f"{app.url}{path}?u={prefix}{path.strip('/')}", visitor)
    events = wait_for_users(collector, prefix, 2 * len(app.track_paths), timeout=10)
    assert {e["$visitor_id"] for e in events} == {visitor}


def test_concurrent_requests_each_carry_only_their_own_visitor(
    app: App, collector: DevServer
) -> None:
    """Cookies, no cookie, junk cookies and a leaking ``set_visitor_id``, interleaved."""
    prefix = f"{app.kind}-mix-"
    expected: dict[str, Optional[str]] = {}
    plans: list[list[tuple[str, Optional[str]]]] = []
    for worker in range(8):
        plan = []
        for i in range(12):
            user = f"{prefix}{worker}-{i}"
            mode = (worker + i) % 4
            if mode == 3:  # the 0.1.x unscoped binding must not outlive its request
                legacy, visitor = new_visitor(), new_visitor()
                plan.append((f"/legacy/?u={user}&v={legacy}&pre=1", visitor))
                expected[f"{user}-p"] = visitor
                expected[f"{user}-a"] = legacy
                continue
            visitor = {0: new_visitor(), 1: None, 2: JUNK_COOKIES[i % len(JUNK_COOKIES)]}[mode]
            path = app.track_paths[i % len(app.track_paths)]
            plan.append((f"{path}?u={user}&pause=0.005", visitor))
            for suffix in ("a", "b"):
                expected[f"{user}-{suffix}"] = visitor if mode == 0 else None
        plans.append(plan)
    start = threading.Barrier(len(plans))

    def run(plan: list[tuple[str, Optional[str]]]) -> None:
        with requests.Session() as session:  # keep-alive: the same server threads again
            start.wait()
            for path, visitor in plan:
                get(session, app.url + path, visitor)

    with ThreadPoolExecutor(len(plans)) as pool:
        list(pool.map(run, plans))

    events = wait_for_users(collector, prefix, len(expected))
    assert sorted(e["$user_id"] for e in events) == sorted(expected)  # each exactly once
    wrong = [
        (e["$user_id"], e.get("$visitor_id"), expected[e["$user_id"]])
        for e in events
        if e.get("$visitor_id") != expected[e["$user_id"]]
    ]
    assert not wrong, f"events with another request's visitor: {wrong[:5]}"


def test_streamed_body_keeps_its_visitor_and_is_flushed_after_the_last_chunk(
    app: App, collector: DevServer
) -> None:
    prefix = f"{app.kind}-stream-"
    jobs = [
        (path, n, new_visitor() if n % 2 == 0 else None)
        for path in app.stream_paths
        for n in range(4)
    ]

    def run(job: tuple[str, int, Optional[str]]) -> None:
        path, n, visitor = job
        with requests.Session() as session:
            url = f"{app.url}{path}?u={prefix}{path.strip('/')}{n}&pause=0.01"
            response = get(session, url, visitor)
        assert response.text == "chunk 0\nchunk 1\nchunk 2\n"

    with ThreadPoolExecutor(len(jobs)) as pool:
        list(pool.map(run, jobs))

    events = wait_for_users(collector, prefix, 3 * len(jobs), timeout=10)
    assert len(events) == 3 * len(jobs)
    for path, n, visitor in jobs:
        mine = [e for e in events if e["$user_id"].startswith(f"{prefix}{path.strip('/')}{n}-")]
        assert [e.get("$visitor_id") for e in mine] == [visitor] * 3, mine


def test_documented_example_still_works_with_the_middleware(app: App, collector: DevServer) -> None:
    visitor = new_visitor()
    user = f"{app.kind}-documented"
    with requests.Session() as session:
        assert get(session, f"{app.url}/register/?u={user}", visitor).json() == {"id": user}
        get(session, f"{app.url}/register/?u={user}-junk", "junk")
    (signup,) = collector.wait_for(1, type="signup", user_id=user)
    assert signup["$visitor_id"] == visitor
    assert signup["email"] == "jane@example.com"
    (junk,) = collector.wait_for(1, type="signup", user_id=f"{user}-junk")
    assert "$visitor_id" not in junk


def test_documented_example_works_without_the_middleware(collector: DevServer) -> None:
    visitor = new_visitor()
    env = server_env(collector, RIPPLES_TEST_MIDDLEWARE="0")
    with serve("wsgi", env) as url, requests.Session() as session:
        assert get(session, f"{url}/register/?u=bare-documented", visitor).ok
        # Without the middleware, the cookie alone is not attached (the event goes out at exit).
        get(session, f"{url}/track/?u=bare-track&second=0", visitor)
    (signup,) = collector.wait_for(1, type="signup", user_id="bare-documented")
    assert signup["$visitor_id"] == visitor
    (tracked,) = collector.wait_for(1, user_id="bare-track-a")
    assert "$visitor_id" not in tracked


def test_responses_stay_fast_while_the_api_hangs(app: App, collector: DevServer) -> None:
    """Last in the module: the hung collector's backlog must not slow any response.

    The project's client timeout is 5 s: a response that waited on the API would take that long.
    """
    prefix = f"{app.kind}-hang-"
    paths = app.track_paths + app.stream_paths
    collector.hang = True
    try:

        def run(worker: int) -> list[float]:
            durations = []
            with requests.Session() as session:
                for i in range(6):
                    path = paths[i % len(paths)]
                    began = time.monotonic()
                    get(session, f"{app.url}{path}?u={prefix}{worker}-{i}", new_visitor())
                    durations.append(time.monotonic() - began)
            return durations

        with ThreadPoolExecutor(4) as pool:
            durations = sorted(d for batch in pool.map(run, range(4)) for d in batch)
    finally:
        collector.hang = False
    assert durations[-1] < 2.0, durations
    assert durations[len(durations) // 2] < 0.5, durations
    # Nothing was lost: the buffered events go out once the API answers again.
    expected = sum(2 if "track" in paths[i % len(paths)] else 3 for i in range(6)) * 4
    wait_for_users(collector, prefix, expected, timeout=30)
