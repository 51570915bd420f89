"""Every way an event breaks the contract is refused, whole batch, naming index and field."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from ripples.dev import DevServer

from .wire import event, post, system

UPPER_UUID = str(uuid.uuid4()).upper()
TYPES_MESSAGE = "must be one of identify, revenue, signup, track"
NON_EMPTY = "must be a non-empty string"
SENT_AT_FORMAT = "must be a UTC time as YYYY-MM-DDTHH:MM:SSZ"

# (kind, fields applied to the second event of the batch, "field: message")
REFUSED: list[tuple[str, dict[str, Any], str]] = [
    ("track", {"$type": None}, "$type: required"),
    ("track", {"$type": "page"}, f"$type: {TYPES_MESSAGE}"),
    ("track", {"$type": 5}, f"$type: {TYPES_MESSAGE}"),
    ("track", {"$type": ["track"]}, f"$type: {TYPES_MESSAGE}"),
    *[
        ("signup", {field: None}, f"{field}: required on signup events")
        for field in ("$user_id", "$sent_at", "$event_id", "$sdk_name", "$sdk_version", "$platform")
    ],
    ("revenue", {"$amount": None}, "$amount: required on revenue events"),
    ("track", {"$name": None}, "$name: required on track events"),
    ("identify", {"$user_id": ""}, f"$user_id: {NON_EMPTY}"),
    ("identify", {"$user_id": "   "}, f"$user_id: {NON_EMPTY}"),
    ("identify", {"$user_id": 123}, f"$user_id: {NON_EMPTY}"),
    ("identify", system(user_id=False), f"$user_id: {NON_EMPTY}"),
    ("track", {"$sdk_name": ""}, f"$sdk_name: {NON_EMPTY}"),
    ("track", {"$sdk_version": 1}, f"$sdk_version: {NON_EMPTY}"),
    ("track", {"$platform": ["server"]}, f"$platform: {NON_EMPTY}"),
    ("track", {"$event_id": "not-a-uuid"}, "$event_id: not a UUID"),
    ("track", {"$event_id": uuid.uuid4().hex}, "$event_id: not a UUID"),
    ("track", {"$event_id": 42}, "$event_id: not a UUID"),
    ("track", {"$event_id": UPPER_UUID}, "$event_id: not a lowercase UUID"),
    ("signup", {"$visitor_id": "nope"}, "$visitor_id: not a UUID"),
    ("signup", {"$visitor_id": ""}, "$visitor_id: not a UUID"),
    ("signup", {"$visitor_id": {"id": 1}}, "$visitor_id: not a UUID"),
    ("signup", {"$visitor_id": UPPER_UUID}, "$visitor_id: not a lowercase UUID"),
    ("signup", {"$visitor_id": "{" + str(uuid.uuid4()) + "}"}, "$visitor_id: not a UUID"),
    ("track", {"$sent_at": "2026-11-26T10:00:00"}, f"$sent_at: {SENT_AT_FORMAT}"),
    ("track", {"$sent_at": "2026-11-26 10:00:00Z"}, f"$sent_at: {SENT_AT_FORMAT}"),
    ("track", {"$sent_at": "2026-11-26T10:00:00.250Z"}, f"$sent_at: {SENT_AT_FORMAT}"),
    ("track", {"$sent_at": "2026-11-26T10:00:00+00:00"}, f"$sent_at: {SENT_AT_FORMAT}"),
    ("track", {"$sent_at": 1764151200}, f"$sent_at: {SENT_AT_FORMAT}"),
    ("track", {"$sent_at": "2026-13-01T00:00:00Z"}, "$sent_at: not a valid date and time"),
    ("track", {"$sent_at": "2026-02-30T00:00:00Z"}, "$sent_at: not a valid date and time"),
    ("revenue", {"$amount": "29.99"}, "$amount: must be a number"),
    ("revenue", {"$amount": True}, "$amount: must be a number"),
    ("revenue", {"$amount": [1]}, "$amount: must be a number"),
    ("revenue", {"$name": ""}, f"$name: {NON_EMPTY}"),
    ("track", {"$name": ""}, f"$name: {NON_EMPTY}"),
    ("track", {"$name": 7}, f"$name: {NON_EMPTY}"),
    ("track", {"$area": ""}, f"$area: {NON_EMPTY}"),
    ("track", {"$area": 3}, f"$area: {NON_EMPTY}"),
    ("track", {"$activated": "yes"}, "$activated: must be true or false"),
    ("track", {"$activated": 1}, "$activated: must be true or false"),
    ("track", {"$foo": 1}, "$foo: unknown system field (custom keys may not start with '$')"),
    (
        "identify",
        {"$email": "a@b.c"},
        "$email: unknown system field (custom keys may not start with '$')",
    ),
    ("track", {"$amount": 10}, "$amount: not a field of track events"),
    ("revenue", {"$area": "billing"}, "$area: not a field of revenue events"),
    ("signup", {"$name": "Jane"}, "$name: not a field of signup events"),
    ("identify", {"$activated": True}, "$activated: not a field of identify events"),
]


def _case_id(case: tuple[str, dict[str, Any], str]) -> str:
    return f"{case[0]}-{case[2]}"


@pytest.mark.parametrize("case", REFUSED, ids=[_case_id(c) for c in REFUSED])
def test_an_invalid_event_refuses_the_whole_batch_naming_index_and_field(
    server: DevServer, case: tuple[str, dict[str, Any], str]
) -> None:
    kind, fields, message = case
    response = post(server, [event("signup"), event(kind, **fields), event("track")])

    assert response.status_code == 400
    assert response.json() == {"error": f"events[1].{message}"}
    assert server.events() == []
    assert server.stats["refused_batches"] == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"[]", 'body must be a JSON object {"events": [...]}'),
        (b'"events"', 'body must be a JSON object {"events": [...]}'),
        (b"{}", '"events" is missing or not an array'),
        (b'{"events": {"0": {}}}', '"events" is missing or not an array'),
        (b'{"events": [1]}', "events[0]: not a JSON object"),
        (b'{"events": [null]}', "events[0]: not a JSON object"),
    ],
)
def test_a_body_that_is_not_an_events_array_is_refused(
    server: DevServer, body: bytes, message: str
) -> None:
    response = post(server, body=body)

    assert response.status_code == 400
    assert message in response.json()["error"]


def _raw_batch(valid: dict[str, Any], amount_literal: str) -> bytes:
    text = json.dumps({"events": [valid, event("revenue", **{"$amount": 0})]})
    return text.replace('"$amount": 0', f'"$amount": {amount_literal}').encode()


@pytest.mark.parametrize("literal", ["1e400", "-1e400", "1" + "0" * 400])
def test_an_amount_that_is_not_finite_is_refused(server: DevServer, literal: str) -> None:
    response = post(server, body=_raw_batch(event("signup"), literal))

    assert response.status_code == 400
    assert response.json() == {"error": "events[1].$amount: not a finite number"}


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json(server: DevServer, literal: str) -> None:
    response = post(server, body=_raw_batch(event("signup"), literal))

    assert response.status_code == 400
    assert response.json()["error"].startswith("malformed JSON")
    assert server.events() == []


VISITOR = str(uuid.uuid4())
ACCEPTED: list[dict[str, Any]] = [
    event("signup"),
    event("signup", **system(visitor_id=VISITOR), email="jane@example.com", plan="free"),
    event("identify", name="Jane", avatar_url="https://example.com/a.png"),
    event("revenue", **{"$amount": 49}),
    event("revenue", **{"$amount": -29.99}, currency="EUR", transaction_id="txn_1"),
    event(
        "revenue",
        **{"$amount": 0, "$name": "Pro"},
        subscription_id="sub_1",
        subscription_status="active",
        subscription_amount="2900",
        billing_interval="month",
        billing_interval_count="1",
    ),
    event("track", **{"$area": "budgets", "$activated": True}),
    event("track", **{"$activated": False}, nested={"a": [1, 2.5, None, True]}, note="ünïcødé"),
    event("track", **{"$name": "x"}, count=0, ratio=0.5, flag=False, empty="", none=[]),
]


def test_every_valid_shape_of_each_type_is_stored_as_sent(server: DevServer) -> None:
    response = post(server, ACCEPTED)

    assert response.status_code == 200
    assert response.json() == {"accepted": len(ACCEPTED), "duplicates": 0}
    assert server.events() == ACCEPTED


def test_an_empty_batch_is_accepted_and_stores_nothing(server: DevServer) -> None:
    response = post(server, [])

    assert response.status_code == 200
    assert response.json() == {"accepted": 0, "duplicates": 0}
