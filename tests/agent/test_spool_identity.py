"""A spool holding an earlier identity's batches (host renamed, another agent's spool, another hub)
must not block the current host: they go to the dead-letter file with the reason, unsent."""

from __future__ import annotations

import json
import logging
import struct
import zlib
from pathlib import Path

import pytest

from hostpulse.agent.collect.point import CheckedSample
from hostpulse.agent.deliver.batch import Batch, Batcher
from hostpulse.agent.deliver.deadletter import DeadLetter
from hostpulse.agent.deliver.delivery import Delivery
from hostpulse.agent.deliver.diskspool import FRAME, MAGIC_V1, DiskSpool
from hostpulse.agent.deliver.refusals import RefusalLog
from hostpulse.agent.deliver.sender import Sender
from hostpulse.agent.deliver.spool import MemorySpool
from hostpulse.agent.secret import Secret
from hostpulse.agent.stats import Stats
from hostpulse.backoff import Backoff
from tests.agent.sink import Sink
from tests.agent.test_delivery import deliver_until


def _batches(host: str, count: int, hub: str = "") -> list[Batch]:
    points = [CheckedSample("test.seq", (), "", 1000 * i, float(i)) for i in range(2 * count)]
    return Batcher(host, max_samples=2, max_age=60, hub=hub).add(points)


def _delivery(sink: Sink, tmp_path: Path, stats: Stats) -> Delivery:
    return Delivery(
        Sender(sink.url, Secret(sink.token)), MemorySpool(10_000_000, stats),
        DeadLetter(tmp_path / "dead.jsonl"), stats, backoff=Backoff(base=0.05, cap=0.2),
        host="b", hub=sink.url + "/",
    )


def _dead(tmp_path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (tmp_path / "dead.jsonl").read_text().splitlines()]


async def test_old_hosts_batches_are_dead_lettered_unsent_and_the_new_host_delivers(
    sink: Sink, tmp_path: Path
) -> None:
    stats = Stats()
    delivery = _delivery(sink, tmp_path, stats)
    delivery.down = True  # the spool holds host a's batches from before the rename
    for batch in _batches("a", 3, sink.url):
        delivery.put(batch)
    for batch in _batches("b", 2, sink.url):
        delivery.put(batch)
    await deliver_until(delivery, lambda: stats.batches_sent == 2)
    assert stats.dead_lettered == 3 and delivery.pending() == 0 and stats.refused == {"foreign_host": 3}
    assert {request.payload["host"] for request in sink.requests} == {"b"}  # a's never went out
    lines = _dead(tmp_path)
    assert len(lines) == 3 and sum(int(line["samples"]) for line in lines) == 6  # type: ignore[call-overload]
    assert all(line["reason"] == "collected as host 'a', this agent is 'b'" for line in lines)


async def test_batches_collected_for_another_hub_are_dead_lettered_unsent(sink: Sink, tmp_path: Path) -> None:
    stats = Stats()
    delivery = _delivery(sink, tmp_path, stats)
    delivery.down = True
    for batch in _batches("b", 2, "http://old-hub:8080"):
        delivery.put(batch)
    for batch in _batches("b", 1, sink.url):
        delivery.put(batch)
    await deliver_until(delivery, lambda: stats.batches_sent == 1)
    assert stats.refused == {"foreign_hub": 2} and len(sink.requests) == 1
    assert _dead(tmp_path)[0]["reason"] == (
        f"collected for hub http://old-hub:8080, this agent now sends to {sink.url}"
    )


async def test_a_host_mismatch_answer_is_refused_for_good(sink: Sink, tmp_path: Path) -> None:
    # A batch of this very host that the hub still refuses as host_mismatch (the token is for
    # another host): no retry can pass, so it is dead-lettered and the next one goes out.
    stats = Stats()
    delivery = _delivery(sink, tmp_path, stats)
    for batch in _batches("b", 2, sink.url):
        delivery.put(batch)
    mismatch = {"error": {"code": "host_mismatch", "message": "this token belongs to host 'c'"}}
    sink.script.append((403, {}, mismatch))
    await deliver_until(delivery, lambda: stats.batches_sent == 1)
    assert stats.refused == {"host_mismatch": 1} and stats.dead_lettered == 1


def test_refusals_are_logged_with_counts_at_once_then_at_most_once_per_period(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    clock = [1000.0]
    monkeypatch.setattr("hostpulse.agent.deliver.refusals.time.monotonic", lambda: clock[0])
    stats = Stats()
    refusals = RefusalLog(stats, tmp_path / "dead.jsonl", every=60.0)
    batch = Batch("x", b"", 5)
    with caplog.at_level(logging.ERROR, "hostpulse.agent.delivery"):
        refusals.note(batch, "invalid_token", "401 invalid_token: revoked")  # logged at once
        for _ in range(999):
            clock[0] += 0.05
            refusals.note(batch, "invalid_token", "401 invalid_token: revoked")
        clock[0] += 20.0  # 70 s after the first line
        refusals.note(batch, "host_mismatch", "403 host_mismatch: x")
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 2
    assert lines[0].startswith("hub refused 1 batch(es) (5 samples) for good in the last 0s")
    assert lines[1].startswith("hub refused 1000 batch(es) (5000 samples) for good in the last 70s")
    assert "999 invalid_token: 401 invalid_token: revoked; 1 host_mismatch" in lines[1]
    assert stats.refused == {"invalid_token": 1000, "host_mismatch": 1}


def test_the_disk_spool_keeps_each_batchs_identity_and_reads_records_written_before(tmp_path: Path) -> None:
    spool = DiskSpool(tmp_path, 1_000_000, Stats())
    spool.append(Batch("new", b"body", 3, "web-1", "http://hub:8080"))
    spool.close()
    # a record as agents wrote them before identities were kept: id, samples, body
    payload = struct.pack(">H", 3) + b"old" + struct.pack(">I", 2) + b"old body"
    legacy = FRAME.pack(MAGIC_V1, len(payload), zlib.crc32(payload)) + payload
    [segment] = tmp_path.glob("*.seg")
    with segment.open("ab") as file:
        file.write(legacy)
    spool = DiskSpool(tmp_path, 1_000_000, Stats())
    assert spool.peek() == Batch("new", b"body", 3, "web-1", "http://hub:8080")
    spool.ack()
    assert spool.peek() == Batch("old", b"old body", 2)
