"""A second process for the spool tests: ``python _child.py COMMAND DIRECTORY NAMESPACE ...``.

Prints one JSON object as its last line of output.

- ``open``: try to open the spool; reports ``{"error": message or null}``.
- ``write MAX_BYTES EVENTS [FSIZE_LIMIT]``: open and write one batch, optionally
  under ``RLIMIT_FSIZE`` (a disk that fills up); reports the outcome.
- ``drain``: wait for a line on stdin, then claim and delete until the spool is
  empty; reports ``{"claimed": [[segment name, [event ids]], ...]}``.
- ``hold``: claim one segment, print its path, then wait for stdin to close.
- ``fork``: claim one segment and fork; the forked child claims too and prints
  what it got; then the parent releases its segment (printing ``released``) and
  both wait for stdin to close.
- ``spill``: write batches of 500 events until killed, printing a line after each.
- ``writers MAX_BYTES ROUNDS``: wait for a line on stdin, then write ROUNDS
  batches of 20 events; reports the totals of the write results.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sys

from ripples._spool import Spool, SpoolUnavailable


def _events(n: int, tag: str) -> list[bytes]:
    return [json.dumps({"$event_id": f"{tag}-{i}", "pad": "x" * 200}).encode() for i in range(n)]


def _ids(events: list[bytes]) -> list[str]:
    return [json.loads(e)["$event_id"] for e in events]


def _report(**fields: object) -> None:
    print(json.dumps(fields), flush=True)


def main(command: str, directory: str, namespace: str, *rest: str) -> None:
    if command == "open":
        try:
            Spool(directory, namespace, 1_000_000)
        except SpoolUnavailable as exc:
            _report(error=str(exc))
        else:
            _report(error=None)
    elif command == "write":
        spool = Spool(directory, namespace, int(rest[0]))
        if len(rest) > 2:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (int(rest[2]), int(rest[2])))
        try:
            result = spool.write(_events(int(rest[1]), "w"))
        except SpoolUnavailable as exc:
            _report(error=str(exc), files=sorted(os.listdir(spool.path)))
        else:
            _report(error=None, written=result.written_events)
    elif command == "drain":
        spool = Spool(directory, namespace, 100_000_000)
        sys.stdin.readline()
        claimed = []
        while True:
            segment = spool.claim()
            if segment is None:
                break
            claimed.append([os.path.basename(segment.path), _ids(segment.events)])
            segment.delete()
        _report(claimed=claimed)
    elif command == "hold":
        segment = Spool(directory, namespace, 100_000_000).claim()
        print(segment.path if segment else "none", flush=True)
        sys.stdin.read()
    elif command == "fork":
        spool = Spool(directory, namespace, 100_000_000)
        segment = spool.claim()
        assert segment is not None
        pid = os.fork()
        if pid == 0:
            other = spool.claim()
            print(json.dumps({"forked_child_claimed": other.path if other else None}), flush=True)
            sys.stdin.read()
            os._exit(0)
        sys.stdin.readline()  # the test has read the forked child's claim
        segment.release()
        print(json.dumps({"released": segment.path}), flush=True)
        sys.stdin.read()
        os.waitpid(pid, 0)
    elif command == "spill":
        spool = Spool(directory, namespace, 1 << 40)
        for round_ in range(1_000_000):
            spool.write(_events(500, str(round_)))
            print(round_, flush=True)
    elif command == "writers":
        spool = Spool(directory, namespace, int(rest[0]))
        sys.stdin.readline()
        written = evicted = rejected = 0
        for round_ in range(int(rest[1])):
            result = spool.write(_events(20, f"{os.getpid()}-{round_}"))
            written += result.written_events
            evicted += result.evicted_events
            rejected += result.rejected_events
        _report(written=written, evicted=evicted, rejected=rejected)
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main(*sys.argv[1:])
