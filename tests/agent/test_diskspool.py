from __future__ import annotations

from collections import deque
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hostpulse.agent.deliver.batch import Batch
from hostpulse.agent.deliver.diskspool import DiskSpool
from hostpulse.agent.stats import Stats


def b(i: int, size: int = 100) -> Batch:
    return Batch(f"id-{i:05d}", bytes([i % 251]) * size, samples=i % 7 + 1)


def drain(spool: DiskSpool) -> list[str]:
    ids = []
    while (head := spool.peek()) is not None:
        ids.append(head.batch_id)
        spool.ack()
    return ids


def test_batches_come_back_oldest_first_with_their_ids_and_bodies(tmp_path):
    spool = DiskSpool(tmp_path, 1_000_000, Stats())
    made = [b(i) for i in range(5)]
    for batch in made:
        spool.append(batch)
    assert len(spool) == 5
    assert spool.peek() == made[0] and spool.peek() == made[0]  # peek does not consume
    spool.ack()
    assert spool.peek() == made[1]


def test_the_spool_survives_a_restart_and_forgets_what_was_acknowledged(tmp_path):
    stats = Stats()
    spool = DiskSpool(tmp_path, 1_000_000, stats, segment_bytes=400)  # three records per segment
    for i in range(8):
        spool.append(b(i))
    spool.ack()
    spool.ack()
    spool.close()  # or a crash: appends are flushed each time
    reopened = DiskSpool(tmp_path, 1_000_000, stats, segment_bytes=400)
    assert len(reopened) == 6 and stats.spool_batches == 6 and stats.spool_bytes > 0
    reopened.append(b(8))
    assert drain(reopened) == [f"id-{i:05d}" for i in range(2, 9)]
    assert list(tmp_path.glob("*.seg")) == []
    assert stats.spool_bytes == 0


def test_a_record_cut_short_by_a_crash_is_cut_off_and_the_rest_kept(tmp_path):
    spool = DiskSpool(tmp_path, 1_000_000, Stats())
    for i in range(3):
        spool.append(b(i))
    (segment,) = tmp_path.glob("*.seg")
    data = segment.read_bytes()
    segment.write_bytes(data[:-10])  # the last append never finished
    reopened = DiskSpool(tmp_path, 1_000_000, Stats())
    assert len(reopened) == 2
    assert segment.stat().st_size < len(data) - 10  # truncated to whole records
    reopened.append(b(3))
    assert drain(reopened) == ["id-00000", "id-00001", "id-00003"]


def test_a_corrupted_record_ends_its_segment_and_later_segments_still_replay(tmp_path):
    spool = DiskSpool(tmp_path, 1_000_000, Stats(), segment_bytes=400)
    for i in range(6):
        spool.append(b(i))
    spool.close()
    first = min(tmp_path.glob("*.seg"))
    data = bytearray(first.read_bytes())
    data[len(data) // 2] ^= 0xFF  # a flipped bit in the second record
    first.write_bytes(bytes(data))
    assert drain(DiskSpool(tmp_path, 1_000_000, Stats(), segment_bytes=400)) == [
        "id-00000", "id-00003", "id-00004", "id-00005"
    ]


def test_when_full_the_oldest_are_dropped_and_counted(tmp_path):
    stats = Stats()
    record = 100 + 12 + 2 + 8 + 4  # body + frame + id length + id + samples
    spool = DiskSpool(tmp_path, 10 * record, stats, segment_bytes=3 * record)
    for i in range(25):
        spool.append(b(i))
    assert stats.spool_bytes <= 10 * record
    ids = drain(spool)
    assert ids == [f"id-{i:05d}" for i in range(25 - len(ids), 25)]  # the newest survive, in order
    assert stats.dropped["spool_full"] == sum(b(i).samples for i in range(25 - len(ids)))


def test_a_bound_smaller_than_a_segment_still_holds(tmp_path):
    stats = Stats()
    spool = DiskSpool(tmp_path, 300, stats, segment_bytes=10_000)
    for i in range(10):
        spool.append(b(i))
    assert drain(spool) == ["id-00008", "id-00009"]
    assert stats.dropped["spool_full"] == sum(b(i).samples for i in range(8))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(["append", "append", "ack", "reopen"]), max_size=60))
def test_the_spool_behaves_like_a_fifo_across_any_restarts(tmp_path_factory, operations):
    directory: Path = tmp_path_factory.mktemp("spool")
    model: deque[Batch] = deque()
    spool = DiskSpool(directory, 10_000_000, Stats(), segment_bytes=400)
    for n, operation in enumerate(operations):
        if operation == "append":
            batch = b(n, size=n * 7 % 90 + 1)
            spool.append(batch)
            model.append(batch)
        elif operation == "ack" and model:
            assert spool.peek() == model.popleft()
            spool.ack()
        elif operation == "reopen":
            spool.close()
            spool = DiskSpool(directory, 10_000_000, Stats(), segment_bytes=400)
        assert len(spool) == len(model)
    assert [spool.peek() for _ in range(1)] == [model[0] if model else None]
    assert drain(spool) == [batch.batch_id for batch in model]


def test_a_failing_disk_loses_that_batch_counted_and_the_spool_goes_on(tmp_path):
    stats = Stats()
    spool = DiskSpool(tmp_path, 1_000_000, stats)
    spool.append(b(0))

    class FullDisk:
        def write(self, data: bytes) -> int:
            raise OSError(28, "No space left on device")

        def close(self) -> None:
            pass

    spool._tail = FullDisk()  # type: ignore[assignment]
    spool.append(b(1))
    assert stats.dropped["spool_write_failed"] == b(1).samples
    assert stats.errors[("agent", "spool_write")] == 1
    spool.append(b(2))  # the disk has room again
    spool.close()
    assert drain(DiskSpool(tmp_path, 1_000_000, Stats())) == ["id-00000", "id-00002"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(["append", "append", "append", "ack", "reopen"]), max_size=80),
       st.integers(min_value=300, max_value=2000))
def test_a_full_spool_keeps_the_newest_in_order_within_its_bound(tmp_path_factory, operations, bound):
    directory: Path = tmp_path_factory.mktemp("spool")
    stats = Stats()
    model: deque[Batch] = deque()
    dropped = 0

    def spool_at(directory: Path) -> DiskSpool:
        return DiskSpool(directory, bound, stats, segment_bytes=bound // 3)

    spool = spool_at(directory)
    for n, operation in enumerate(operations):
        if operation == "append":
            batch = b(n, size=n * 13 % 120 + 1)
            spool.append(batch)
            model.append(batch)
        elif operation == "ack" and model:
            spool.ack()
            model.popleft()
        elif operation == "reopen":
            spool.close()
            spool = spool_at(directory)
        head = spool.peek()
        while model and model[0] != head:  # what the spool dropped is always the oldest
            dropped += model.popleft().samples
        assert len(spool) == len(model)
        assert stats.dropped["spool_full"] == dropped
        assert stats.spool_bytes <= bound or len(spool) == 1
    assert drain(spool) == [batch.batch_id for batch in model]
