"""The spool shared by processes: concurrent claims, a killed holder, fork, concurrent writers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable

from ripples._spool import Spool

from .conftest import NAMESPACE, event, event_ids

MakeSpool = Callable[..., Spool]
StartChild = Callable[..., "subprocess.Popen[str]"]


def test_two_processes_draining_at_once_never_share_a_segment(
    make_spool: MakeSpool, spool_dir: Path, start_child: StartChild
) -> None:
    spool = make_spool()
    written = {}
    for i in range(300):
        result = spool.write([event(i * 4 + j) for j in range(4)])
        assert result.path is not None
        written[os.path.basename(result.path)] = event_ids([event(i * 4 + j) for j in range(4)])
    children = [start_child("drain", spool_dir, NAMESPACE) for _ in range(3)]
    for child in children:
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    claimed: list[tuple[str, list[str]]] = []
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        claimed.extend((name, ids) for name, ids in json.loads(out.splitlines()[-1])["claimed"])
    names = Counter(name for name, _ in claimed)
    assert names.most_common(1)[0][1] == 1  # no segment twice
    assert set(names) == set(written)  # and none missed
    assert all(ids == written[name] for name, ids in claimed)
    assert spool.pending_segments() == 0


def test_a_segment_held_by_a_killed_process_can_be_claimed_again(
    make_spool: MakeSpool, spool_dir: Path, start_child: StartChild
) -> None:
    spool = make_spool()
    spool.write([event(1)])
    holder = start_child("hold", spool_dir, NAMESPACE)
    assert holder.stdout is not None
    held = holder.stdout.readline().strip()
    assert held.endswith(".seg")
    assert spool.claim() is None  # the holder is alive: the segment is locked
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(30)
    segment = spool.claim()  # the kernel released the lock of the dead process
    assert segment is not None and segment.path == held
    assert segment.events == [event(1)]


def test_a_forked_child_neither_shares_nor_keeps_its_parents_claim(
    make_spool: MakeSpool, spool_dir: Path, start_child: StartChild
) -> None:
    spool = make_spool()
    first = spool.write([event(1)]).path
    second = spool.write([event(2)]).path
    parent = start_child("fork", spool_dir, NAMESPACE)
    assert parent.stdout is not None and parent.stdin is not None
    assert json.loads(parent.stdout.readline()) == {"forked_child_claimed": second}
    assert spool.claim() is None  # both segments are held
    parent.stdin.write("next\n")
    parent.stdin.flush()
    assert json.loads(parent.stdout.readline()) == {"released": first}
    # The forked child is still running, yet its inherited descriptor does not keep the lock.
    segment = spool.claim()
    assert segment is not None and segment.path == first


def test_concurrent_writers_keep_the_spool_under_max_bytes(
    spool_dir: Path, make_spool: MakeSpool, start_child: StartChild
) -> None:
    max_bytes = 60_000  # about ten batches of twenty 220-byte events
    writers = [start_child("writers", spool_dir, NAMESPACE, max_bytes, 40) for _ in range(3)]
    for writer in writers:
        assert writer.stdin is not None
        writer.stdin.write("go\n")
        writer.stdin.flush()
    totals: list[dict[str, Any]] = []
    for writer in writers:
        out, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err
        totals.append(json.loads(out.splitlines()[-1]))
    spool = make_spool(max_bytes=max_bytes)
    assert 0 < spool.size_bytes() <= max_bytes
    on_disk = 0
    while (segment := spool.claim()) is not None:
        on_disk += len(segment.events)
        segment.delete()
    written = sum(t["written"] for t in totals)
    assert written == 3 * 40 * 20 - sum(t["rejected"] for t in totals)
    assert on_disk == written - sum(t["evicted"] for t in totals)  # every drop was counted


def test_a_writer_killed_mid_spill_leaves_only_complete_segments(
    make_spool: MakeSpool, spool_dir: Path, start_child: StartChild
) -> None:
    writer = start_child("spill", spool_dir, NAMESPACE)
    assert writer.stdout is not None
    for _ in range(5):  # let it get well into its stride, then kill it mid-write (most likely)
        assert writer.stdout.readline()
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait(30)
    spool = make_spool()
    segments = 0
    while (segment := spool.claim()) is not None:
        assert (len(segment.events), segment.damaged) == (500, 0), segment.path
        segments += 1
        segment.delete()
    assert segments >= 5
    leftovers = [n for n in os.listdir(spool.path) if n.startswith(".tmp-")]
    assert len(leftovers) <= 1  # at most the segment it was writing, never claimed


def test_a_reader_never_sees_a_segment_being_written(
    make_spool: MakeSpool, spool_dir: Path, start_child: StartChild
) -> None:
    writer = start_child("spill", spool_dir, NAMESPACE)
    spool = make_spool()
    seen = 0
    deadline = time.monotonic() + 60
    while seen < 40 and time.monotonic() < deadline:
        segment = spool.claim()  # polls as fast as it can, racing the writer
        if segment is None:
            continue
        assert (len(segment.events), segment.damaged) == (500, 0), segment.path
        seen += 1
        segment.delete()
    assert seen == 40
    assert writer.poll() is None  # the writer was running throughout
