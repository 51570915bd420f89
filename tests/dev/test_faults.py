"""The fault switches: failures, Retry-After, latency and hanging, also changed while running."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from ripples.dev import DevServer

from .wire import event, post


def test_fail_rate_1_answers_every_batch_with_the_fail_status_and_stores_nothing() -> None:
    with DevServer(fail_rate=1.0, fail_status=500) as server:
        response = post(server, [event()])

        assert response.status_code == 500
        assert "simulated failure" in response.json()["error"]
        assert "Retry-After" not in response.headers
        assert server.events() == []
        assert server.stats["simulated_failures"] == 1


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_sent_with_429_and_503(status: int) -> None:
    with DevServer(fail_rate=1, fail_status=status, retry_after=2) as server:
        response = post(server, [event()])

        assert response.status_code == status
        assert response.headers["Retry-After"] == "2"


def test_retry_after_is_not_sent_with_other_statuses() -> None:
    with DevServer(fail_rate=1, fail_status=502, retry_after=2) as server:
        assert "Retry-After" not in post(server, [event()]).headers


def test_a_partial_fail_rate_fails_some_batches_and_a_retry_stores_each_event_once(
    server: DevServer,
) -> None:
    server.fail_rate = 0.5
    events = [event("track", n=n) for n in range(40)]
    statuses = []
    with requests.Session() as session:
        for item in events:
            for _attempt in range(100):  # a client retrying the same batch until it is accepted
                status = post(server, [item], session=session).status_code
                statuses.append(status)
                if status == 200:
                    break

    assert server.events() == events
    assert 503 in statuses
    assert statuses.count(200) == 40
    assert server.stats["simulated_failures"] == statuses.count(503)


def test_switches_changed_while_running_apply_to_the_next_request(server: DevServer) -> None:
    with requests.Session() as session:
        assert post(server, [event()], session=session).status_code == 200
        server.fail_rate = 1
        server.fail_status = 429
        server.retry_after = 0.5
        failed = post(server, [event()], session=session)
        server.fail_rate = 0
        healed = post(server, [event()], session=session)

    assert failed.status_code == 429
    assert failed.headers["Retry-After"] == "0.5"
    assert healed.status_code == 200
    assert len(server.events()) == 2


def test_latency_delays_each_answer(server: DevServer) -> None:
    server.latency = 0.3
    began = time.monotonic()
    response = post(server, [event()])
    elapsed = time.monotonic() - began

    assert response.status_code == 200
    assert elapsed >= 0.3
    server.latency = 0
    began = time.monotonic()
    post(server, [event()])
    assert time.monotonic() - began < 5  # generous: only proves the delay is gone


def test_latency_longer_than_the_client_timeout_times_out(server: DevServer) -> None:
    server.latency = 5
    with pytest.raises(requests.ReadTimeout):
        post(server, [event()], timeout=0.3)


def test_hang_accepts_the_connection_and_never_answers(server: DevServer) -> None:
    server.hang = True

    with pytest.raises(requests.ReadTimeout):
        post(server, [event()], timeout=0.3)

    assert server.events() == []
    server.hang = False
    assert post(server, [event()]).status_code == 200


def test_a_hung_request_is_answered_once_hang_is_switched_off() -> None:
    with DevServer(hang=True) as server:
        outcome: list[requests.Response] = []
        thread = threading.Thread(target=lambda: outcome.append(post(server, [event()])))
        thread.start()
        deadline = time.monotonic() + 10
        while server.stats["requests"] < 1:  # poll until the request is held
            assert time.monotonic() < deadline, "the request never arrived"
            time.sleep(0.01)
        assert thread.is_alive()

        server.hang = False
        thread.join(10)

        assert [r.status_code for r in outcome] == [200]
        assert len(server.events()) == 1


def test_stop_drops_hung_connections_at_once() -> None:
    with DevServer(hang=True) as server:
        errors: list[BaseException] = []

        def call() -> None:
            try:
                post(server, [event()], timeout=30)
            except requests.RequestException as exc:
                errors.append(exc)

        thread = threading.Thread(target=call)
        thread.start()
        deadline = time.monotonic() + 10
        while server.stats["requests"] < 1:
            assert time.monotonic() < deadline, "the request never arrived"
            time.sleep(0.01)

        began = time.monotonic()
        server.stop()
        thread.join(10)

        assert time.monotonic() - began < 5
        assert len(errors) == 1 and isinstance(errors[0], requests.ConnectionError)


def test_the_inspector_keeps_answering_while_ingest_is_down() -> None:
    with DevServer(hang=True, fail_rate=1) as server:
        assert requests.get(server.url + "/api/summary", timeout=5).status_code == 200


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("fail_rate", 1.5),
        ("fail_rate", -0.1),
        ("fail_status", 200),
        ("fail_status", "503"),
        ("retry_after", -1),
        ("latency", -0.5),
        ("latency", True),
    ],
)
def test_impossible_switch_values_are_refused(server: DevServer, name: str, value: object) -> None:
    with pytest.raises(ValueError, match=name):
        setattr(server, name, value)
