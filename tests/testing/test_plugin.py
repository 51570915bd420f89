"""The ``ripples_events`` fixture, exercised the way users run it: through pytest itself."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ripples import _recording

VISITOR = "3f2b8c1e-6a4d-4e8f-9b7a-1c2d3e4f5a6b"

# The code under test in every sandbox: a module-level client, as apps have.
APP = """
from ripples import Ripples

client = Ripples(disabled=True)


def register(user_id, email):
    client.signup(user_id, email=email)
    client.track("created a budget", user_id, area="budgets")
"""


@pytest.fixture(autouse=True)
def _no_recorder_leaks_out_of_a_sandbox() -> Iterator[None]:
    yield
    assert _recording.active_sinks() == ()


def test_a_users_test_file_passes_and_fails_with_a_readable_listing(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(app=APP)
    pytester.makepyfile(
        test_signup="""
        from ripples.testing import assert_signup, assert_tracked
        from app import register

        def test_register_sends_a_signup(ripples_events):
            register("u1", "jane@example.com")
            assert_signup(ripples_events, "u1", email="jane@example.com")
            assert_tracked(ripples_events, "created a budget", user_id="u1", area="budgets")

        def test_register_in_the_wrong_area(ripples_events):
            register("u2", "bob@example.com")
            assert_tracked(ripples_events, "created a budget", user_id="u2", area="reports")

        def test_a_plain_assert_gets_the_listing_too(ripples_events):
            register("u3", "ann@example.com")
            assert len(ripples_events.signups) == 2
        """
    )
    # A subprocess, as a user runs it: the fixture comes from the pytest11 entry point.
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*AssertionError: expected a track event with $name='created a budget',"
            " $user_id='u2', $area='reports'.",
            "*Recorded instead (2 events, oldest first):",
            "*#  kind    $user_id  $name / $amount*why it differs*",
            "*1  signup  'u2'*(other kind)*email='bob@example.com'",
            "*2  track   'u2'      'created a budget'*$area='budgets', not 'reports'*",
            "*test_signup.py:*: AssertionError",  # the user's line, not the helper's
            "*_ test_a_plain_assert_gets_the_listing_too _*",
            "*assert 1 == 2*",
            "*- Ripples events recorded by ripples_events -*",
            "*1  signup  'u3'*email='ann@example.com'",
            "*FAILED test_signup.py::test_register_in_the_wrong_area*",
        ]
    )
    # The helper's message already lists the events: no second copy for that test.
    assert result.stdout.str().count("Ripples events recorded by") == 1
    for module in ("testing.py", "_matching.py", "_recorder.py", "_event_table.py"):
        assert f"ripples/{module}" not in result.stdout.str()  # the helpers hide their frames


def test_each_test_gets_a_fresh_recorder_even_after_a_failure(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(app=APP)
    pytester.makepyfile(
        """
        from ripples import _recording
        from app import client

        def test_first(ripples_events):
            client.signup("first")
            assert [e["$user_id"] for e in ripples_events] == ["first"]

        def test_failing(ripples_events):
            client.signup("failing")
            raise RuntimeError("boom")

        def test_second(ripples_events):
            assert len(ripples_events) == 0
            client.signup("second")
            assert [e["$user_id"] for e in ripples_events] == ["second"]
            assert len(_recording.active_sinks()) == 1

        def test_without_the_fixture_nothing_records():
            assert _recording.active_sinks() == ()
        """
    )
    pytester.runpytest().assert_outcomes(passed=3, failed=1)


def test_events_from_other_threads_and_async_tests_are_captured(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(app=APP)
    pytester.makepyfile(
        """
        import threading
        from concurrent.futures import ThreadPoolExecutor

        import anyio
        import pytest

        from ripples.testing import assert_tracked
        from app import client

        @pytest.fixture
        def anyio_backend():
            return "asyncio"

        def test_a_plain_thread(ripples_events):
            worker = threading.Thread(target=client.track, args=("in a thread", "u1"))
            worker.start()
            worker.join()
            assert_tracked(ripples_events, "in a thread", user_id="u1")

        def test_a_thread_pool(ripples_events):
            with ThreadPoolExecutor(4) as pool:
                list(pool.map(lambda n: client.track("job", f"u{n}"), range(8)))
            assert len(ripples_events.tracked("job")) == 8

        def test_a_background_thread_still_running(ripples_events):
            threading.Thread(target=client.signup, args=("later",)).start()
            ripples_events.wait_for(1, type="signup")

        @pytest.mark.anyio
        async def test_an_async_test(ripples_events):
            client.track("in the loop", "u1")
            await anyio.to_thread.run_sync(client.track, "off the loop", "u1")
            assert [e["$name"] for e in ripples_events] == ["in the loop", "off the loop"]
        """
    )
    pytester.runpytest().assert_outcomes(passed=4)


def test_the_visitor_binding_and_bad_calls_behave_as_in_production(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(app=APP)
    pytester.makepyfile(
        f"""
        import contextvars

        import ripples
        from ripples.testing import ABSENT, assert_signup
        from app import client

        VISITOR = "{VISITOR}"

        def test_visitors(ripples_events):
            with ripples.bind_visitor(VISITOR.upper()):
                client.signup("bound")
            client.signup("explicit", ripples_visitor_id=VISITOR)
            client.signup("anonymous")

            def old_api():
                ripples.set_visitor_id(VISITOR)
                client.signup("set_visitor_id")

            contextvars.copy_context().run(old_api)
            assert_signup(ripples_events, "bound", visitor_id=VISITOR)
            assert_signup(ripples_events, "explicit", visitor_id=VISITOR)
            assert_signup(ripples_events, "anonymous", visitor_id=ABSENT)
            assert_signup(ripples_events, "set_visitor_id", visitor_id=VISITOR)

        def test_a_bad_call_fails_the_users_test(ripples_events):
            client.revenue("49.99", "u1")
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*RipplesValidationError: revenue(): amount must be*"])


def test_the_fixture_is_listed_with_its_documentation(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--fixtures")
    result.stdout.fnmatch_lines(
        ["ripples_events*", "*Record every Ripples event tracked during this test*"]
    )


def test_the_plain_script_example_in_the_docs_runs(pytester: pytest.Pytester) -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "testing.md"
    section = docs.read_text().split("### Plain script", 1)[1]
    example = section.split("```python\n", 1)[1].split("```", 1)[0]
    script = pytester.makepyfile(example)
    result = pytester.runpython(script)
    assert result.ret == 0, result.stderr.str()
    result.stdout.fnmatch_lines(["*1  subscription  '7'*'Pro'*subscription_amount='2900'*"])
