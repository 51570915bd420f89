"""Interpreter exit against a hanging API: bounded, and the loss is counted and reported.

The API accepts the requests and never answers (``DevServer(hang=True)``),
with a read timeout far longer than ``shutdown_timeout``, so only the exit
drain's deadline can end the wait.
"""

from __future__ import annotations

from ripples.dev import DevServer

from .conftest import MARGIN, Launcher


def test_exit_with_a_hanging_api_is_bounded_and_counts_the_batch_in_flight(
    launch: Launcher, server: DevServer
) -> None:
    server.hang = True
    shutdown_timeout = 2.0
    script = launch(["python", "exit_script.py", "in-flight", str(shutdown_timeout)])
    assert script.wait_exit(shutdown_timeout + MARGIN) == 0, script.output
    out = script.output
    assert 'flushed false' in out and "pending 5" in out, out
    # The batch the sender thread holds counts as much as the queued events.
    assert "5 events could not be delivered before exit" in out, out
    assert "ripples-log WARNING" in out and "on_error RipplesAPIError" in out, out
    (stats,) = script.json_lines("stats")
    assert stats["tracked"] == 5 and stats["undelivered_at_exit"] == 5, stats
    assert stats["pending"] == 0 and stats["delivered"] == 0 and stats["balanced"], stats
    assert server.events() == []


def test_exit_after_a_close_that_timed_out_does_not_wait_again(
    launch: Launcher, server: DevServer
) -> None:
    server.hang = True
    shutdown_timeout = 6.0
    script = launch(["python", "exit_script.py", "close-timeout", str(shutdown_timeout)])
    # close(timeout=1), then an exit drain that gives up at once: far from 1 + 6 s.
    assert script.wait_exit(1 + shutdown_timeout + MARGIN) == 0, script.output
    out = script.output
    assert "closed false" in out, out
    assert "on_error RipplesAPIError: ripples: close() could not deliver 3 events" in out, out
    (drain,) = script.json_lines("exit-drain-seconds")
    assert drain < shutdown_timeout / 2, f"the exit drain waited {drain:.1f}s again"
    assert "3 events could not be delivered before exit" in out, out
    (stats,) = script.json_lines("stats")
    assert stats["undelivered_at_exit"] == 3 and stats["balanced"], stats
