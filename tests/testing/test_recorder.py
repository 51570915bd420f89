"""``ripples.testing.EventRecorder``: what it captures, from where, and what it stops."""

from __future__ import annotations

import contextvars
import re
import threading
from typing import TYPE_CHECKING, Callable

import pytest

import ripples
from ripples import Ripples, RipplesValidationError
from ripples.testing import EventRecorder, record_events

if TYPE_CHECKING:
    from ripples.dev import DevServer

VISITOR = "3f2b8c1e-6a4d-4e8f-9b7a-1c2d3e4f5a6b"
OTHER_VISITOR = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@pytest.fixture
def quiet() -> Ripples:
    """A client that needs no key and sends nothing, as in a user's test settings."""
    return Ripples(disabled=True)


def test_records_the_exact_wire_dicts_in_order(quiet: Ripples) -> None:
    with record_events() as events:
        quiet.signup("u1", email="jane@example.com")
        quiet.track("created a budget", "u1", area="budgets", activated=True, plan="annual")
        quiet.revenue(-29.99, "u1", transaction_id="txn_1")
        quiet.identify("u1", name="Jane")

    assert [event["$type"] for event in events] == ["signup", "track", "revenue", "identify"]
    track = events[1]
    assert UUID_RE.match(track.pop("$event_id"))
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", track.pop("$sent_at"))
    assert track == {
        "$type": "track",
        "$name": "created a budget",
        "$area": "budgets",
        "$activated": True,
        "$user_id": "u1",
        "$sdk_name": "python",
        "$sdk_version": ripples.__version__,
        "$platform": "server",
        "plan": "annual",
    }
    assert events[2]["$amount"] == -29.99 and events[2]["transaction_id"] == "txn_1"


def test_filters_split_events_by_kind_user_and_action(quiet: Ripples) -> None:
    with record_events() as events:
        quiet.signup("u1")
        quiet.track("created a budget", "u1", area="budgets")
        quiet.track("created a budget", "u2", area="budgets")
        quiet.track("exported a report", "u1", area="reports")
        quiet.revenue(49, "u1")
        quiet.subscription("sub_1", "u1", "active", 29)
        quiet.identify("u2", name="Bob")

    assert len(events) == 7 and bool(events)
    assert [e["$user_id"] for e in events.tracked("created a budget")] == ["u1", "u2"]
    assert [e["$name"] for e in events.tracked(user_id="u1")] == [
        "created a budget",
        "exported a report",
    ]
    assert len(events.tracked(area="reports")) == 1
    assert [e["$type"] for e in events.for_user("u2")] == ["track", "identify"]
    assert len(events.signups) == len(events.identifies) == 1
    assert [e["$amount"] for e in events.revenue] == [49]
    assert [e["subscription_id"] for e in events.subscriptions] == ["sub_1"]
    assert len(events.filter(type="revenue")) == 2  # the wire $type covers both
    assert "subscription 'u1'" in repr(events) and "stopped" in repr(events)


def test_only_events_tracked_while_active_are_kept(quiet: Ripples) -> None:
    recorder = EventRecorder()
    quiet.track("before", "u1")
    with recorder:
        assert recorder.active
        quiet.track("during", "u1")
    quiet.track("after", "u1")
    assert [e["$name"] for e in recorder] == ["during"]

    recorder.start()
    quiet.track("again", "u1")
    recorder.clear()
    quiet.track("kept", "u1")
    recorder.stop()
    recorder.stop()  # idempotent
    assert [e["$name"] for e in recorder.events] == ["kept"]


def test_nested_recorders_both_see_every_event(quiet: Ripples) -> None:
    with record_events() as outer:
        quiet.track("one", "u1")
        with record_events() as inner:
            quiet.track("two", "u1")
        quiet.track("three", "u1")
    assert [e["$name"] for e in outer] == ["one", "two", "three"]
    assert [e["$name"] for e in inner] == ["two"]


def test_recorded_events_do_not_change_when_the_app_mutates_its_values(quiet: Ripples) -> None:
    cart = {"items": ["a"]}
    with record_events() as events:
        quiet.track("checked out", "u1", cart=cart)
    cart["items"].append("b")
    assert events[0]["cart"] == {"items": ["a"]}


def test_many_threads_are_recorded_completely_and_in_each_threads_order(quiet: Ripples) -> None:
    threads, per_thread = 8, 200
    start = threading.Barrier(threads)

    def work(index: int) -> None:
        start.wait()
        for n in range(per_thread):
            quiet.track("tick", f"user{index}", n=n)

    with record_events() as events:
        workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()

    assert len(events) == threads * per_thread
    assert len({e["$event_id"] for e in events}) == threads * per_thread
    for index in range(threads):
        assert [e["n"] for e in events.for_user(f"user{index}")] == list(range(per_thread))


