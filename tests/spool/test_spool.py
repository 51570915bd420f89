"""The spool in one process: round trip, order, modes, namespace, size cap, bad directories."""

from __future__ import annotations

import gc
import hashlib
import os
import stat
import struct
import threading
import time
import zlib
from collections import deque
from pathlib import Path
from typing import Any, Callable

import pytest

from ripples._spool import Spool, SpoolUnavailable, spool_namespace
from ripples._spool_format import HEADER_SIZE, encode_segment, record_size

from .conftest import NAMESPACE, event, event_ids

MakeSpool = Callable[..., Spool]


def _batch(start: int, n: int) -> list[bytes]:
    return [event(i) for i in range(start, start + n)]


def _segments(spool: Spool) -> list[str]:
    return sorted(name for name in os.listdir(spool.path) if name.endswith(".seg"))


def test_round_trip_oldest_first(make_spool: MakeSpool) -> None:
    spool = make_spool()
    batches = [_batch(0, 500), _batch(500, 3), _batch(503, 1)]
    for batch in batches:
        result = spool.write(batch)
        assert (result.written_events, result.dropped_events) == (len(batch), 0)
        assert result.written_bytes == os.path.getsize(str(result.path))
    assert spool.pending_segments() == 3
    assert spool.pending_events() == 504
    assert spool.size_bytes() == sum(
        os.path.getsize(os.path.join(spool.path, n)) for n in _segments(spool)
    )

    for batch in batches:
        segment = spool.claim()
        assert segment is not None
        assert (segment.events, segment.damaged) == (batch, 0)
        segment.delete()
    assert spool.claim() is None
    assert (spool.pending_segments(), spool.size_bytes()) == (0, 0)
    assert _segments(spool) == []


def test_a_second_spool_object_reads_what_the_first_wrote(make_spool: MakeSpool) -> None:
    make_spool().write(_batch(0, 10))
    segment = make_spool().claim()
    assert segment is not None and event_ids(segment.events) == event_ids(_batch(0, 10))


def test_empty_write_creates_nothing(make_spool: MakeSpool) -> None:
    spool = make_spool()
    assert spool.write([]).path is None
    assert spool.pending_segments() == 0


def test_release_gives_the_segment_back(make_spool: MakeSpool) -> None:
    spool = make_spool()
    spool.write(_batch(0, 2))
    spool.write(_batch(2, 2))
    first = spool.claim()
    assert first is not None
    second = spool.claim()  # the first is held, even within this process
    assert second is not None and second.path != first.path
    assert spool.claim() is None
    first.release()
    again = spool.claim()
    assert again is not None and again.path == first.path
    assert os.path.exists(first.path)
    with again:  # the context manager releases
        pass
    assert spool.claim() is not None


def test_a_segment_dropped_without_release_is_released(make_spool: MakeSpool) -> None:
    spool = make_spool()
    spool.write(_batch(0, 2))
    segment = spool.claim()
    assert segment is not None
    path = segment.path
    del segment
    gc.collect()
    again = spool.claim()
    assert again is not None and again.path == path


