"""The ingest endpoint as the hosted API behaves: auth, dedup, gzip, limits, concurrency."""

from __future__ import annotations

import gzip
import json
import socket
import threading
import uuid

import pytest
import requests

from ripples.dev import DevServer

from .wire import BATCH_PATH, KEY, event, post


def test_a_batch_is_stored_and_read_back_oldest_first(server: DevServer) -> None:
    events = [event("signup", **{"$user_id": f"user_{i}"}) for i in range(5)]

    response = post(server, events)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"accepted": 5, "duplicates": 0}
    assert server.events() == events
    assert server.events(user_id="user_3") == [events[3]]
    assert server.events(type="track") == []


def test_the_same_batch_twice_is_stored_once(server: DevServer) -> None:
    events = [event("track"), event("revenue")]

    first = post(server, events)
    second = post(server, events)

    assert first.json() == {"accepted": 2, "duplicates": 0}
    assert second.status_code == 200
    assert second.json() == {"accepted": 0, "duplicates": 2}
    assert server.events() == events
    assert server.stats == {
        "requests": 2,
        "accepted_batches": 2,
        "refused_batches": 0,
        "simulated_failures": 0,
        "events": 2,
        "duplicates": 2,
    }


def test_a_batch_partly_seen_before_stores_only_the_new_events(server: DevServer) -> None:
    old = event("track")
    post(server, [old])
    new = event("signup")

    response = post(server, [old, new, new])

    assert response.json() == {"accepted": 1, "duplicates": 2}
    assert server.events() == [old, new]


def test_a_missing_bearer_key_is_refused_even_when_any_key_is_accepted(
    server: DevServer,
) -> None:
    assert post(server, [event()], key=None).status_code == 401
    basic = post(server, [event()], key=None, headers={"Authorization": "Basic dXNlcjpwdw=="})
    assert basic.status_code == 401
    empty = post(server, [event()], key=None, headers={"Authorization": "Bearer "})
    assert empty.status_code == 401
    assert post(server, [event()], key="priv_anything").status_code == 200
    assert len(server.events()) == 1


def test_a_server_with_a_key_refuses_any_other_key_with_401() -> None:
    with DevServer(key="priv_right") as server:
        wrong = post(server, [event()], key="priv_wrong")
        right = post(server, [event()], key="priv_right")

        assert wrong.status_code == 401
        assert wrong.json() == {"error": "invalid API key"}
        assert wrong.headers["WWW-Authenticate"].startswith("Bearer")
        assert "priv_right" not in wrong.text
        assert right.status_code == 200
        assert len(server.events()) == 1
        assert "priv_right" not in repr(server)


def test_gzip_bodies_are_accepted(server: DevServer) -> None:
    events = [event("track") for _ in range(20)]
    body = gzip.compress(json.dumps({"events": events}).encode())

    response = post(server, body=body, headers={"Content-Encoding": "gzip"})

    assert response.status_code == 200
    assert server.events() == events


def test_broken_gzip_and_unknown_encodings_are_refused(server: DevServer) -> None:
    body = json.dumps({"events": [event()]}).encode()

    not_gzip = post(server, body=body, headers={"Content-Encoding": "gzip"})
    truncated = post(server, body=gzip.compress(body)[:-12], headers={"Content-Encoding": "gzip"})
    brotli = post(server, body=body, headers={"Content-Encoding": "br"})

    assert not_gzip.status_code == 400
    assert truncated.status_code == 400
    assert brotli.status_code == 415
    assert server.events() == []


def test_a_body_over_the_limit_is_refused_with_413() -> None:
    with DevServer(max_body_size=10_000) as server:
        events = [event("track", padding="x" * 200) for _ in range(60)]
        body = json.dumps({"events": events}).encode()
        assert len(body) > 10_000

        plain = post(server, body=body)
        bomb = post(
            server,
            body=gzip.compress(json.dumps({"events": [event(padding=" " * 50_000)]}).encode()),
            headers={"Content-Encoding": "gzip"},
        )
        fits = post(server, events[:5])

        assert plain.status_code == 413
        assert "larger than 10000 bytes" in plain.json()["error"]
        assert bomb.status_code == 413
        assert fits.status_code == 200
        assert len(server.events()) == 5


def test_the_default_limit_is_5_mib(server: DevServer) -> None:
    body = b'{"events": [' + b" " * (5 * 1024 * 1024) + b"]}"

    assert post(server, body=body).status_code == 413


@pytest.mark.parametrize(
    "body",
    [b"", b"{", b'{"events": [}', b"\xff\xfe{}", b'{"events": []} trailing', b"null x"],
)
def test_malformed_json_is_refused_with_400(server: DevServer, body: bytes) -> None:
    response = post(server, body=body)

    assert response.status_code == 400
    assert response.json()["error"].startswith("malformed JSON")


def test_a_chunked_body_is_accepted(server: DevServer) -> None:
    events = [event("signup")]
    payload = json.dumps({"events": events}).encode()

    def chunks():  # a generator body makes requests send Transfer-Encoding: chunked
        yield payload[:10]
        yield payload[10:]

    response = requests.post(
        server.url + BATCH_PATH,
        data=chunks(),
        headers={"Authorization": f"Bearer {KEY}"},
        timeout=10,
    )

    assert response.status_code == 200
    assert server.events() == events