def test_wait_for_returns_once_another_thread_tracked(quiet: Ripples) -> None:
    go = threading.Event()

    def background_job() -> None:
        go.wait(5)
        quiet.signup("late")

    with record_events() as events:
        worker = threading.Thread(target=background_job)
        worker.start()
        go.set()
        [signup] = events.wait_for(1, timeout=10, type="signup")
        worker.join()
    assert signup["$user_id"] == "late"

    expected = r"waited 0.05s for 2 events with \$type='signup', got 1"
    with pytest.raises(AssertionError, match=expected):
        events.wait_for(2, timeout=0.05, type="signup")


def test_the_visitor_binding_is_recorded_as_production_sends_it(quiet: Ripples) -> None:
    with record_events() as events:
        with ripples.bind_visitor(VISITOR.upper()):
            quiet.signup("bound")
            quiet.signup("explicit", ripples_visitor_id=OTHER_VISITOR)
        with ripples.bind_visitor("not-a-uuid"):
            quiet.signup("junk cookie")
        quiet.signup("unbound")

        def old_api() -> None:
            ripples.set_visitor_id(OTHER_VISITOR)
            quiet.signup("set_visitor_id")

        contextvars.copy_context().run(old_api)  # keeps the binding out of other tests
        quiet.signup("visitor kwarg", visitor_id=VISITOR.upper())

    visitors = {e["$user_id"]: e.get("$visitor_id") for e in events}
    assert visitors == {
        "bound": VISITOR,
        "explicit": OTHER_VISITOR,
        "junk cookie": None,
        "unbound": None,
        "set_visitor_id": OTHER_VISITOR,
        "visitor kwarg": VISITOR,
    }
    assert "$visitor_id" not in events[2]  # omitted, never null


def test_a_bound_visitor_reaches_events_tracked_in_a_copied_context(quiet: Ripples) -> None:
    # What run_in_threadpool / asgiref do for sync views under ASGI.
    with record_events() as events, ripples.bind_visitor(VISITOR):
        context = contextvars.copy_context()
        worker = threading.Thread(target=context.run, args=(quiet.track, "in pool", "u1"))
        worker.start()
        worker.join()
    assert events[0]["$visitor_id"] == VISITOR


@pytest.mark.parametrize(
    "bad_call",
    [
        lambda c: c.revenue("49.99", "u1"),
        lambda c: c.revenue(float("nan"), "u1"),
        lambda c: c.signup(""),
        lambda c: c.track("", "u1"),
        lambda c: c.track("ok", "u1", blob=object()),
        lambda c: c.identify("u1", timestamp="yesterday"),
        lambda c: c.subscription("sub_1", "u1", "expired", 29),
    ],
)
def test_disabled_clients_still_refuse_bad_calls(
    bad_call: Callable[[Ripples], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RIPPLES_SECRET_KEY", raising=False)
    monkeypatch.setenv("RIPPLES_DISABLED", "1")
    client = Ripples()  # no key needed when disabled
    with record_events() as events, pytest.raises(RipplesValidationError):
        bad_call(client)
    with pytest.raises(RipplesValidationError):
        bad_call(Ripples(disabled=True))  # and without a recorder
    assert len(events) == 0


def test_a_disabled_client_sends_nothing(
    server: DevServer, make_client: Callable[..., Ripples]
) -> None:
    disabled = make_client(disabled=True)
    disabled.signup("disabled")
    disabled.track("disabled action", "disabled")
    assert disabled.flush(timeout=5)

    # Control: an enabled client with the same key and URL shares the sender,
    # so anything the disabled client had queued would go out with this flush.
    enabled = make_client()
    enabled.signup("enabled")
    assert enabled.flush(timeout=10)
    assert [e["$user_id"] for e in server.wait_for(1)] == ["enabled"]
    assert server.stats["events"] == 1


def test_recording_keeps_events_off_the_network(
    server: DevServer, make_client: Callable[..., Ripples]
) -> None:
    client = make_client()
    with record_events() as events:
        client.signup("recorded")
    assert client.flush(timeout=10)
    client.signup("sent")
    assert client.flush(timeout=10)
    assert [e["$user_id"] for e in events] == ["recorded"]
    assert [e["$user_id"] for e in server.wait_for(1)] == ["sent"]
    assert server.stats["events"] == 1
