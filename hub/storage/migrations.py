"""Ordered schema migrations, applied at startup, so an upgrade never loses data.

Each step is plain SQL per dialect, frozen once released: a later change to the models is a new
step, never an edit of an old one. ``schema_version`` holds one row per applied step. A database
made before migrations existed (the hub of commit c33dc78 created its tables with Tortoise's
``generate_schemas``) has ``hosts`` but no ``schema_version``: it is recorded as version 1 and
brought forward from there. Its ``raw_blocks`` stay where they are; the compactor folds them into
chunks and rollups like any other closed window.

Why not aerich or Tortoise's own tool: both generate migrations from model diffs and need a
project-level config and migration folder per dialect; HostPulse has a handful of tables, two
dialects and wants the upgrade to run inside ``open_database`` for the hub and the CLI alike.

On PostgreSQL the whole run holds a transaction-scoped advisory lock, so hubs started together
migrate once; on SQLite the write transaction serialises them the same way.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

log = logging.getLogger(__name__)

#: pg advisory lock keys of HostPulse: 0x4850 is "HP".
MIGRATION_LOCK = 0x4850_0001

_TYPES = {
    "sqlite": {
        "pk": "INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL",
        "bigpk": "INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL",
        "json": "JSON",
        "blob": "BLOB",
        "double": "REAL",
        "without_rowid": "WITHOUT ROWID",
    },
    "postgres": {
        "pk": "SERIAL NOT NULL PRIMARY KEY",
        "bigpk": "BIGSERIAL NOT NULL PRIMARY KEY",
        "json": "JSONB",
        "blob": "BYTEA",
        "double": "DOUBLE PRECISION",
        "without_rowid": "",
    },
}


@dataclass(frozen=True, slots=True)
class Step:
    version: int
    name: str
    statements: tuple[str, ...]  # with {pk}, {bigpk}, {json}, {blob}, {double} per dialect


STEPS: tuple[Step, ...] = (
    Step(
        1,
        "hosts, tokens, series, raw blocks, batch keys (the schema of c33dc78)",
        (
            """CREATE TABLE IF NOT EXISTS "hosts" (
                "id" {pk},
                "name" VARCHAR(255) NOT NULL UNIQUE,
                "labels" {json} NOT NULL,
                "agent_version" VARCHAR(64) NOT NULL,
                "first_seen" BIGINT NOT NULL,
                "last_seen" BIGINT NOT NULL)""",
            """CREATE TABLE IF NOT EXISTS "agent_tokens" (
                "id" {pk},
                "token_hash" VARCHAR(64) NOT NULL UNIQUE,
                "created_at" BIGINT NOT NULL,
                "revoked_at" BIGINT,
                "host_id" INT NOT NULL REFERENCES "hosts" ("id") ON DELETE CASCADE)""",
            """CREATE TABLE IF NOT EXISTS "ingested_batches" (
                "id" {bigpk},
                "batch_id" VARCHAR(64) NOT NULL,
                "received_at" BIGINT NOT NULL,
                "samples" INT NOT NULL,
                "host_id" INT NOT NULL REFERENCES "hosts" ("id") ON DELETE CASCADE,
                CONSTRAINT "uid_ingested_ba_host_id_9949a5" UNIQUE ("host_id", "batch_id"))""",
            """CREATE TABLE IF NOT EXISTS "series" (
                "id" {pk},
                "metric" VARCHAR(200) NOT NULL,
                "labels" {json} NOT NULL,
                "labels_key" VARCHAR(2048) NOT NULL,
                "unit" VARCHAR(32) NOT NULL,
                "host_id" INT NOT NULL REFERENCES "hosts" ("id") ON DELETE CASCADE,
                CONSTRAINT "uid_series_host_id_1d49b0" UNIQUE ("host_id", "metric", "labels_key"))""",
            """CREATE TABLE IF NOT EXISTS "raw_blocks" (
                "id" {bigpk},
                "t_min" BIGINT NOT NULL,
                "t_max" BIGINT NOT NULL,
                "count" INT NOT NULL,
                "ts" {blob} NOT NULL,
                "values" {blob} NOT NULL,
                "series_id" INT NOT NULL REFERENCES "series" ("id") ON DELETE CASCADE)""",
            """CREATE INDEX IF NOT EXISTS "idx_raw_blocks_series__930c7f"
                ON "raw_blocks" ("series_id", "t_max")""",
        ),
    ),
    Step(
        2,
        "compressed chunks, 1-minute and 1-hour rollups",
        (
            """CREATE TABLE "chunks" (
                "id" {bigpk},
                "t_start" BIGINT NOT NULL,
                "t_end" BIGINT NOT NULL,
                "t_min" BIGINT NOT NULL,
                "t_max" BIGINT NOT NULL,
                "count" INT NOT NULL,
                "data" {blob} NOT NULL,
                "series_id" INT NOT NULL REFERENCES "series" ("id") ON DELETE CASCADE,
                CONSTRAINT "uid_chunks_series__e4385d" UNIQUE ("series_id", "t_start"))""",
            """CREATE TABLE "rollups_1m" (
                "id" {bigpk},
                "t_start" BIGINT NOT NULL,
                "t_end" BIGINT NOT NULL,
                "count" INT NOT NULL,
                "data" {blob} NOT NULL,
                "series_id" INT NOT NULL REFERENCES "series" ("id") ON DELETE CASCADE,
                CONSTRAINT "uid_rollups_1m_series__06a0d9" UNIQUE ("series_id", "t_start"))""",
            """CREATE TABLE "rollups_1h" (
                "id" {bigpk},
                "ts" BIGINT NOT NULL,
                "min" {double} NOT NULL,
                "max" {double} NOT NULL,
                "sum" {double} NOT NULL,
                "count" INT NOT NULL,
                "anomaly_count" INT NOT NULL DEFAULT 0,
                "series_id" INT NOT NULL REFERENCES "series" ("id") ON DELETE CASCADE,
                CONSTRAINT "uid_rollups_1h_series__69fd16" UNIQUE ("series_id", "ts"))""",
        ),
    ),
)

STEPS += (
    Step(
        3,
        "batch keys keyed by (host_id, batch_id), without a surrogate id",
        # A key per agent batch (one every 2 s per host) cost 0.53 B per sample on SQLite: a rowid
        # table plus a unique index repeating batch_id. One clustered b-tree halves it.
        (
            """CREATE TABLE "ingested_batches_v3" (
                "host_id" INT NOT NULL REFERENCES "hosts" ("id") ON DELETE CASCADE,
                "batch_id" VARCHAR(64) NOT NULL,
                "received_at" BIGINT NOT NULL,
                "samples" INT NOT NULL,
                PRIMARY KEY ("host_id", "batch_id")) {without_rowid}""",
            (
                'INSERT INTO "ingested_batches_v3" ("host_id", "batch_id", "received_at", "samples") '
                'SELECT "host_id", "batch_id", "received_at", "samples" FROM "ingested_batches"'
            ),
            'DROP TABLE "ingested_batches"',
            'ALTER TABLE "ingested_batches_v3" RENAME TO "ingested_batches"',
        ),
    ),
)

STEPS += (
    Step(
        4,
        "anomalies",
        (
            """CREATE TABLE "anomalies" (
                "id" {bigpk},
                "ts" BIGINT NOT NULL,
                "value" {double} NOT NULL,
                "score" {double} NOT NULL,
                "expected_low" {double} NOT NULL,
                "expected_high" {double} NOT NULL,
                "detector" VARCHAR(64) NOT NULL,
                "series_id" INT NOT NULL REFERENCES "series" ("id") ON DELETE CASCADE)""",
            'CREATE INDEX "idx_anomalies_series_ts" ON "anomalies" ("series_id", "ts")',
            'CREATE INDEX "idx_anomalies_ts" ON "anomalies" ("ts")',
        ),
    ),
)

STEPS += (
    Step(
        5,
        "detector state snapshots",
        (
            """CREATE TABLE "detector_state" (
                "series_id" INT NOT NULL PRIMARY KEY REFERENCES "series" ("id") ON DELETE CASCADE,
                "state" {blob} NOT NULL,
                "updated_at" BIGINT NOT NULL)""",
        ),
    ),
)

STEPS += (
    Step(
        6,
        "viewer tokens",
        (
            """CREATE TABLE "viewer_tokens" (
                "id" {pk},
                "name" VARCHAR(255) NOT NULL,
                "token_hash" VARCHAR(64) NOT NULL UNIQUE,
                "created_at" BIGINT NOT NULL,
                "revoked_at" BIGINT)""",
        ),
    ),
)

STEPS += (
    Step(
        7,
        "hosts: the agent's clock offset",
        (
            'ALTER TABLE "hosts" ADD COLUMN "clock_offset_ms" BIGINT',
            'ALTER TABLE "hosts" ADD COLUMN "clock_checked_at" BIGINT',
        ),
    ),
)

STEPS += (
    Step(
        8,
        "alert states, history and outbox (hostpulse.hub.alerts.models)",
        (
            """CREATE TABLE "alert_states" (
                "id" {pk},
                "rule" VARCHAR(200) NOT NULL,
                "host" VARCHAR(255) NOT NULL,
                "series_key" INT NOT NULL,
                "kind" VARCHAR(16) NOT NULL,
                "metric" VARCHAR(200) NOT NULL,
                "labels" {json} NOT NULL,
                "state" VARCHAR(16) NOT NULL,
                "severity" VARCHAR(16) NOT NULL,
                "value" {double},
                "since" BIGINT NOT NULL,
                "starts_at" BIGINT,
                "ends_at" BIGINT,
                "updated_at" BIGINT NOT NULL,
                CONSTRAINT "uid_alert_states_key" UNIQUE ("rule", "host", "series_key"))""",
            """CREATE TABLE "alert_history" (
                "id" {bigpk},
                "rule" VARCHAR(200) NOT NULL,
                "host" VARCHAR(255) NOT NULL,
                "series_key" INT NOT NULL,
                "kind" VARCHAR(16) NOT NULL,
                "metric" VARCHAR(200) NOT NULL,
                "labels" {json} NOT NULL,
                "previous" VARCHAR(16) NOT NULL,
                "state" VARCHAR(16) NOT NULL,
                "severity" VARCHAR(16) NOT NULL,
                "value" {double},
                "at" BIGINT NOT NULL,
                "starts_at" BIGINT,
                "ends_at" BIGINT)""",
            'CREATE INDEX "idx_alert_history_at" ON "alert_history" ("at")',
            """CREATE TABLE "alert_outbox" (
                "id" {bigpk},
                "notifier" VARCHAR(200) NOT NULL,
                "dedupe_key" VARCHAR(700) NOT NULL,
                "alert" {json} NOT NULL,
                "status" VARCHAR(16) NOT NULL,
                "attempts" INT NOT NULL DEFAULT 0,
                "created_at" BIGINT NOT NULL,
                "next_at" BIGINT NOT NULL,
                "sent_at" BIGINT,
                "last_error" VARCHAR(1000) NOT NULL DEFAULT '',
                CONSTRAINT "uid_alert_outbox_key" UNIQUE ("notifier", "dedupe_key"))""",
            'CREATE INDEX "idx_alert_outbox_due" ON "alert_outbox" ("status", "next_at")',
        ),
    ),
)

STEPS += (
    Step(
        9,
        "alert silences",
        (
            """CREATE TABLE "alert_silences" (
                "id" {pk},
                "rule" VARCHAR(200) NOT NULL DEFAULT '',
                "host" VARCHAR(255) NOT NULL DEFAULT '',
                "labels" {json} NOT NULL,
                "comment" VARCHAR(1000) NOT NULL DEFAULT '',
                "created_at" BIGINT NOT NULL,
                "ends_at" BIGINT NOT NULL)""",
        ),
    ),
)

STEPS += (
    Step(
        10,
        "alert acknowledgements",
        (
            # One row per acknowledged firing episode: (rule, host, series_key) and its starts_at,
            # so the next episode of the same instance is not acknowledged by it.
            """CREATE TABLE "alert_acks" (
                "id" {pk},
                "rule" VARCHAR(200) NOT NULL,
                "host" VARCHAR(255) NOT NULL,
                "series_key" INT NOT NULL,
                "starts_at" BIGINT NOT NULL,
                "comment" VARCHAR(1000) NOT NULL DEFAULT '',
                "created_at" BIGINT NOT NULL,
                "ends_at" BIGINT)""",
            'CREATE INDEX "idx_alert_acks_ends_at" ON "alert_acks" ("ends_at")',
        ),
    ),
)

LATEST = STEPS[-1].version


class SchemaTooNew(RuntimeError):
    """The database was migrated by a newer hub; this one would misread it."""


async def migrate(conn: BaseDBAsyncClient) -> list[int]:
    """Bring the database to :data:`LATEST`; returns the versions applied now (often none)."""
    dialect = conn.capabilities.dialect
    async with in_transaction(conn.connection_name) as tx:
        if dialect == "postgres":
            await tx.execute_query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK])
        # execute_query, never execute_script: sqlite3's executescript COMMITs first, which
        # would let half a step land.
        await tx.execute_query(
            'CREATE TABLE IF NOT EXISTS "schema_version" ("version" INT NOT NULL PRIMARY KEY, '
            '"name" VARCHAR(200) NOT NULL, "applied_at" BIGINT NOT NULL)'
        )
        _, rows = await tx.execute_query('SELECT "version" FROM "schema_version"')
        applied = {int(row["version"]) for row in rows}
        if not applied and await _table_exists(tx, dialect, "hosts"):
            log.info("database predates migrations: recording it as schema version 1")
            await _record(tx, dialect, STEPS[0])
            applied.add(STEPS[0].version)
        if applied and max(applied) > LATEST:
            raise SchemaTooNew(
                f"database schema version {max(applied)} is newer than this hub's {LATEST}: "
                "upgrade the hub"
            )
        done = []
        for step in STEPS:
            if step.version in applied:
                continue
            log.info("migrating database to schema version %d: %s", step.version, step.name)
            for statement in step.statements:
                await tx.execute_query(statement.format(**_TYPES[dialect]))
            await _record(tx, dialect, step)
            done.append(step.version)
    return done


async def _record(tx: BaseDBAsyncClient, dialect: str, step: Step) -> None:
    mark = "$1, $2, $3" if dialect == "postgres" else "?, ?, ?"
    await tx.execute_query(
        f'INSERT INTO "schema_version" ("version", "name", "applied_at") VALUES ({mark})',
        [step.version, step.name, int(time.time() * 1000)],
    )


async def _table_exists(tx: BaseDBAsyncClient, dialect: str, table: str) -> bool:
    if dialect == "postgres":
        _, rows = await tx.execute_query("SELECT to_regclass($1) IS NOT NULL AS found", [table])
        return bool(rows[0]["found"])
    _, rows = await tx.execute_query(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [table]
    )
    return bool(rows)