def test_unknown_paths_answer_404_without_breaking_keep_alive(server: DevServer) -> None:
    with requests.Session() as session:
        missing = session.post(server.url + "/v1/ingest", data=b"{}", timeout=10)
        stored = post(server, [event()], session=session)

        assert missing.status_code == 404
        assert stored.status_code == 200


def test_one_keep_alive_connection_carries_many_batches(server: DevServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        reader = sock.makefile("rb")
        for _ in range(3):
            body = json.dumps({"events": [event()]}).encode()
            sock.sendall(
                f"POST {BATCH_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Authorization: Bearer {KEY}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            status = reader.readline()
            headers = {}
            while (line := reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode().partition(":")
                headers[name.lower()] = value.strip()
            answer = reader.read(int(headers["content-length"]))
            assert status.startswith(b"HTTP/1.1 200")
            assert json.loads(answer) == {"accepted": 1, "duplicates": 0}
            assert "connection" not in headers
    assert len(server.events()) == 3


def test_concurrent_posts_from_8_threads_store_every_event_exactly_once(
    server: DevServer,
) -> None:
    per_thread, batches = 25, 8
    start = threading.Barrier(8)
    failures: list[object] = []
    shared = [event("track", shared=True) for _ in range(10)]  # every thread also retries these

    def worker(n: int) -> None:
        with requests.Session() as session:
            start.wait()
            for b in range(batches):
                events = [event("track", **{"$user_id": f"t{n}"}, b=b) for _ in range(per_thread)]
                response = post(server, events + shared, session=session)
                if response.status_code != 200:
                    failures.append(response.text)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert failures == []
    expected = 8 * batches * per_thread + len(shared)
    assert len(server.events()) == expected
    assert len({e["$event_id"] for e in server.events()}) == expected
    stats = server.stats
    assert stats["events"] == expected
    assert stats["accepted_batches"] == 8 * batches
    assert stats["duplicates"] == 8 * batches * len(shared) - len(shared)


def test_wait_for_returns_once_enough_events_are_stored(server: DevServer) -> None:
    def later() -> None:
        post(server, [event("signup", **{"$user_id": "late"})])

    threading.Timer(0.05, later).start()

    found = server.wait_for(1, timeout=10, type="signup", user_id="late")

    assert [e["$user_id"] for e in found] == ["late"]


def test_wait_for_fails_with_what_it_found(server: DevServer) -> None:
    post(server, [event("track")])

    with pytest.raises(AssertionError, match=r"at least 2 .* type='track' .* found 1"):
        server.wait_for(2, timeout=0.2, type="track")


def test_unknown_filters_are_a_type_error(server: DevServer) -> None:
    with pytest.raises(TypeError, match="unknown event filter 'colour'"):
        server.events(colour="red")


def test_clear_forgets_events_and_stats(server: DevServer) -> None:
    post(server, [event()])

    server.clear()

    assert server.events() == []
    assert server.stats["events"] == 0
    assert post(server, [event()]).json() == {"accepted": 1, "duplicates": 0}


def test_a_file_store_keeps_events_across_servers(tmp_path) -> None:
    db = str(tmp_path / "nested" / "dev.sqlite3")
    sent = [event("signup"), event("revenue")]
    with DevServer(db=db) as first:
        post(first, sent)
    with DevServer(db=db) as second:
        assert second.events() == sent
        assert post(second, sent).json() == {"accepted": 0, "duplicates": 2}


def test_restart_keeps_the_port_and_the_events() -> None:
    with DevServer() as server:
        url = server.url
        before = event("signup")
        with requests.Session() as session:
            post(server, [before], session=session)  # leaves a keep-alive connection open

            server.stop()
            assert not server.running
            with pytest.raises(requests.ConnectionError):
                requests.get(url + "/api/summary", timeout=5)

            server.start()
            assert server.url == url
            after = event("track")
            assert post(server, [after], session=session).status_code == 200
        assert server.events() == [before, after]


def test_a_closed_server_cannot_start_again() -> None:
    server = DevServer()
    with server:
        pass
    with pytest.raises(RuntimeError, match="closed"):
        server.start()


def test_the_url_needs_a_started_server_when_the_port_is_0() -> None:
    server = DevServer()
    try:
        with pytest.raises(RuntimeError, match="start"):
            _ = server.url
        assert "port not chosen" in repr(server)
    finally:
        server.close()


def test_events_sent_through_the_sdk_are_stored(server: DevServer) -> None:
    from ripples import Ripples

    visitor = str(uuid.uuid4())
    client = Ripples(secret_key="priv_test", base_url=server.url)
    try:
        client.signup("user_42", email="jane@example.com", ripples_visitor_id=visitor)
        client.track("created a budget", "user_42", area="budgets", activated=True)
        client.revenue(-5, "user_42", currency="EUR")
        client.subscription("sub_1", "user_42", "active", 29.0, plan="Pro")
        client.identify("user_42", name="Jane")
        assert client.flush(timeout=10)
    finally:
        client.close(timeout=5)

    events = server.wait_for(5, user_id="user_42")
    assert [e["$type"] for e in events] == ["signup", "track", "revenue", "revenue", "identify"]
    assert events[0]["$visitor_id"] == visitor
    assert events[1]["$activated"] is True
    assert server.stats["refused_batches"] == 0


def test_the_last_request_headers_are_kept_for_tests(server: DevServer) -> None:
    post(server, [event()], headers={"User-Agent": "probe/1"})

    assert server.last_request_headers["User-Agent"] == "probe/1"
    assert server.last_request_headers["Authorization"] == f"Bearer {KEY}"
