"""``ripples._transport``: one POST of a batch to a real collector, and what each outcome means."""

from __future__ import annotations

import math
import time
from typing import Any

import pytest

from ripples import RipplesAPIError, RipplesError, __version__
from ripples._delivery import encode_batch
from ripples._transport import (
    BATCH_PATH,
    HttpTransport,
    PermanentError,
    TransientError,
    call_custom_post,
    is_retryable_status,
)
from ripples._wire import complete_event
from ripples.dev import DevServer
from tests.conftest import TEST_KEY

TIMEOUT = (2.0, 5.0)


def send(transport: Any, payload: dict[str, Any], timeout: tuple[float, float]) -> None:
    """Post ``payload`` as the sender does: encoded once, the events alongside."""
    post = transport.send if isinstance(transport, HttpTransport) else transport
    post(encode_batch(payload["events"]), payload["events"], timeout)


def batch(*users: str) -> dict[str, Any]:
    """A batch of signups with every field the client adds (as the sender posts it)."""
    now = time.time()
    return {
        "events": [
            complete_event({"$type": "signup", "$user_id": u, "$sent_at": now}) for u in users
        ]
    }


@pytest.fixture
def transport(server: DevServer) -> Any:
    http = HttpTransport(server.url, TEST_KEY)
    yield http
    http.close()


def test_a_batch_is_stored_with_the_documented_headers(
    server: DevServer, transport: HttpTransport
) -> None:
    send(transport, batch("u1", "u2"), TIMEOUT)
    assert sorted(e["$user_id"] for e in server.events()) == ["u1", "u2"]
    headers = {k.lower(): v for k, v in server.last_request_headers.items()}
    assert headers["authorization"] == f"Bearer {TEST_KEY}"
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"] == f"ripples-python/{__version__}"


def test_a_refused_key_is_a_final_error_without_the_key() -> None:
    wrong = "priv_wrong_transport_key"
    with DevServer(key=TEST_KEY) as server:
        http = HttpTransport(server.url, wrong)
        with pytest.raises(RipplesAPIError) as raised:
            send(http, batch("u1"), TIMEOUT)
        http.close()
    assert raised.value.status_code == 401
    assert not isinstance(raised.value, TransientError)
    assert wrong not in str(raised.value)


@pytest.mark.parametrize(("status", "retry_after"), [(503, 2.5), (429, 0.5), (500, None)])
def test_server_errors_and_throttling_are_transient_with_retry_after(
    server: DevServer, transport: HttpTransport, status: int, retry_after: float | None
) -> None:
    server.fail_rate = 1
    server.fail_status = status
    server.retry_after = retry_after
    with pytest.raises(TransientError) as raised:
        send(transport, batch("u1"), TIMEOUT)
    assert raised.value.status_code == status
    expected = retry_after if status in (429, 503) else None
    assert raised.value.retry_after == expected
    assert server.events() == []


def test_a_client_error_is_final(server: DevServer, transport: HttpTransport) -> None:
    server.fail_rate = 1
    server.fail_status = 400
    with pytest.raises(RipplesAPIError) as raised:
        send(transport, batch("u1"), TIMEOUT)
    assert raised.value.status_code == 400
    assert "simulated failure" in str(raised.value)  # the collector's own message


def test_a_contract_violation_is_refused_with_the_collectors_reason(
    server: DevServer, transport: HttpTransport
) -> None:
    with pytest.raises(RipplesAPIError) as raised:
        send(transport, {"events": [{"$type": "signup"}]}, TIMEOUT)
    assert raised.value.status_code == 400
    assert str(raised.value) != "HTTP 400"


def test_no_collector_and_a_hung_one_are_transient(server: DevServer) -> None:
    http = HttpTransport(server.url, TEST_KEY)
    server.hang = True
    with pytest.raises(TransientError) as hung:
        send(http, batch("u1"), (2.0, 0.3))
    server.hang = False
    server.stop()
    with pytest.raises(TransientError) as refused:
        send(http, batch("u1"), (0.5, 0.5))
    http.close()
    for raised in (hung, refused):
        assert raised.value.status_code is None
        assert TEST_KEY not in str(raised.value)


def test_an_unencodable_batch_fails_before_any_request(
    server: DevServer, transport: HttpTransport
) -> None:
    payload = batch("u1")
    payload["events"][0]["score"] = math.nan
    with pytest.raises(ValueError):
        send(transport, payload, TIMEOUT)
    assert server.stats["requests"] == 0


def test_closing_drops_the_session_and_a_later_send_opens_another(
    server: DevServer, transport: HttpTransport
) -> None:
    first = transport.session()
    send(transport, batch("u1"), TIMEOUT)
    transport.close()
    send(transport, batch("u2"), TIMEOUT)
    assert transport.session() is not first
    assert len(server.events()) == 2
    assert TEST_KEY not in repr(transport)


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(400, False), (401, False), (404, False), (408, True), (413, False), (422, False),
     (429, True), (500, True), (502, True), (503, True)],
)  # fmt: skip
def test_which_statuses_are_retried(status: int, retryable: bool) -> None:
    assert is_retryable_status(status) is retryable


def test_a_custom_post_override_is_adapted_to_the_same_outcomes() -> None:
    calls: list[tuple[str, dict[str, Any]]] = []
    outcomes: list[BaseException | None] = [
        None,
        RipplesError("bad batch", 422),
        RipplesError("slow down", 429),
        RipplesError("no status"),
        ConnectionError("down"),
    ]

    def post(path: str, data: dict[str, Any]) -> None:
        calls.append((path, data))
        outcome = outcomes.pop(0)
        if outcome is not None:
            raise outcome

    adapted = call_custom_post(post)
    send(adapted, batch("u1"), TIMEOUT)
    with pytest.raises(RipplesAPIError) as refused:
        send(adapted, batch("u2"), TIMEOUT)
    assert refused.value.status_code == 422
    for expected_status in (429, None, None):
        with pytest.raises(TransientError) as transient:
            send(adapted, batch("u3"), TIMEOUT)
        assert transient.value.status_code == expected_status
    assert [path for path, _ in calls] == [BATCH_PATH] * 5


def test_a_bug_in_a_custom_post_is_a_permanent_error_not_a_retry() -> None:
    def post(path: str, data: dict[str, Any]) -> None:
        raise KeyError("a bug in the override")

    with pytest.raises(PermanentError, match="KeyError"):
        send(call_custom_post(post), batch("u1"), TIMEOUT)
