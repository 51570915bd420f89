"""The issue 15/17 benchmark sections run end to end and judge every target (no timing asserted).

Tiny counts, one round, our client only (the peers and the official client are
benchmark-only installs): this checks that each scenario starts its processes
and servers, reaches the counting collector and prints a PASS or MISS line per
target, not what the figures are.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

RUN = Path(__file__).resolve().parents[2] / "benchmarks" / "run.py"

for module in ("uvicorn", "gunicorn", "starlette", "django", "flask"):
    pytest.importorskip(module)

#: Every target line the new sections print, by section.
TARGETS = {
    "allin": [r"all-in CPU per event <= 8 µs", r"all-in run: no event lost"],
    "contention": [
        r"8 threads: nothing lost or duplicated",
        r"8 threads: caller p99 <= 20 µs",
        r"8 threads: worst call <= 2 ms",
    ],
    "bufmem": [r"memory per buffered event \(RSS\) < 406 B"],
    "mwcpu": [
        rf"middleware CPU {framework}, {case}: a - b <= \d+ µs"
        for framework in ("asgi", "django", "flask")
        for case in ("tracks nothing", "tracks one event")
    ]
    + [
        rf"middleware in-process CPU {framework}, tracks nothing: a - b <= 3 µs"
        for framework in ("asgi", "django", "flask")
    ]
    + [
        rf"middleware {framework}, tracks one event \(in-process CPU \+ all-in of A\): "
        r"a - b <= 11 µs"
        for framework in ("asgi", "django", "flask")
    ],
}


def test_new_sections_print_a_verdict_per_target() -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(RUN),
            "--quick",
            *("--reps", "1", "--scale", "0.1", "--sdks", "ripples"),
            "--no-official",
            "--no-profile",
            *("--only", ",".join(TARGETS)),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    for section, patterns in TARGETS.items():
        for pattern in patterns:
            line = re.search(rf"^{pattern}.*$", out, re.MULTILINE)
            assert line, f"{section}: no target line matching {pattern!r} in:\n{out}"
            assert line.group(0).rstrip().endswith(("PASS", "MISS")), line.group(0)
