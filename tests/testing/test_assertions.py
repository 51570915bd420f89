"""The assertion helpers: what they accept, and failure messages a developer can act on."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from ripples import Ripples
from ripples.testing import (
    ABSENT,
    EventRecorder,
    assert_identified,
    assert_not_tracked,
    assert_revenue,
    assert_signup,
    assert_subscription,
    assert_tracked,
    format_events,
    record_events,
)

VISITOR = "3f2b8c1e-6a4d-4e8f-9b7a-1c2d3e4f5a6b"


class Plan(enum.Enum):
    PRO = "pro"


@pytest.fixture
def events() -> EventRecorder:
    client = Ripples(disabled=True)
    with record_events() as recorder:
        client.signup("7", email="jane@example.com", ripples_visitor_id=VISITOR)
        client.track("created a budget", "7", area="reports", activated=True)
        client.track("exported a report", "7", seats=3, plan="annual")
        client.revenue(Decimal("49.99"), "7", currency="EUR", transaction_id="txn_1")
        client.revenue(-49.99, "7", transaction_id="txn_1")
        client.subscription("sub_1", "7", "active", 29, currency="EUR", plan="Pro")
        client.identify("7", name="Jane", company="Acme")
    return recorder


def test_each_helper_returns_the_matching_event(events: EventRecorder) -> None:
    signup = assert_signup(events, 7, visitor_id=uuid.UUID(VISITOR), email="jane@example.com")
    assert signup["$type"] == "signup"
    assert assert_tracked(events, "created a budget", user_id="7", activated=True) is not None
    assert_tracked(events, "exported a report", activated=False, seats=3, visitor_id=ABSENT)
    assert_revenue(events, 49.99, "7", currency="EUR")
    refund = assert_revenue(events, Decimal("-49.99"), transaction_id="txn_1")
    assert refund["$amount"] == -49.99
    sub = assert_subscription(events, "sub_1", "7", status="active", amount=Decimal("29.00"))
    assert sub["subscription_amount"] == "2900"
    assert_subscription(events, interval="month", currency="EUR", **{"$name": "Pro"})
    assert_identified(events, "7", name="Jane", company="Acme")
    assert_not_tracked(events, "deleted a budget")
    assert_not_tracked(events, "created a budget", area="budgets")


def test_a_failed_assertion_lists_what_was_tracked_instead(events: EventRecorder) -> None:
    with pytest.raises(AssertionError) as failure:
        assert_tracked(events, "created a budget", user_id="7", area="budgets")
    message = str(failure.value)
    lines = message.splitlines()
    assert lines[0] == (
        "expected a track event with $name='created a budget', $user_id='7', $area='budgets'."
    )
    assert lines[1] == "Recorded instead (7 events, oldest first):"
    header = lines[2].split()
    assert header[:4] == ["#", "kind", "$user_id", "$name"]
    assert "why it differs" in lines[2]
    rows = {line.split()[0]: line for line in lines[4:]}
    assert len(rows) == 7
    assert "$area='reports', not 'budgets'" in rows["2"]
    assert "$area missing" in rows["3"] and "seats=3" in rows["3"]
    assert "(other kind)" in rows["1"] and VISITOR in rows["1"]
    assert rows["6"].split()[1] == "subscription"


def test_payments_and_subscriptions_never_stand_in_for_each_other(
    events: EventRecorder,
) -> None:
    # A subscription is a revenue event with $amount 0 on the wire.
    with pytest.raises(AssertionError, match="expected a revenue event with \\$amount=0"):
        assert_revenue(events, 0)
    with pytest.raises(AssertionError, match="subscription_status='canceled'") as failure:
        assert_subscription(events, "sub_1", status="canceled")
    assert "subscription_status='active', not 'canceled'" in str(failure.value)


def test_assert_not_tracked_shows_the_offending_events(events: EventRecorder) -> None:
    with pytest.raises(AssertionError) as failure:
        assert_not_tracked(events, "created a budget", user_id=7)
    message = str(failure.value)
    assert message.startswith("expected no track event with $name='created a budget'")
    assert "but 1 matched" in message and "'reports'" not in message.splitlines()[0]
    assert len(message.splitlines()) == 4  # the sentence, the header, the rule, one row


def test_absent_requires_a_field_to_be_missing(events: EventRecorder) -> None:
    assert_signup(events, "7", referral=ABSENT)
    with pytest.raises(AssertionError, match=r"\$visitor_id='3f2b.*' \(expected absent\)"):
        assert_signup(events, "7", visitor_id=ABSENT)


def test_rich_values_compare_with_their_wire_form() -> None:
    moment = datetime(2026, 11, 26, 10, 0, tzinfo=timezone.utc)
    token = uuid.UUID("0b8e5b9e-2f0a-4a53-8d3e-6f1f7b1d2c3a")
    with record_events() as events:
        Ripples(disabled=True).track(
            "renewed",
            "u1",
            plan=Plan.PRO,
            at=moment,
            on=date(2026, 11, 26),
            token=token,
            price=Decimal("9.90"),
            tags=("a", "b"),
            meta={"n": 1},
            flag=True,
        )
    assert_tracked(
        events,
        "renewed",
        plan=Plan.PRO,
        at=moment,
        on=date(2026, 11, 26),
        token=token,
        price=Decimal("9.9"),
        tags=("a", "b"),
        meta={"n": 1},
        flag=True,
    )
    with pytest.raises(AssertionError, match=r"flag=True, not 1"):
        assert_tracked(events, "renewed", flag=1)  # True is not 1 on the wire


def test_the_helpers_accept_plain_lists_of_wire_dicts() -> None:
    wire = [{"$type": "signup", "$user_id": "u1", "$visitor_id": VISITOR, "plan": "free"}]
    assert_signup(wire, "u1", plan="free")
    with pytest.raises(AssertionError, match="No Ripples events were recorded at all"):
        assert_signup([], "u1")


def test_format_events_hides_boilerplate_unless_asked(events: EventRecorder) -> None:
    short = format_events(events)
    assert "$event_id" not in short and "$sdk_version" not in short
    assert "transaction_id='txn_1'" in short
    assert str(events) == short
    full = format_events(events[:1], all_fields=True)
    assert "$event_id=" in full and "$sent_at=" in full


def test_idempotency_key_filters_match_the_derived_event_id() -> None:
    client = Ripples(disabled=True)
    with record_events() as recorder:
        client.revenue(49, "7", idempotency_key="stripe:evt_1")
        client.revenue(49, "7", idempotency_key="stripe:evt_2")
        client.track("paid", "7", idempotency_key="stripe:evt_1")
        client.signup("7", idempotency_key="confirm:7")
        client.identify("7", idempotency_key="profile:7")
        client.subscription("sub_1", "7", "active", 29, idempotency_key="sub:1")
    assert assert_revenue(recorder, 49, idempotency_key="stripe:evt_2") == recorder[1]
    assert_tracked(recorder, "paid", idempotency_key="stripe:evt_1")
    assert_signup(recorder, "7", idempotency_key="confirm:7")
    assert_identified(recorder, "7", idempotency_key="profile:7")
    assert_subscription(recorder, "sub_1", idempotency_key="sub:1")
    assert_not_tracked(recorder, "paid", idempotency_key="stripe:evt_2")
    assert recorder.filter(idempotency_key="stripe:evt_1") == [recorder[0], recorder[2]]
    assert recorder.tracked(idempotency_key="stripe:evt_1") == [recorder[2]]
    assert recorder.wait_for(2, 1, idempotency_key="stripe:evt_1") == [recorder[0], recorder[2]]
    with pytest.raises(AssertionError, match="idempotency_key='stripe:evt_9'"):
        assert_revenue(recorder, idempotency_key="stripe:evt_9")
    with pytest.raises(AssertionError):  # the key is scoped by method: a track is not a signup
        assert_signup(recorder, idempotency_key="stripe:evt_1")
