"""Where each event's instructions go, counted by callgrind: the caller's thread and the sender's.

    python benchmarks/profile_instructions.py [--events 20000] [--top 15]

CPU time on this 2-core VM moves by a third between identical runs; instruction
counts do not (``valgrind --tool=callgrind`` counts them whatever else runs).
A child process tracks the ``bench_allin`` event ``N`` and then ``5N`` times
through one client (unpaced), then ``flush()``; the collector (``_peer_sink``)
runs in another, uncounted, process. With ``--separate-threads=yes`` each
thread has its own count, so (count(5N) - count(N)) / 4N is the instructions
per event of the caller's thread (``track()`` and the loop) and of the sender
thread (ids, JSON, HTTP, bookkeeping), with start-up and imports cancelled
out. Kernel time (syscalls such as ``getpid`` and the socket writes) is not
counted: it is in the CPU figures of ``bench_allin`` instead.

It also lists the C functions with the most instructions per event in each
thread (self cost), which is what points at the next thing to change.
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CHILD = """
import os, sys
from ripples import Ripples
client = Ripples("priv_bench_0123456789abcdef", base_url=sys.argv[1])
track = client.track
for i in range(int(sys.argv[2])):
    track("created a budget", "user_123", area="budgets", plan="annual", seq=i)
client.flush()
os._exit(0)
"""
SINK = """
import sys, time
sys.path.insert(0, sys.argv[1])
from _peer_sink import PeerSink
with PeerSink() as sink:
    print(sink.url, flush=True)
    sys.stdin.read()
"""


def _counts(outfile: str) -> dict[str, int]:
    """Self instructions per function in one callgrind output file."""
    done = subprocess.run(
        ["callgrind_annotate", "--threshold=100", outfile], capture_output=True, text=True
    )
    counts: dict[str, int] = {}
    for line in done.stdout.splitlines():
        found = re.match(r"\s*([\d,]+) \([^)]*\)\s+(.*)", line)
        if found and "PROGRAM TOTALS" not in line:
            name = found.group(2).split(":", 1)[-1].split(" [")[0]
            counts[name] = counts.get(name, 0) + int(found.group(1).replace(",", ""))
    return counts


def _total(outfile: str) -> int:
    for line in Path(outfile).read_text(errors="replace").splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    raise RuntimeError(f"no total in {outfile}")


def _run(url: str, events: int, out: str) -> list[str]:
    subprocess.run(
        ["valgrind", "--tool=callgrind", "--separate-threads=yes", f"--callgrind-out-file={out}",
         sys.executable, "-c", CHILD, url, str(events)],
        check=True, capture_output=True, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    files = sorted(glob.glob(out + "-*"))  # -01 is the main thread, -02 the sender
    if len(files) < 2:
        raise RuntimeError(f"expected two threads, got {files}")
    return files[:2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (apt-get install valgrind)")
    sink = subprocess.Popen(
        [sys.executable, "-c", SINK, str(HERE)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert sink.stdout is not None
        url = sink.stdout.readline().strip()
        with tempfile.TemporaryDirectory() as tmp:
            small = _run(url, args.events, f"{tmp}/small")
            large = _run(url, 5 * args.events, f"{tmp}/large")
            per = 4 * args.events
            print(f"Instructions per event ({per:,} events: 5N - N, callgrind, user space only)")
            for label, a, b in zip(("caller thread", "sender thread"), small, large):
                print(f"  {label:14} {(_total(b) - _total(a)) / per:>9,.0f}")
            for label, a, b in zip(("caller thread", "sender thread"), small, large):
                before, after = _counts(a), _counts(b)
                rows = sorted(
                    ((after.get(k, 0) - before.get(k, 0)) / per, k)
                    for k in set(before) | set(after)
                )[::-1][: args.top]
                print(f"\nTop functions of the {label} (self instructions per event)")
                for value, name in rows:
                    print(f"  {value:>7,.0f}  {name}")
    finally:
        if sink.stdin:
            sink.stdin.close()
        sink.wait(10)


if __name__ == "__main__":
    main()
