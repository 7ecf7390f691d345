"""The one task that writes samples: group commit, and an acknowledgement only after the commit.

Every ingest request puts its batch on a bounded queue and awaits a future. The writer takes
everything pending, commits it in one transaction, then resolves each future. One fsync is shared
by all batches of a group, which is where the throughput comes from.

Back-pressure, per host: ingest asks ``check_room(host_id)`` before it reads the body, and the
writer answers 503 with Retry-After (``queue_full``)

* to every host once ``max_pending`` batches are queued or the batches not yet committed hold
  ``max_pending_samples`` samples: the hard bound on what waiting batches may hold in memory;
* below that, only to a host that already holds a batch not yet committed, when the oldest such
  batch has waited ``max_wait_s`` or they hold half of ``max_pending_samples``.

So the host that keeps the writer behind is the one told to back off, at once, instead of having
its requests held for seconds; a host with nothing queued still gets in. The first rule alone
(refuse whoever comes once the writer is 0.5 s behind) let one host posting 1,000-point batches
six at a time make every other host's one-point batches answer 503 (issue 18). An agent posts one
batch at a time, so an ordinary one holds nothing when it asks; the half of the samples kept for
such hosts is what a flood cannot take from them before the writer falls behind.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tortoise.transactions import in_transaction

from hostpulse.hub.storage.database import connection
from hostpulse.hub.storage.sql import placeholders
from hostpulse.hub.tasks import cancel

log = logging.getLogger(__name__)


class WriteRefused(Exception):
    """The writer could not take or store a batch; the agent should retry it after
    ``retry_after_s``. Storage knows nothing of HTTP: the API answers this 503 (hub/web/app.py).

    ``code``: ``queue_full``, ``shutting_down`` or ``storage_unavailable``."""

    def __init__(self, message: str, *, code: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.message, self.code, self.retry_after_s = message, code, retry_after_s


@dataclass(slots=True)
class SeriesBlock:
    series_id: int
    ts: np.ndarray  # int64 epoch ms, in the order received
    values: np.ndarray  # float64
    metric: str = ""  # picks the anomaly detector the first time the series is seen


@dataclass(slots=True)
class PendingBatch:
    host_id: int
    batch_id: str
    agent_version: str
    blocks: list[SeriesBlock]
    samples: int
    received_at: int
    #: Points the anomaly engine flagged, stored in the same transaction as the batch:
    #: ``(series_id, ts, value, score, expected_low, expected_high, detector)`` each.
    anomalies: list[tuple[int, int, float, float, float, float, str]] = field(default_factory=list)
    #: Set by the writer's ``score`` hook for the live frames: whatever it chooses to keep.
    scored: Any = None
    #: Resolved with True when the batch had already been committed (a retry), False when stored now.
    done: asyncio.Future[bool] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    #: When it was queued (time.monotonic()): its wait is what back-pressure bounds.
    queued: float = 0.0


@dataclass(slots=True)
class WriterStats:
    commits: int = 0
    batches: int = 0
    samples: int = 0
    last_commit_seconds: float = 0.0
    commit_seconds_total: float = 0.0  # with ``commits``, the mean commit latency over any window


Scorer = Callable[[list[PendingBatch]], Awaitable[None]]

#: The longest a batch should wait for its commit before the writer refuses new ones. A group
#: commit of a per-second fleet takes 5-60 ms and a closed loop of 5,000-sample batches ~0.3 s
#: (bench/hub_requests.py, bench/ingest_throughput.py), so only a writer that falls behind (or a
#: database that stalls) reaches it; the 256-batch bound alone let requests wait 5 s and more.
MAX_WAIT_S = 0.5
#: Samples that batches not yet committed may hold, from all hosts: four of the largest batch a
#: host may send (50,000 samples). ~3 MB of arrays, and about 0.5 s of the writer's work at the
#: ~430k samples/s it commits big batches at (docs/scaling.md), so it also bounds their wait.
MAX_PENDING_SAMPLES = 200_000


class Writer:
    def __init__(
        self,
        max_pending: int,
        score: Scorer | None = None,
        max_wait_s: float = MAX_WAIT_S,
        max_pending_samples: int = MAX_PENDING_SAMPLES,
    ) -> None:
        """``score`` runs on the new (not duplicate) batches of each group just before they are
        inserted: anomaly detection, once per group rather than once per request, so its numpy
        steps run over every series of the group at once; it fills ``anomalies`` and ``scored``.
        It is awaited, so that it can hand the event loop back between pieces of a big group."""
        self._score = score
        self.max_pending, self.max_wait_s = max_pending, max_wait_s
        self.max_pending_samples = max_pending_samples
        self._pending: deque[PendingBatch] = deque()
        #: Batches not yet committed (queued, or in the group being committed), by host id,
        #: and the samples they hold in all: what back-pressure weighs.
        self._held: dict[int, int] = {}
        self._held_samples = 0
        self._wake = asyncio.Event()  # set when a batch is queued
        self._idle = asyncio.Event()  # set when nothing is queued or being committed
        self._idle.set()
        #: When the oldest batch of the group being committed was queued; 0.0 between groups.
        self._committing_since = 0.0
        self._task: asyncio.Task[None] | None = None
        self.stats = WriterStats()

    @property
    def depth(self) -> int:
        return len(self._pending)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="hostpulse-writer")

    async def stop(self) -> None:
        """Commit what is queued, then stop."""
        if self._task is None:
            return
        await self._idle.wait()
        await cancel(self._task)
        self._task = None

    def check_room(self, host_id: int) -> None:
        """Raise WriteRefused (``queue_full``) when a batch of ``host_id`` should not be queued
        now (the rules are in this module's docstring)."""
        if len(self._pending) >= self.max_pending or self._held_samples >= self.max_pending_samples:
            raise WriteRefused(
                "the write queue is full; retry later", code="queue_full", retry_after_s=1
            )
        if host_id not in self._held:
            return
        # The group being committed is older than anything queued behind it.
        oldest = self._committing_since or (self._pending[0].queued if self._pending else 0.0)
        if oldest and time.monotonic() - oldest > self.max_wait_s:
            raise WriteRefused(
                f"the writer is {time.monotonic() - oldest:.1f} s behind and this host's earlier "
                "batches are not yet stored; retry later",
                code="queue_full",
                retry_after_s=1,
            )
        if 2 * self._held_samples >= self.max_pending_samples:
            raise WriteRefused(
                "the write queue is half full and this host's earlier batches are not yet "
                "stored; retry later",
                code="queue_full",
                retry_after_s=1,
            )

    async def submit(self, batch: PendingBatch) -> bool:
        """Queue ``batch`` and wait for its commit; True if it was a duplicate of a committed batch."""
        self.check_room(batch.host_id)
        batch.queued = time.monotonic()
        self._pending.append(batch)
        self._hold(batch)
        self._idle.clear()
        self._wake.set()
        # Shielded: a client that disconnects cancels its request, and a bare await would cancel
        # the future the writer is about to resolve. Its set_result then raised InvalidStateError
        # after the commit, and the except below answered the *next* batches of the group 503
        # "storage unavailable" although they were stored (issue 18, seen on PostgreSQL).
        batch.done.add_done_callback(_retrieve)
        return await asyncio.shield(batch.done)

    def _hold(self, batch: PendingBatch) -> None:
        """Count ``batch`` as its host's until its future resolves, whichever way."""
        host = batch.host_id
        self._held[host] = self._held.get(host, 0) + 1
        self._held_samples += batch.samples

        def release(_: asyncio.Future[bool]) -> None:
            self._held_samples -= batch.samples
            if self._held[host] == 1:
                del self._held[host]
            else:
                self._held[host] -= 1

        batch.done.add_done_callback(release)

    async def _run(self) -> None:
        while True:
            if not self._pending:
                self._idle.set()
                self._wake.clear()
                await self._wake.wait()
                continue
            group = list(self._pending)
            self._pending.clear()
            self._committing_since = group[0].queued
            try:
                await self._commit(group)
            except asyncio.CancelledError:
                group.extend(self._pending)  # queued meanwhile: refused too, none left waiting
                self._pending.clear()
                for batch in group:
                    if not batch.done.done():
                        batch.done.set_exception(
                            WriteRefused(
                                "the hub is shutting down",
                                code="shutting_down",
                                retry_after_s=1,
                            )
                        )
                raise
            except (
                Exception
            ) as exc:  # the database said no: every batch of the group is retried by its agent
                log.exception("commit of %d batches failed", len(group))
                for batch in group:
                    if not batch.done.done():
                        batch.done.set_exception(
                            WriteRefused(
                                f"storage unavailable: {exc.__class__.__name__}",
                                code="storage_unavailable",
                                retry_after_s=2,
                            )
                        )
            finally:
                self._committing_since = 0.0

    async def _commit(self, group: list[PendingBatch]) -> None:
        started = time.perf_counter()
        firsts: dict[tuple[int, str], PendingBatch] = {}
        for batch in group:  # a retry queued behind its own first attempt is a duplicate too
            firsts.setdefault((batch.host_id, batch.batch_id), batch)
        # Scored before the transaction opens: on SQLite every other query of the hub, /healthz's
        # SELECT 1 included, waits for an open transaction, so scoring inside it stalled them
        # all for as long as detection took (12 s for one series of 40,000 points, issue 18).
        # This writer is the only one that stores batch keys here, so what is not stored now is
        # what the claim below will own; only a second hub on the same PostgreSQL can claim one
        # in between, and that batch has then been scored here without being stored.
        stored = await _stored_keys(connection(), list(firsts))
        scored = [b for key, b in firsts.items() if key not in stored]
        if scored and self._score is not None:
            await self._score(scored)
        rows = await _block_rows(scored)
        async with in_transaction() as conn:
            dialect = conn.capabilities.dialect
            claimed = await _claim_keys(conn, dialect, list(firsts.values()))
            fresh = [b for key, b in firsts.items() if key in claimed]
            owners = {id(b) for b in fresh}
            duplicates = [b for b in group if id(b) not in owners]
            if fresh:
                packed = [rows.get(id(b)) or [_block_row(k) for k in b.blocks] for b in fresh]
                await _insert_blocks(conn, dialect, [row for mine in packed for row in mine])
                anomalies = [row for b in fresh for row in b.anomalies]
                if anomalies:
                    await conn.execute_many(
                        placeholders(
                            dialect,
                            "INSERT INTO anomalies (series_id, ts, value, score, expected_low, "
                            "expected_high, detector) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        ),
                        [list(row) for row in anomalies],
                    )
                await _touch_hosts(conn, dialect, fresh)
        elapsed = time.perf_counter() - started
        self.stats.commits += 1
        self.stats.batches += len(fresh)
        self.stats.samples += sum(b.samples for b in fresh)
        self.stats.last_commit_seconds = elapsed
        self.stats.commit_seconds_total += elapsed
        for batch in fresh:
            _resolve(batch, False)
        for batch in duplicates:
            _resolve(batch, True)

    async def committed(self, host_id: int, batch_id: str) -> bool:
        """Whether this host's ``batch_id`` is already stored: a reused id must change nothing,
        so ingest asks before it creates a series or changes a unit for it."""
        return bool(await _stored_keys(connection(), [(host_id, batch_id)]))


def _resolve(batch: PendingBatch, duplicate: bool) -> None:
    if not batch.done.done():
        batch.done.set_result(duplicate)


def _retrieve(future: asyncio.Future[bool]) -> None:
    """Mark an error as seen: nobody awaits the future of a request whose client has gone."""
    if not future.cancelled():
        future.exception()


BLOCK_COLUMNS = ("series_id", "t_min", "t_max", "count", "ts", "values")


async def _insert_blocks(conn: Any, dialect: str, rows: list[list[object]]) -> None:
    """On PostgreSQL, COPY on the transaction's own asyncpg connection: 1.5-2x the rows/s of
    execute_many (measured at 5,000 rows a call: COPY 73-89k rows/s, execute_many 42-59k);
    SQLite's executemany is already its fastest path."""
    if dialect == "postgres":
        await conn._connection.copy_records_to_table(
            "raw_blocks", records=rows, columns=BLOCK_COLUMNS
        )
        return
    await conn.execute_many(
        'INSERT INTO raw_blocks (series_id, t_min, t_max, count, ts, "values") '
        "VALUES (?, ?, ?, ?, ?, ?)",
        rows,
    )


#: Blocks packed between two turns of the event loop: 5,000 blocks took ~25 ms in one piece.
ROWS_PER_TURN = 500


async def _block_rows(batches: list[PendingBatch]) -> dict[int, list[list[object]]]:
    """Each batch's raw_blocks rows, by ``id(batch)``: packed before the transaction opens (on
    SQLite nothing else reaches the database while it is open), a few hundred at a time."""
    rows: dict[int, list[list[object]]] = {}
    packed = 0
    for batch in batches:
        mine: list[list[object]] = []
        rows[id(batch)] = mine
        for block in batch.blocks:
            mine.append(_block_row(block))
            packed += 1
            if packed % ROWS_PER_TURN == 0:
                await asyncio.sleep(0)
    return rows


def _block_row(block: SeriesBlock) -> list[object]:
    ts = np.ascontiguousarray(block.ts, dtype="<i8")
    values = np.ascontiguousarray(block.values, dtype="<f8")
    # A per-second agent sends one point per series per batch: skip numpy's reductions for it.
    t_min, t_max = (int(ts[0]),) * 2 if ts.size == 1 else (int(ts.min()), int(ts.max()))
    return [
        block.series_id,
        t_min,
        t_max,
        int(ts.size),
        ts.tobytes(),
        values.tobytes(),
    ]


CLAIM_ROWS = 500  # 4 parameters a row, well under either driver's limit per statement


async def _claim_keys(
    conn: Any, dialect: str, batches: list[PendingBatch]
) -> set[tuple[int, str]]:
    """Insert the batches' keys, skipping those already stored; returns the keys this commit owns.

    ON CONFLICT DO NOTHING rather than SELECT-then-INSERT: two hubs committing the same retried
    batch at once on one PostgreSQL used to fail one whole group with a unique violation (a
    spurious 503 for every batch in it); now the second waits on the first's row and skips it."""
    claimed: set[tuple[int, str]] = set()
    for start in range(0, len(batches), CLAIM_ROWS):
        chunk = batches[start : start + CLAIM_ROWS]
        rows = await conn.execute_query_dict(
            placeholders(
                dialect,
                "INSERT INTO ingested_batches (host_id, batch_id, received_at, samples) VALUES "
                + ", ".join(["(?, ?, ?, ?)"] * len(chunk))
                + " ON CONFLICT (host_id, batch_id) DO NOTHING RETURNING host_id, batch_id",
            ),
            [v for b in chunk for v in (b.host_id, b.batch_id, b.received_at, b.samples)],
        )
        claimed.update((row["host_id"], row["batch_id"]) for row in rows)
    return claimed


async def _stored_keys(conn: Any, keys: list[tuple[int, str]]) -> set[tuple[int, str]]:
    """Which of ``keys`` (host id, batch id) are stored already, a few hundred per query."""
    stored: set[tuple[int, str]] = set()
    for start in range(0, len(keys), CLAIM_ROWS):
        chunk = keys[start : start + CLAIM_ROWS]
        wanted = set(chunk)
        rows = await conn.execute_query_dict(
            placeholders(
                conn.capabilities.dialect,
                "SELECT host_id, batch_id FROM ingested_batches WHERE batch_id IN ("
                + ", ".join("?" * len(chunk))
                + ")",
            ),
            [batch_id for _, batch_id in chunk],
        )
        stored.update(
            key for key in ((row["host_id"], row["batch_id"]) for row in rows) if key in wanted
        )
    return stored


async def _touch_hosts(conn: Any, dialect: str, batches: list[PendingBatch]) -> None:
    latest: dict[int, tuple[int, str]] = {}
    for b in batches:
        latest[b.host_id] = (max(b.received_at, latest.get(b.host_id, (0, ""))[0]), b.agent_version)
    await conn.execute_many(
        placeholders(
            dialect,
            "UPDATE hosts SET last_seen = ?, agent_version = ?, "
            "first_seen = CASE WHEN first_seen = 0 THEN ? ELSE first_seen END WHERE id = ?",
        ),
        [[seen, version, seen, host_id] for host_id, (seen, version) in latest.items()],
    )
