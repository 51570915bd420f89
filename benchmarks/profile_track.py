"""Profile the caller's side of ``track()``: where the microseconds of one call go.

    python benchmarks/profile_track.py [--calls 100000] [--healthy]

Runs the calls under pyinstrument (statistical, call tree) and then under
cProfile (deterministic, per-function own time). By default the client points
at a closed port with a buffer large enough to hold every event, so the sender
thread sleeps in backoff and the profile shows the call path alone;
``--healthy`` sends to a local sink instead, so the sender's share of the GIL
shows up too. ``run.py`` calls this when a caller-cost target is missed.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import socket
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ripples import Ripples


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def _calls(client: Ripples, n: int, start: int) -> float:
    track = client.track
    t0 = time.perf_counter()
    for i in range(start, start + n):
        track("created a budget", "user_123", area="budgets", plan="annual", seq=i)
    return (time.perf_counter() - t0) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--healthy", action="store_true", help="send to a local sink")
    args = parser.parse_args()
    sink: Any = None
    if args.healthy:
        from _peer_sink import PeerSink

        sink = PeerSink().start()
        url = sink.url
    else:
        url = _closed_port_url()
    client = Ripples("priv_profile", base_url=url, max_buffer_size=4 * args.calls + 10_000)
    _calls(client, 2_000, 10_000_000)  # warm up

    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0001)
    profiler.start()
    per_call = _calls(client, args.calls, 0)
    profiler.stop()
    print(f"pyinstrument: {args.calls:,} calls, {per_call:.2f} µs per call (profiled)\n")
    print(profiler.output_text(unicode=True, color=False, show_all=False))

    profile = cProfile.Profile()
    profile.enable()
    per_call = _calls(client, args.calls, args.calls)
    profile.disable()
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(15)
    print(f"cProfile: {per_call:.2f} µs per call (with cProfile's own overhead)")
    print(out.getvalue())
    plain = _calls(client, args.calls, 2 * args.calls)
    print(f"unprofiled: {plain:.2f} µs per call (mean)")
    if sink is not None:
        sink.stop()


if __name__ == "__main__":
    main()
