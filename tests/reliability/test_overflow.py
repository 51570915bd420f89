"""A full buffer during an outage drops exactly the oldest events, says how many, keeps the rest."""

from __future__ import annotations

from ripples import Ripples
from ripples.dev import DevServer

from ..polling import wait_until
from .conftest import KEY, ErrorLog

BUFFER = 200
TRACKED = 1_000


def test_an_outage_longer_than_the_buffer_drops_only_the_oldest_and_reports_the_count(
    file_server: DevServer,
) -> None:
    errors = ErrorLog()
    client = Ripples(
        KEY,
        base_url=file_server.url,
        on_error=errors,
        max_buffer_size=BUFFER,
        max_queue_size=50,  # the sender keeps trying (and failing) while the port is closed
        flush_interval=0.05,
        connect_timeout=0.5,
        timeout=0.5,
        max_retries=1,
    )
    try:
        file_server.stop()  # port closed: connection refused
        for seq in range(TRACKED):
            client.track("overflow", "user-1", seq=seq)
            if seq % 250 == 249:
                client.flush(timeout=1)  # fails fast; must neither raise nor lose the newest
        wait_until(
            lambda: errors.dropped() >= TRACKED - BUFFER,
            timeout=15,
            what=f"{TRACKED - BUFFER} dropped events reported through on_error",
        )
        file_server.start()
        file_server.wait_for(BUFFER, timeout=60, type="track")
        assert client.flush(timeout=10)
    finally:
        client.close(timeout=5)

    seqs = sorted(event["seq"] for event in file_server.events(type="track"))
    assert seqs == list(range(TRACKED - BUFFER, TRACKED)), "not exactly the newest events arrived"
    assert errors.dropped() == TRACKED - BUFFER
    assert not errors.refused()
