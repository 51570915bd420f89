"""multiprocessing ``Process`` and ``Pool`` under fork, forkserver and spawn.

Children track events and end normally: fork and forkserver children (and
pool workers closed gracefully) leave through ``os._exit``, so only the
drain the SDK registers with multiprocessing's finalizers delivers what
they buffered (``flush_interval`` is a minute). Every event must be stored
exactly once, the parent's included.
"""

from __future__ import annotations

import pytest

from ripples.dev import DevServer

from .conftest import MARGIN, Launcher, assert_exactly_once

EVENTS = 8  # two children, four events each


@pytest.mark.parametrize("mode", ["process", "pool"])
@pytest.mark.parametrize("method", ["fork", "forkserver", "spawn"])
def test_children_that_end_normally_deliver_every_event_once(
    launch: Launcher, server: DevServer, method: str, mode: str
) -> None:
    run = f"mp-{method}-{mode}"
    script = launch(["python", "mp_script.py", method, mode, run])
    # Each child's exit drain and the parent's own, each well within shutdown_timeout.
    assert script.wait_exit(30 + MARGIN) == 0, script.output
    if mode == "process":
        assert script.json_lines("exitcodes") == [[0, 0]], script.output
    else:
        (children,) = script.json_lines("children")
        assert len(children) >= 1
    users = [f"{run}-parent", *(f"{run}-{index}" for index in range(EVENTS))]
    events = assert_exactly_once(server, users, context=script.output)
    assert len(server.events()) == len(users)
    child_pids = {events[f"{run}-{index}"]["pid"] for index in range(EVENTS)}
    assert events[f"{run}-parent"]["pid"] not in child_pids
    assert "could not be delivered" not in script.output
