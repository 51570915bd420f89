"""The bytes of one spool segment: a header record, then one record per event.

Every record is framed the same way, all integers big-endian::

    magic (2 bytes) | length (u32) | crc32 (u32) | payload (length bytes)

The CRC-32 (``zlib.crc32``) covers the four length bytes and the payload, so a
damaged length is caught as surely as a damaged payload. Both magics start
with ``0xFF``, a byte that never occurs in UTF-8, so the JSON payload of an
event can never contain a magic and a reader that resynchronises on the next
magic after a bad record finds the next real record, not a false one.

- The **header record** (magic ``FF 48``, "H") opens the file. Its payload is
  ``b"ripples-spool\\0"``, the format version (u16, currently 1) and the number
  of event records written (u32). It has a fixed size, so the first event record
  is always at offset :data:`HEADER_SIZE` even when the header itself is damaged.
- Each **event record** (magic ``FF 45``, "E") holds one event exactly as it
  goes on the wire: a JSON object, UTF-8, already carrying its ``$event_id`` and
  ``$sent_at``.

:func:`decode_segment` returns every intact event and counts the damaged ones:
with an intact header, ``damaged`` is the announced count minus the intact
records (so a file cut at a record boundary is noticed too); without one, it is
the number of damaged stretches between intact records.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

FORMAT_VERSION = 1
HEADER_MAGIC = b"\xffH"
EVENT_MAGIC = b"\xffE"
_HEADER_TAG = b"ripples-spool\x00"
_FRAME = struct.Struct(">2sII")  # magic, length, crc32
_LENGTH = struct.Struct(">I")
_HEADER_BODY = struct.Struct(f">{len(_HEADER_TAG)}sHI")  # tag, version, event count

#: Bytes added to each event's payload by its record frame.
RECORD_OVERHEAD = _FRAME.size
#: Bytes of the header record, and so the offset of the first event record.
HEADER_SIZE = _FRAME.size + _HEADER_BODY.size


@dataclass(frozen=True)
class DecodedSegment:
    """What :func:`decode_segment` read from one file.

    ``version`` is ``None`` when the header record was damaged; ``announced`` is
    the event count the header promised (``None`` likewise).
    """

    events: list[bytes]
    damaged: int
    version: int | None
    announced: int | None


def _record(magic: bytes, payload: bytes) -> bytes:
    length = _LENGTH.pack(len(payload))
    crc = zlib.crc32(payload, zlib.crc32(length))
    return magic + length + _LENGTH.pack(crc) + payload


def record_size(payload: bytes) -> int:
    """Bytes one event takes in a segment: its payload plus the frame."""
    return RECORD_OVERHEAD + len(payload)


def encode_segment(events: Sequence[bytes]) -> bytes:
    """The complete file content for ``events``: header record, then one record each."""
    header = _HEADER_BODY.pack(_HEADER_TAG, FORMAT_VERSION, len(events))
    parts = [_record(HEADER_MAGIC, header)]
    parts.extend(_record(EVENT_MAGIC, payload) for payload in events)
    return b"".join(parts)


def _read_record(data: bytes, pos: int, magic: bytes) -> bytes | None:
    """The payload of an intact record with ``magic`` at ``pos``, else ``None``."""
    if len(data) - pos < _FRAME.size:
        return None
    found, length, crc = _FRAME.unpack_from(data, pos)
    start = pos + _FRAME.size
    if found != magic or length > len(data) - start:
        return None
    payload = data[start : start + length]
    if zlib.crc32(payload, zlib.crc32(_LENGTH.pack(length))) != crc:
        return None
    return payload


def read_header(data: bytes) -> tuple[int, int] | None:
    """``(version, announced event count)`` from the start of a file, or ``None`` if damaged."""
    payload = _read_record(data, 0, HEADER_MAGIC)
    if payload is None or len(payload) != _HEADER_BODY.size:
        return None
    tag, version, count = _HEADER_BODY.unpack(payload)
    if tag != _HEADER_TAG:
        return None
    return int(version), int(count)


def decode_segment(data: bytes) -> DecodedSegment:
    """Every intact event record of a segment, in order, and how many were damaged.

    Never raises on damaged input: a bad record is skipped by scanning forward
    to the next event magic, and each candidate is validated by its length and
    CRC before it is believed.
    """
    header = read_header(data)
    events: list[bytes] = []
    stretches = 0  # damaged stretches between intact records
    pos = HEADER_SIZE
    in_damage = False
    while pos < len(data):
        payload = _read_record(data, pos, EVENT_MAGIC)
        if payload is not None:
            events.append(payload)
            pos += _FRAME.size + len(payload)
            in_damage = False
            continue
        if not in_damage:
            stretches += 1
            in_damage = True
        pos = data.find(EVENT_MAGIC, pos + 1)
        if pos < 0:
            break
    if header is None:
        return DecodedSegment(events, stretches, None, None)
    version, announced = header
    return DecodedSegment(events, max(announced - len(events), 0), version, announced)
