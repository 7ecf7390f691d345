"""The disk spool: batches waiting for the hub, kept in append-only segment files.

Layout of ``<state_dir>/spool/``::

    0000000000000007.seg   segments, oldest first; only the newest is appended to
    0000000000000008.seg
    cursor                 "<segment> <offset>": everything before it has been acknowledged

Each record is framed as ``b"HPS2" | length (u32) | crc32 (u32) | payload`` where the payload is
``id length (u16) | batch id | samples (u32) | host length (u16) | host | hub length (u16) | hub URL |
gzipped body``: the identity the batch was collected under is kept with it. ``HPS1`` records (no
identity: written before it was kept) are still read, with host and hub unknown. At start every segment is scanned;
a record whose frame or checksum does not hold (an append cut short by a crash or a full disk)
ends its segment, which is truncated there, so the spool is always a run of whole batches.

Bounded in bytes: when an append passes ``max_bytes`` the oldest batches are dropped — a whole
segment at a time when possible — and counted in ``agent.dropped{reason="spool_full"}``.
Appends are flushed to the kernel (they survive the agent crashing or being killed); they are not
fsync'ed one by one, so a power cut may cost the last seconds — the segment is fsync'ed when closed.
"""

from __future__ import annotations

import logging
import os
import struct
import zlib
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from hostpulse.agent.deliver.batch import Batch
from hostpulse.agent.stats import Stats

log = logging.getLogger("hostpulse.agent.spool")

MAGIC = b"HPS2"
#: The record of earlier agents, without the identity; read, never written.
MAGIC_V1 = b"HPS1"
FRAME = struct.Struct(">4sII")
MAX_RECORD = 64 * 1024 * 1024


@dataclass
class Record:
    offset: int
    size: int  # frame included
    samples: int


@dataclass
class Segment:
    seq: int
    path: Path
    records: deque[Record] = field(default_factory=deque)
    end: int = 0  # bytes of whole records in the file

    def pending_bytes(self) -> int:
        return sum(record.size for record in self.records)


def _short(text: str) -> bytes:
    data = text.encode()
    return struct.pack(">H", len(data)) + data


def _read_short(payload: bytes, offset: int) -> tuple[str, int]:
    (length,) = struct.unpack_from(">H", payload, offset)
    end = offset + 2 + length
    if end > len(payload):
        raise struct.error("string runs past the record")
    return payload[offset + 2 : end].decode(), end


def encode(batch: Batch) -> bytes:
    payload = (
        _short(batch.batch_id) + struct.pack(">I", batch.samples) + _short(batch.host) + _short(batch.hub)
        + batch.body
    )
    return FRAME.pack(MAGIC, len(payload), zlib.crc32(payload)) + payload


def decode(payload: bytes, magic: bytes = MAGIC) -> Batch:
    batch_id, offset = _read_short(payload, 0)
    (samples,) = struct.unpack_from(">I", payload, offset)
    offset += 4
    if magic == MAGIC_V1:
        return Batch(batch_id, payload[offset:], samples)
    host, offset = _read_short(payload, offset)
    hub, offset = _read_short(payload, offset)
    return Batch(batch_id, payload[offset:], samples, host, hub)


def scan(path: Path) -> tuple[list[tuple[Record, Batch]], int]:
    """Whole, intact records of a segment file and the offset where they end."""
    data = path.read_bytes()
    found: list[tuple[Record, Batch]] = []
    offset = 0
    while offset + FRAME.size <= len(data):
        magic, length, crc = FRAME.unpack_from(data, offset)
        start, stop = offset + FRAME.size, offset + FRAME.size + length
        if magic not in (MAGIC, MAGIC_V1) or length > MAX_RECORD or stop > len(data):
            break
        payload = data[start:stop]
        if zlib.crc32(payload) != crc:
            break
        try:
            batch = decode(payload, magic)
        except (struct.error, UnicodeDecodeError):
            break
        found.append((Record(offset, stop - offset, batch.samples), batch))
        offset = stop
    return found, offset