def test_threads_never_claim_the_same_segment(make_spool: MakeSpool) -> None:
    spool = make_spool()
    for i in range(200):
        spool.write(_batch(i * 3, 3))
    claimed: list[list[str]] = [[] for _ in range(8)]
    start = threading.Barrier(8)

    def drain(slot: int) -> None:
        own = make_spool()  # separate Spool objects share the process-wide claims
        start.wait()
        while (segment := own.claim()) is not None:
            claimed[slot].extend(event_ids(segment.events))
            segment.delete()

    threads = [threading.Thread(target=drain, args=(slot,)) for slot in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    everything = [eid for ids in claimed for eid in ids]
    assert len(everything) == len(set(everything)) == 600
    assert set(everything) == set(event_ids(_batch(0, 600)))


def test_files_are_0600_and_directories_0700_whatever_the_umask(spool_dir: Path) -> None:
    previous = os.umask(0)
    try:
        spool = Spool(spool_dir, NAMESPACE, 1_000_000)
        path = spool.write(_batch(0, 3)).path
    finally:
        os.umask(previous)
    assert path is not None
    assert stat.S_IMODE(os.stat(spool_dir).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(spool.path).st_mode) == 0o700
    for name in os.listdir(spool.path):
        assert stat.S_IMODE(os.stat(os.path.join(spool.path, name)).st_mode) == 0o600, name


def test_namespace_reveals_neither_the_key_nor_a_plain_hash_of_it(
    make_spool: MakeSpool, spool_dir: Path
) -> None:
    key, url = "priv_live_4f9a1c2e7b3d5a6f", "https://api.ripples.sh"
    name = spool_namespace(url, key)
    assert len(name) == 32 and int(name, 16) >= 0
    assert spool_namespace(url + "/", key) == name
    assert spool_namespace(url, key + "x") != name
    assert spool_namespace("https://eu.ripples.sh", key) != name
    for material in (key, key + url, f"{key}\n{url}", url + key):
        for algorithm in ("md5", "sha1", "sha256", "sha512", "blake2b"):
            digest = hashlib.new(algorithm, material.encode()).hexdigest()
            assert digest[:16] not in name and name[:16] not in digest
    assert key not in name and key[5:] not in name

    spool = Spool(spool_dir, name, 1_000_000)
    spool.write(_batch(0, 5))
    for root, dirs, files in os.walk(spool_dir):
        assert all(key not in part for part in (root, *dirs, *files))
        for file in files:
            assert key.encode() not in Path(root, file).read_bytes()


def test_max_bytes_drops_the_oldest_segments_and_counts_them(make_spool: MakeSpool) -> None:
    one = len(encode_segment(_batch(0, 10)))
    spool = make_spool(max_bytes=3 * one + one // 2)  # room for three segments of ten
    results = [spool.write(_batch(i * 10, 10)) for i in range(5)]
    assert [r.evicted_events for r in results] == [0, 0, 0, 10, 10]
    assert all(r.written_events == 10 and r.rejected_events == 0 for r in results)
    assert spool.size_bytes() <= spool.max_bytes
    left = []
    while (segment := spool.claim()) is not None:
        left.extend(event_ids(segment.events))
        segment.delete()
    assert left == event_ids(_batch(20, 30))  # the newest three segments, oldest first


def test_a_batch_larger_than_the_spool_keeps_its_newest_events(make_spool: MakeSpool) -> None:
    batch = _batch(0, 50)
    room = HEADER_SIZE + sum(record_size(e) for e in batch[-10:])
    spool = make_spool(max_bytes=room)
    spool.write(_batch(100, 5))
    result = spool.write(deque(batch))  # the sender's buffer is a deque
    assert (result.written_events, result.rejected_events, result.evicted_events) == (10, 40, 5)
    assert result.dropped_events == 45
    segment = spool.claim()
    assert segment is not None and segment.events == batch[40:]
    assert spool.size_bytes() <= room


def test_a_spool_too_small_for_one_event_writes_nothing(make_spool: MakeSpool) -> None:
    spool = make_spool(max_bytes=HEADER_SIZE + 10)
    result = spool.write(_batch(0, 3))
    assert (result.written_events, result.rejected_events, result.path) == (0, 3, None)
    assert spool.pending_segments() == 0


def test_eviction_skips_a_held_segment(make_spool: MakeSpool) -> None:
    one = len(encode_segment(_batch(0, 10)))
    spool = make_spool(max_bytes=2 * one)
    spool.write(_batch(0, 10))
    spool.write(_batch(10, 10))
    held = spool.claim()  # being sent right now: must not vanish under the sender
    assert held is not None and held.events == _batch(0, 10)
    result = spool.write(_batch(20, 10))
    assert (result.evicted_events, result.written_events) == (10, 10)
    assert os.path.exists(held.path)
    held.release()
    remaining = []
    while (segment := spool.claim()) is not None:
        remaining.extend(event_ids(segment.events))
        segment.delete()
    assert remaining == event_ids(_batch(0, 10) + _batch(20, 10))


def test_a_path_under_a_file_is_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    with pytest.raises(SpoolUnavailable, match="cannot create"):
        Spool(blocker / "spool", NAMESPACE, 1_000_000)
    (tmp_path / "spool").mkdir()
    (tmp_path / "spool" / NAMESPACE).write_text("")
    with pytest.raises(SpoolUnavailable, match="not a directory"):
        Spool(tmp_path / "spool", NAMESPACE, 1_000_000)


def test_a_read_only_directory_is_unavailable(
    tmp_path: Path, run_child: Callable[..., dict[str, Any]]
) -> None:
    readonly = tmp_path / "readonly"
    readonly.mkdir()
    readonly.chmod(0o555)
    assert "cannot create" in run_child("open", readonly / "spool", NAMESPACE)["error"]
    assert "cannot create" in run_child("open", readonly, NAMESPACE)["error"]
    existing = tmp_path / "existing"
    Spool(existing, NAMESPACE, 1_000_000)
    (existing / NAMESPACE).chmod(0o500)
    assert "cannot write" in run_child("open", existing, NAMESPACE)["error"]


def test_a_full_disk_is_unavailable_and_leaves_nothing_behind(
    spool_dir: Path, run_child: Callable[..., dict[str, Any]]
) -> None:
    # RLIMIT_FSIZE makes the write fail the way a full disk does, part-way through.
    report = run_child("write", spool_dir, NAMESPACE, 10_000_000, 500, 4096)
    assert "cannot write" in report["error"]
    assert report["files"] == [".lock"]  # no segment, no temp file
    assert run_child("write", spool_dir, NAMESPACE, 10_000_000, 500) == {
        "error": None,
        "written": 500,
    }


def test_a_directory_removed_while_running_is_created_again(make_spool: MakeSpool) -> None:
    spool = make_spool()
    os.rmdir(spool.path)
    assert spool.write(_batch(0, 2)).written_events == 2
    segment = spool.claim()
    assert segment is not None and segment.events == _batch(0, 2)


def test_temp_files_of_dead_writers_are_swept_and_never_claimed(
    make_spool: MakeSpool, spool_dir: Path
) -> None:
    spool = make_spool()
    hour_ago = time.time() - 3700
    dead = os.path.join(spool.path, ".tmp-999999999-0-aaaaaa")  # no such pid
    recent_dead = os.path.join(spool.path, ".tmp-999999999-1-bbbbbb")
    live = os.path.join(spool.path, f".tmp-{os.getpid()}-2-cccccc")
    for path in (dead, recent_dead, live):
        Path(path).write_bytes(encode_segment(_batch(0, 3)))
    os.utime(dead, (hour_ago + 3000, hour_ago + 3000))  # 700 s old
    os.utime(live, (hour_ago + 3000, hour_ago + 3000))
    assert spool.claim() is None  # a temp file is never a segment
    make_spool()  # opening sweeps
    assert sorted(os.listdir(spool.path)) == sorted(
        [os.path.basename(recent_dead), os.path.basename(live)]
    )
    os.utime(live, (hour_ago, hour_ago))  # no write takes an hour, live pid or not
    make_spool()
    assert os.listdir(spool.path) == [os.path.basename(recent_dead)]


def test_segments_from_a_newer_format_are_left_alone(make_spool: MakeSpool) -> None:
    spool = make_spool()
    path = spool.write(_batch(0, 2)).path
    assert path is not None
    data = Path(path).read_bytes()
    body = b"ripples-spool\x00" + struct.pack(">HI", 2, 2)  # version 2, two events
    length = struct.pack(">I", len(body))
    crc = struct.pack(">I", zlib.crc32(body, zlib.crc32(length)))
    Path(path).write_bytes(b"\xffH" + length + crc + body + data[HEADER_SIZE:])
    assert spool.claim() is None
    assert os.path.exists(path)


def test_bad_arguments_are_value_errors(spool_dir: Path) -> None:
    for namespace in ("", ".", "..", "a/b"):
        with pytest.raises(ValueError, match="namespace"):
            Spool(spool_dir, namespace, 1000)
    with pytest.raises(ValueError, match="max_bytes"):
        Spool(spool_dir, NAMESPACE, 0)
