"""What one tracked event costs the whole process, sender thread included.

    python benchmarks/profile_sender.py [--rate 2000] [--seconds 3] [--py-spy]

A web app pays for an event twice: the ``track()`` call on the request
thread, and the sender thread's share of the GIL to encode and post it. This
simulates requests at a fixed rate, each tracking one event under its own
visitor binding, with and without ``binding.flush_soon()`` after the
"response" (what the integrations do), against a sink in another process, and
prints CPU µs per request for the request thread and for the rest of the
process (the sender), plus events per POST. ``--py-spy`` also records where
the sender thread spends its time (py-spy must be installed).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import ripples

HERE = Path(__file__).resolve().parent
SINK = (
    "import sys, time; sys.path.insert(0, sys.argv[1]); from _peer_sink import PeerSink\n"
    "s = PeerSink().start(); print(s.url, flush=True)\n"
    "for line in sys.stdin:\n"
    "    snap = s.snapshot(); print(snap['events'], snap['requests'], flush=True)\n"
)


def simulate(url: str, rate: float, seconds: float, wake: bool) -> dict[str, float]:
    """Requests at ``rate`` per second for ``seconds``; CPU per request by thread."""
    client = ripples.Ripples("priv_profile_sender", base_url=url)
    visitor = str(uuid.uuid4())
    for _ in range(200):  # warm up the sender and its connection
        client.track("warm up", "user-1")
    client.flush()
    n = int(rate * seconds)
    gap = 1.0 / rate
    process0, thread0 = time.process_time(), time.thread_time()
    start = time.perf_counter()
    for i in range(n):
        due = start + i * gap
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        with ripples.bind_visitor(visitor) as binding:
            client.track("created a budget", "user-1", area="budgets", seq=i)
        if wake:
            binding.flush_soon()
    client.flush()
    thread_cpu = time.thread_time() - thread0
    process_cpu = time.process_time() - process0
    client.close()
    return {
        "requests": n,
        "request_thread_us": thread_cpu / n * 1e6,
        "sender_us": (process_cpu - thread_cpu) / n * 1e6,
        "elapsed_s": time.perf_counter() - start,
    }


def summarise(folded: str, top: int = 14) -> str:
    """Inclusive share of the sender thread's samples per frame, from py-spy's raw output."""
    inclusive: Counter[str] = Counter()
    total = 0
    with open(folded) as f:
        for line in f:
            stack, count = line.rsplit(" ", 1)
            frames = [frame.split(" (")[0] for frame in stack.split(";")]
            if not any("_drain" in frame for frame in frames):
                continue  # not the sender thread
            total += int(count)
            for name in dict.fromkeys(frames):
                inclusive[name] += int(count)
    skip = ("Thread.", "Sender._run", "Sender._drain")
    rows = [(name, n) for name, n in inclusive.most_common() if not name.startswith(skip)]
    lines = [f"  sender thread, {total} samples ({folded}); inclusive share per frame:"]
    lines += [f"    {100 * n / max(1, total):5.1f}%  {name}" for name, n in rows[:top]]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=2000, help="requests per second")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--py-spy", action="store_true", help="record the sender with py-spy")
    parser.add_argument("--mode", choices=["wake", "batch"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mode:  # the child process that py-spy records
        print(json.dumps(simulate(args.url, args.rate, args.seconds, args.mode == "wake")))
        return
    sink = subprocess.Popen(
        [sys.executable, "-c", SINK, str(HERE)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert sink.stdin and sink.stdout
    url = sink.stdout.readline().strip()

    def sink_counts() -> tuple[int, int]:
        sink.stdin.write("\n")  # type: ignore[union-attr]
        sink.stdin.flush()  # type: ignore[union-attr]
        events, requests = sink.stdout.readline().split()  # type: ignore[union-attr]
        return int(events), int(requests)

    print(
        f"{args.rate:.0f} requests/s for {args.seconds:g} s, one event each, sink in a subprocess"
    )
    print(f"{'mode':<34}{'request thread µs':>18}{'sender µs':>11}{'events/POST':>13}")
    for mode in ("batch", "wake"):
        before = sink_counts()
        command = [sys.executable, __file__, "--mode", mode, "--url", url]
        command += ["--rate", str(args.rate), "--seconds", str(args.seconds)]
        if args.py_spy and shutil.which("py-spy"):
            out = f"/tmp/ripples-sender-{mode}.txt"
            command = ["py-spy", "record", "-r", "500", "-f", "raw", "-o", out, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        result = json.loads([ln for ln in done.stdout.splitlines() if ln.startswith("{")][-1])
        after = sink_counts()
        per_post = (after[0] - before[0]) / max(1, after[1] - before[1])
        label = (
            "flush_soon() after each request"
            if mode == "wake"
            else "no wake (batched by timer/size)"
        )
        print(
            f"{label:<34}{result['request_thread_us']:>18.1f}{result['sender_us']:>11.1f}"
            f"{per_post:>13.1f}"
        )
        if args.py_spy and shutil.which("py-spy"):
            print(summarise(out))
    sink.terminate()
    os.waitpid(sink.pid, 0)


if __name__ == "__main__":
    main()