class DiskSpool:
    """A FIFO of batches on disk that survives restarts; see the module docstring."""

    def __init__(self, directory: Path, max_bytes: int, stats: Stats, *, segment_bytes: int | None = None) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes or min(max(max_bytes // 16, 64 * 1024), 8 * 1024 * 1024)
        self.stats = stats
        directory.mkdir(parents=True, exist_ok=True)
        self._cursor_path = directory / "cursor"
        self._segments: deque[Segment] = deque()
        self._tail: BinaryIO | None = None
        self._head: Batch | None = None
        self._bytes = 0
        self._count = 0
        self._next_seq = 1
        self._open()

    # -- start-up --------------------------------------------------------------------------------

    def _read_cursor(self) -> tuple[int, int]:
        try:
            seq, offset = self._cursor_path.read_text().split()
            return int(seq), int(offset)
        except (OSError, ValueError):
            return 0, 0

    def _open(self) -> None:
        cursor_seq, cursor_offset = self._read_cursor()
        self._next_seq = cursor_seq + 1
        for path in sorted(self.directory.glob("*.seg")):
            try:
                seq = int(path.stem)
            except ValueError:
                continue
            self._next_seq = max(self._next_seq, seq + 1)
            if seq < cursor_seq:  # fully acknowledged before a crash removed it
                path.unlink(missing_ok=True)
                continue
            found, end = scan(path)
            if end < path.stat().st_size:
                log.warning("spool segment %s: %d damaged byte(s) at the end cut off", path, path.stat().st_size - end)
                with path.open("r+b") as file:
                    file.truncate(end)
            segment = Segment(seq, path, end=end)
            for record, _ in found:
                if seq == cursor_seq and record.offset < cursor_offset:
                    continue
                segment.records.append(record)
            if segment.records:
                self._segments.append(segment)
            else:
                path.unlink(missing_ok=True)
        self._bytes = sum(segment.pending_bytes() for segment in self._segments)
        self._count = sum(len(segment.records) for segment in self._segments)
        if self._count:
            log.info("spool holds %d batch(es), %d bytes, from before the restart", self._count, self._bytes)
        self._publish()

    # -- the FIFO --------------------------------------------------------------------------------

    def __len__(self) -> int:
        return self._count

    def append(self, batch: Batch) -> None:
        """Write ``batch`` at the end; drop the oldest batches if that passes ``max_bytes``."""
        record = encode(batch)
        tail = self._segments[-1] if self._segments else None
        try:
            if tail is None or self._tail is None or tail.end + len(record) > self.segment_bytes:
                tail = self._new_segment()
            assert self._tail is not None
            self._tail.write(record)
            self._tail.flush()
        except OSError as exc:  # a full or failing disk: count the loss, keep the agent running
            self.stats.error("agent", "spool_write", "could not write to the spool: %s", exc)
            self.stats.drop("spool_write_failed", batch.samples)
            self._recover_tail()
            return
        tail.records.append(Record(tail.end, len(record), batch.samples))
        tail.end += len(record)
        self._bytes += len(record)
        self._count += 1
        self._enforce_bound()
        self._publish()

    def _recover_tail(self) -> None:
        """After a failed write, cut the tail segment back to its last whole record."""
        if self._tail is None or not self._segments:
            return
        try:
            self._tail.close()
            with self._segments[-1].path.open("r+b") as file:
                file.truncate(self._segments[-1].end)
        except OSError:
            pass  # the scan at the next start cuts off whatever is torn
        self._tail = None

    def _new_segment(self) -> Segment:
        self._close_tail()
        segment = Segment(self._next_seq, self.directory / f"{self._next_seq:016d}.seg")
        self._next_seq += 1
        self._tail = segment.path.open("ab")
        self._segments.append(segment)
        return segment

    def _close_tail(self) -> None:
        if self._tail is not None:
            self._tail.flush()
            os.fsync(self._tail.fileno())
            self._tail.close()
            self._tail = None

    def _enforce_bound(self) -> None:
        while self._bytes > self.max_bytes and self._count > 1:
            head = self._segments[0]
            if len(self._segments) > 1:  # drop the whole oldest segment
                self._drop(head.records)
                self._segments.popleft()
                head.path.unlink(missing_ok=True)
            else:  # a single segment: drop its oldest batch
                self._drop([head.records[0]])
                self._remove_head_record()

    def _drop(self, records: deque[Record] | list[Record]) -> None:
        self._head = None
        self.stats.drop("spool_full", sum(record.samples for record in records))
        self._bytes -= sum(record.size for record in records)
        self._count -= len(records)

    def peek(self) -> Batch | None:
        """The oldest batch, read from disk (and kept until acknowledged)."""
        if not self._count:
            return None
        if self._head is None:
            segment = self._segments[0]
            record = segment.records[0]
            if self._tail is not None:
                self._tail.flush()
            with segment.path.open("rb") as file:
                file.seek(record.offset)
                magic = file.read(len(MAGIC))
                file.seek(record.offset + FRAME.size)
                self._head = decode(file.read(record.size - FRAME.size), magic)
        return self._head

    def ack(self) -> None:
        """The oldest batch reached the hub: forget it, durably."""
        record = self._segments[0].records[0]
        self._bytes -= record.size
        self._count -= 1
        self._head = None
        self._remove_head_record()
        self._publish()

    def _remove_head_record(self) -> None:
        segment = self._segments[0]
        record = segment.records.popleft()
        self._write_cursor(segment.seq, record.offset + record.size)
        if not segment.records:
            if len(self._segments) == 1:
                self._close_tail()
            self._segments.popleft()
            segment.path.unlink(missing_ok=True)

    def _write_cursor(self, seq: int, offset: int) -> None:
        temporary = self._cursor_path.with_suffix(".tmp")
        try:
            temporary.write_text(f"{seq} {offset}\n")
            os.replace(temporary, self._cursor_path)
        except OSError as exc:  # at worst, acknowledged batches are resent after a restart
            log.warning("could not record the spool position: %s", exc)

    def _publish(self) -> None:
        self.stats.spool_bytes = self._bytes
        self.stats.spool_batches = self._count

    def close(self) -> None:
        self._close_tail()
