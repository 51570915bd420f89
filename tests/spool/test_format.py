"""Damaged segments lose only the damaged records: truncation, flipped bytes, a broken header."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from ripples._spool import Spool
from ripples._spool_format import (
    HEADER_SIZE,
    RECORD_OVERHEAD,
    decode_segment,
    encode_segment,
    read_header,
)

from .conftest import event

EVENTS = [event(i, size=120 + 40 * i) for i in range(5)]


def _offset(index: int) -> int:
    """Where the record of ``EVENTS[index]`` starts."""
    return HEADER_SIZE + sum(RECORD_OVERHEAD + len(e) for e in EVENTS[:index])


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x5A]) + data[at + 1 :]


def test_intact_segment() -> None:
    decoded = decode_segment(encode_segment(EVENTS))
    assert (decoded.events, decoded.damaged, decoded.version, decoded.announced) == (
        EVENTS,
        0,
        1,
        5,
    )


def test_non_ascii_payloads_round_trip() -> None:
    events = ['{"name":"Zoë ✓ 東京","$event_id":"e1"}'.encode(), b"{}"]
    assert decode_segment(encode_segment(events)).events == events


def test_truncated_mid_record_keeps_the_records_before_it() -> None:
    data = encode_segment(EVENTS)
    decoded = decode_segment(data[: _offset(2) + RECORD_OVERHEAD + 7])
    assert decoded.events == EVENTS[:2]
    assert decoded.damaged == 3  # the cut record and the two after it, per the header


def test_truncated_at_a_record_boundary_is_still_noticed() -> None:
    decoded = decode_segment(encode_segment(EVENTS)[: _offset(4)])
    assert (decoded.events, decoded.damaged) == (EVENTS[:4], 1)


def test_a_flipped_payload_byte_loses_only_that_record() -> None:
    data = _flip(encode_segment(EVENTS), _offset(2) + RECORD_OVERHEAD + 30)
    decoded = decode_segment(data)
    assert decoded.events == EVENTS[:2] + EVENTS[3:]
    assert decoded.damaged == 1


def test_a_flipped_length_byte_loses_only_that_record() -> None:
    for at in (2, 5):  # the high byte (length runs past the end) and the low byte of the length
        decoded = decode_segment(_flip(encode_segment(EVENTS), _offset(1) + at))
        assert (decoded.events, decoded.damaged) == ([EVENTS[0], *EVENTS[2:]], 1), at


def test_a_flipped_magic_or_crc_loses_only_that_record() -> None:
    for at in (0, 1, 6, 9):
        decoded = decode_segment(_flip(encode_segment(EVENTS), _offset(3) + at))
        assert (decoded.events, decoded.damaged) == (EVENTS[:3] + EVENTS[4:], 1), at


def test_two_damaged_records_far_apart() -> None:
    data = encode_segment(EVENTS)
    data = _flip(_flip(data, _offset(0) + 20), _offset(3) + 20)
    decoded = decode_segment(data)
    assert (decoded.events, decoded.damaged) == ([EVENTS[1], EVENTS[2], EVENTS[4]], 2)


def test_a_damaged_header_costs_no_event() -> None:
    data = _flip(encode_segment(EVENTS), 12)
    assert read_header(data) is None
    decoded = decode_segment(data)
    assert (decoded.events, decoded.damaged, decoded.version) == (EVENTS, 0, None)
    decoded = decode_segment(_flip(data, _offset(1) + 20))  # without the header, stretches count
    assert (decoded.events, decoded.damaged) == ([EVENTS[0], *EVENTS[2:]], 1)


def test_garbage_and_empty_files_decode_to_nothing() -> None:
    assert decode_segment(b"").events == []
    decoded = decode_segment(os.urandom(4096).replace(b"\xff", b"\x00"))
    assert decoded.events == [] and decoded.version is None


def test_a_damaged_segment_on_disk_delivers_the_rest(
    make_spool: Callable[..., Spool], spool_dir: Path
) -> None:
    spool = make_spool()
    cut = spool.write(EVENTS).path
    flipped = spool.write(EVENTS).path
    assert cut is not None and flipped is not None
    data = Path(cut).read_bytes()
    Path(cut).write_bytes(data[: _offset(3) + 4])
    Path(flipped).write_bytes(_flip(data, _offset(1) + RECORD_OVERHEAD + 3))

    assert spool.pending_events() == 10  # as the headers announce
    Path(flipped).write_bytes(_flip(Path(flipped).read_bytes(), 12))  # and a damaged header
    assert spool.pending_events() == 9  # counted from the intact records instead

    first = spool.claim()
    assert first is not None and first.path == cut
    assert (first.events, first.damaged) == (EVENTS[:3], 2)
    second = spool.claim()
    assert second is not None and second.path == flipped
    assert (second.events, second.damaged) == ([EVENTS[0], *EVENTS[2:]], 1)
    first.delete()
    second.delete()
    assert spool.pending_segments() == 0
