"""Migrations: a database made by the hub of commit c33dc78 is upgraded without losing a point."""

from __future__ import annotations

import numpy as np
import pytest
from tortoise import Tortoise

from hostpulse.hub.auth.agent_tokens import create_token
from hostpulse.hub.auth.hashing import hash_token
from hostpulse.hub.auth.hosts import lookup_host
from hostpulse.hub.settings import Settings
from hostpulse.hub.storage import migrations
from hostpulse.hub.storage.compactor import Compactor
from hostpulse.hub.storage.database import (
    close_database,
    connection,
    open_database,
    tortoise_config,
)
from hostpulse.hub.storage.history import read_points
from hostpulse.hub.storage.sql import placeholders
from hostpulse.hub.storage.writer import SeriesBlock, _block_row
from tests.hub.storage.feed import T0, Feed

LEGACY = "tests.hub.storage.legacy_c33dc78_models"
H = 3_600_000


async def make_legacy_database(url: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """What a c33dc78 hub left behind: tables from generate_schemas, rows as its writer wrote them."""
    config = tortoise_config(url)
    config["apps"]["models"]["models"] = [LEGACY]
    await Tortoise.init(config=config, _enable_global_fallback=True)
    await Tortoise.generate_schemas(safe=True)
    conn = connection()
    def q(sql: str) -> str:
        return placeholders(conn.capabilities.dialect, sql)

    await conn.execute_query(
        q("INSERT INTO hosts (name, labels, agent_version, first_seen, last_seen) VALUES (?, ?, ?, ?, ?)"),
        ["old-1", "{}", "0.0.9", T0, T0],
    )
    stored = {}
    rng = np.random.default_rng(7)
    for sid, metric in enumerate(("cpu.percent", "mem.used"), start=1):
        await conn.execute_query(
            q("INSERT INTO series (host_id, metric, labels, labels_key, unit) VALUES (?, ?, ?, ?, ?)"),
            [1, metric, "{}", "{}", "%"],
        )
        ts = T0 + np.arange(3 * 3600, dtype=np.int64) * 1000
        values = np.round(rng.uniform(0, 100, ts.size), 2)
        stored[metric] = (ts, values)
        for lo in range(0, ts.size, 500):
            await conn.execute_query(
                q('INSERT INTO raw_blocks (series_id, t_min, t_max, count, ts, "values") VALUES (?, ?, ?, ?, ?, ?)'),
                _block_row(SeriesBlock(sid, ts[lo : lo + 500], values[lo : lo + 500])),
            )
    await conn.execute_query(
        q("INSERT INTO ingested_batches (host_id, batch_id, received_at, samples) VALUES (?, ?, ?, ?)"),
        [1, "batch-before-upgrade", T0, 2],
    )
    await close_database()
    return stored


async def test_a_c33dc78_database_is_upgraded_and_keeps_every_point(db_url: str) -> None:
    stored = await make_legacy_database(db_url)
    await open_database(db_url)
    try:
        versions = await connection().execute_query_dict('SELECT version FROM schema_version ORDER BY version')
        assert [r["version"] for r in versions] == list(range(1, migrations.LATEST + 1))
        series = await connection().execute_query_dict("SELECT id, metric FROM series ORDER BY id")
        for row in series:
            ts, values = await read_points(row["id"], T0, T0 + 3 * H)
            assert np.array_equal(ts, stored[row["metric"]][0])
            assert np.array_equal(values, stored[row["metric"]][1])
        # The upgraded database works: old raw blocks compact, old batch keys still dedupe,
        # new tokens and batches go in.
        report = await Compactor(Settings()).run_once(T0 + 3 * H)
        assert report is not None and report.chunks == 2
        for row in series:
            ts, values = await read_points(row["id"], T0, T0 + 3 * H)
            assert np.array_equal(values, stored[row["metric"]][1])
        token = await create_token("old-1")
        assert (await lookup_host(hash_token(token))).name == "old-1"
        async with Feed("old-1") as feed:
            sid = series[0]["id"]
            one = (np.array([T0 + 5 * H]), np.array([1.0]))
            assert await feed.write({sid: one}, batch_id="batch-before-upgrade") is True
            assert await feed.write({sid: one}, batch_id="batch-after-upgrade") is False
    finally:
        await close_database()


async def test_migrating_again_is_a_no_op(db: str) -> None:
    assert await migrations.migrate(connection()) == []
    rows = await connection().execute_query_dict("SELECT version FROM schema_version")
    assert sorted(r["version"] for r in rows) == list(range(1, migrations.LATEST + 1))


async def test_a_database_from_a_newer_hub_is_refused(db: str) -> None:
    await connection().execute_script(
        f"INSERT INTO schema_version (version, name, applied_at) VALUES ({migrations.LATEST + 1}, 'future', 0)"
    )
    with pytest.raises(migrations.SchemaTooNew, match="newer"):
        await migrations.migrate(connection())


async def test_migrated_schema_matches_the_models(db_url: str, tmp_path) -> None:
    """The migrations and the Tortoise models describe the same tables and columns."""
    await open_database(db_url)
    migrated = await _columns()
    await close_database()
    other = f"sqlite://{tmp_path / 'models.sqlite3'}" if db_url.startswith("sqlite") else db_url
    if other == db_url:  # PostgreSQL: compare against a fresh schema in a second schema namespace
        await Tortoise.init(config=tortoise_config(db_url), _enable_global_fallback=True)
        await connection().execute_script("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    else:
        await Tortoise.init(config=tortoise_config(other), _enable_global_fallback=True)
    await Tortoise.generate_schemas(safe=False)
    generated = await _columns()
    await close_database()
    assert migrated == generated


async def _columns() -> dict[str, set[str]]:
    conn = connection()
    if conn.capabilities.dialect == "postgres":
        rows = await conn.execute_query_dict(
            "SELECT table_name AS t, column_name AS c FROM information_schema.columns "
            "WHERE table_schema = 'public'"
        )
    else:
        rows = await conn.execute_query_dict(
            "SELECT m.name AS t, p.name AS c FROM sqlite_master m, pragma_table_info(m.name) p "
            "WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'"
        )
    tables: dict[str, set[str]] = {}
    for row in rows:
        tables.setdefault(row["t"], set()).add(row["c"])
    return tables


async def test_a_failing_step_leaves_nothing_behind(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    before = await connection().execute_query_dict("SELECT version FROM schema_version")
    bad = migrations.Step(
        migrations.LATEST + 1,
        "half a step",
        ('CREATE TABLE "half_done" ("x" INT)', 'CREATE TABLE "hosts" ("x" INT)'),  # 2nd fails
    )
    monkeypatch.setattr(migrations, "STEPS", (*migrations.STEPS, bad))
    monkeypatch.setattr(migrations, "LATEST", bad.version)
    with pytest.raises(Exception):  # noqa: B017 - whichever error the driver gives for "exists"
        await migrations.migrate(connection())
    assert "half_done" not in await _columns()
    assert await connection().execute_query_dict("SELECT version FROM schema_version") == before
