"""Alert states, history and outbox in the database (tables of hostpulse.hub.alerts.models).

One flush writes a pass's transitions in one transaction: each instance's state (upsert), a history
row per move, and an outbox row per firing/resolved alert and notifier. So whatever the outbox holds
is also what the states say, and a restarted hub takes back its pending/firing instances
(:func:`load_active`) instead of firing them again. Outbox rows are claimed with a lease
(``next_at`` pushed past the send timeout); on PostgreSQL with ``FOR UPDATE SKIP LOCKED``, so hubs
sharing the database never claim the same row, and a hub killed mid-send leaves its rows to be
claimed again once the lease runs out.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from hostpulse.hub.alerts.states import FIRING, INACTIVE, PENDING, RESOLVED, Instance, Transition

HOST_LEVEL = -1  # series_key of an instance of a whole host


def series_key(series_id: int | None) -> int:
    return HOST_LEVEL if series_id is None else series_id


def dedupe_key(t: Transition) -> str:
    return f"{t.rule}|{t.host}|{series_key(t.series_id)}|{t.state}|{t.severity}|{t.at}"


def _marks(dialect: str, n: int) -> str:
    return (
        ", ".join(f"${i}" for i in range(1, n + 1)) if dialect == "postgres" else ", ".join("?" * n)
    )


_STATE_COLUMNS = ("rule", "host", "series_key", "kind", "metric", "labels", "state", "severity",
                  "value", "since", "starts_at", "ends_at", "updated_at")  # fmt: skip
_HISTORY_COLUMNS = ("rule", "host", "series_key", "kind", "metric", "labels", "previous", "state",
                    "severity", "value", "at", "starts_at", "ends_at")  # fmt: skip
_OUTBOX_COLUMNS = ("notifier", "dedupe_key", "alert", "status", "attempts", "created_at",
                   "next_at", "last_error")  # fmt: skip


def _insert(table: str, columns: Sequence[str], dialect: str, tail: str = "") -> str:
    names = ", ".join(f'"{c}"' for c in columns)
    return f'INSERT INTO "{table}" ({names}) VALUES ({_marks(dialect, len(columns))}){tail}'


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    notifier: str
    alert: dict[str, Any]
    attempts: int


def conn() -> BaseDBAsyncClient:
    client: BaseDBAsyncClient = connections.get("default")
    return client


#: pg advisory lock of the alert flushes ("HP" 0x4850, like the migration lock): hubs sharing one
#: database judge a transition against the stored state one at a time.
ALERTS_LOCK = 0x4850_0002

#: A transition is news only if the stored state is one it can move from: a second hub that saw the
#: same episode later (its own pending, its own firing) finds it stored already and stays silent.
_MOVES_FROM: dict[str, tuple[str | None, ...]] = {
    FIRING: (None, INACTIVE, PENDING, RESOLVED, FIRING),  # FIRING: a new severity
    RESOLVED: (FIRING,),
    PENDING: (None, INACTIVE, RESOLVED),
    INACTIVE: (PENDING,),
}

StateKey = tuple[str, str, int]


@dataclass(slots=True)
class _Rows:
    """What one flush writes: a state row per instance moved, a history row per move, an outbox
    row per firing/resolved move and notifier."""

    states: list[list[Any]]
    history: list[list[Any]]
    outbox: list[list[Any]]


def _rows(
    transitions: Sequence[Transition],
    stored: dict[StateKey, tuple[str, str]] | None,
    since: dict[StateKey, int],
    routes: Callable[[Transition], Sequence[str]],
    base_url: str,
    now_ms: int,
) -> _Rows:
    """The rows of the transitions that are news against ``stored`` (every one without it)."""
    latest: dict[StateKey, Transition] = {}
    # Each instance's labels as JSON once a flush, by orjson: json.dumps twice a transition
    # was 3 of the 14 µs a flush took per transition (cProfile, 700 transitions, SQLite).
    labels: dict[StateKey, str] = {}
    history: list[list[Any]] = []
    outbox: list[list[Any]] = []
    for t in transitions:
        key = (t.rule, t.host, series_key(t.series_id))
        if stored is not None:
            current = stored.get(key)
            if current is not None and current == (t.state, t.severity):
                continue
            if (current[0] if current else None) not in _MOVES_FROM[t.state]:
                continue
            stored[key] = (t.state, t.severity)
        latest[key] = t
        labels_json = labels.get(key)
        if labels_json is None:
            labels[key] = labels_json = orjson.dumps(t.labels).decode()
        history.append([t.rule, t.host, key[2], t.kind, t.metric, labels_json,
                        t.previous, t.state, t.severity, t.value, t.at, t.starts_at,
                        t.ends_at])  # fmt: skip
        if t.state in (FIRING, RESOLVED) and (names := routes(t)):
            # Encoded only when some notifier takes it: a rule that notifies no one (its alerts
            # are for the dashboard) was paying json.dumps on every move of its instances.
            alert = json.dumps(t.alert_json(base_url))
            key_text = dedupe_key(t)
            outbox.extend([name, key_text, alert, "pending", 0, now_ms, now_ms, ""] for name in names)
    states = [
        [t.rule, t.host, k[2], t.kind, t.metric, labels[k], t.state, t.severity,
         t.value, since.get(k, t.at), t.starts_at, t.ends_at, now_ms]
        for k, t in latest.items()
    ]  # fmt: skip
    return _Rows(states, history, outbox)


async def _write(tx: BaseDBAsyncClient, dialect: str, rows: _Rows) -> None:
    if rows.states:
        state_sql = _insert("alert_states", _STATE_COLUMNS, dialect, (
            ' ON CONFLICT ("rule", "host", "series_key") DO UPDATE SET '
            + ", ".join(f'"{c}" = excluded."{c}"' for c in _STATE_COLUMNS[3:])
        ))  # fmt: skip
        await tx.execute_many(state_sql, rows.states)
        await tx.execute_many(_insert("alert_history", _HISTORY_COLUMNS, dialect), rows.history)
    if rows.outbox:
        await tx.execute_many(_outbox_insert(dialect), rows.outbox)


async def flush(
    transitions: Sequence[Transition],
    since: dict[StateKey, int],
    routes: Callable[[Transition], Sequence[str]],
    base_url: str,
    now_ms: int,
) -> int:
    """Store one pass's transitions that are news against the stored states; returns the outbox
    rows queued. ``since`` gives each instance's pending-since time for its state row."""
    if not transitions:
        return 0
    dialect = conn().capabilities.dialect
    if dialect != "postgres":
        # Hubs share a database only on PostgreSQL. On SQLite this hub is its one writer, and its
        # evaluator, restored from the stored states at start, moves each instance from the
        # state it last stored: reading them back judged nothing, and cost 4.2 µs a transition
        # beside the flush's 8.3 without it (bench/alert_flush.py: CPU of every thread, 4,000
        # moves pending <-> inactive a flush). The rows are built before the transaction, which
        # holds the one connection the ingest writer needs too.
        rows = _rows(transitions, None, since, routes, base_url, now_ms)
        async with in_transaction("default") as tx:
            await _write(tx, dialect, rows)
        return len(rows.outbox)
    async with in_transaction("default") as tx:
        await tx.execute_query("SELECT pg_advisory_xact_lock($1)", [ALERTS_LOCK])
        stored = await _stored_states(
            tx, dialect, {(t.rule, t.host, series_key(t.series_id)) for t in transitions}
        )
        rows = _rows(transitions, stored, since, routes, base_url, now_ms)
        await _write(tx, dialect, rows)
    return len(rows.outbox)


def _outbox_insert(dialect: str) -> str:
    """One outbox row per notifier and dedupe key: a second insert of the same message (a
    restarted hub, another hub) does nothing."""
    return _insert(
        "alert_outbox", _OUTBOX_COLUMNS, dialect, ' ON CONFLICT ("notifier", "dedupe_key") DO NOTHING'
    )


async def queue_repeats(
    repeats: Sequence[tuple[Transition, int]],
    routes: Callable[[Transition], Sequence[str]],
    base_url: str,
    now_ms: int,
) -> int:
    """Queue the k-th repeat of firing alerts. The dedupe key holds k, counted from starts_at, so
    a restarted hub or a second hub that decides the same repeat inserts nothing twice."""
    dialect = conn().capabilities.dialect
    rows = [
        [name, f"{dedupe_key(t)}|repeat{k}", json.dumps(t.alert_json(base_url)), "pending", 0,
         now_ms, now_ms, ""]
        for t, k in repeats for name in routes(t)
    ]  # fmt: skip
    if rows:
        await conn().execute_many(_outbox_insert(dialect), rows)
    return len(rows)


async def _stored_states(
    tx: BaseDBAsyncClient, dialect: str, keys: set[StateKey]
) -> dict[StateKey, tuple[str, str]]:
    """The stored state of just these instances, looked up by their unique key: reading every state
    of the hosts involved scanned the whole table per flush (no index leads with host), 21,380
    rows at 10,000 series under 200 rules, which cost a served hub 29 % of its ingest rate."""
    out: dict[StateKey, tuple[str, str]] = {}
    ordered = sorted(keys)
    for lo in range(0, len(ordered), 200):  # 600 parameters a query, under SQLite's 999
        chunk = ordered[lo : lo + 200]
        marks = _marks(dialect, 3 * len(chunk)).split(", ")
        where = " OR ".join(
            f'("rule" = {marks[i]} AND "host" = {marks[i + 1]} AND "series_key" = {marks[i + 2]})'
            for i in range(0, len(marks), 3)
        )
        rows = await tx.execute_query_dict(
            'SELECT "rule", "host", "series_key", "state", "severity" FROM "alert_states" '
            f"WHERE {where}",
            [x for key in chunk for x in key],
        )
        for r in rows:
            out[(r["rule"], r["host"], int(r["series_key"]))] = (r["state"], r["severity"])
    return out


async def host_labels() -> dict[str, dict[str, str]]:
    """Each known host's labels, for rules that select by ``host_labels``."""
    rows = await conn().execute_query_dict('SELECT "name", "labels" FROM "hosts"')
    return {r["name"]: _json(r["labels"]) or {} for r in rows}


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


async def load_active() -> list[Instance]:
    """The pending and firing instances as last stored: what a restarted hub goes on from."""
    rows = await conn().execute_query_dict(
        "SELECT * FROM \"alert_states\" WHERE \"state\" IN ('pending', 'firing')"
    )
    return [
        Instance(
            r["rule"], r["kind"], r["host"], r["metric"], _json(r["labels"]),
            None if r["series_key"] == HOST_LEVEL else int(r["series_key"]),
            state=r["state"], severity=r["severity"], value=r["value"], since=int(r["since"]),
            starts_at=r["starts_at"], ends_at=r["ends_at"],
        )
        for r in rows
    ]  # fmt: skip


async def host_last_seen() -> dict[str, int]:
    """Each known host's newest sample time, so host_down holds for hosts silent across a restart."""
    rows = await conn().execute_query_dict('SELECT "name", "last_seen" FROM "hosts"')
    return {r["name"]: int(r["last_seen"]) for r in rows if r["last_seen"]}


async def claim(now_ms: int, lease_ms: int, limit: int) -> list[Claimed]:
    """Take the due outbox rows (oldest first) for ``lease_ms``: no other hub takes them meanwhile."""
    dialect = conn().capabilities.dialect
    lock = " FOR UPDATE SKIP LOCKED" if dialect == "postgres" else ""
    p = "$1" if dialect == "postgres" else "?"
    async with in_transaction("default") as tx:
        rows = await tx.execute_query_dict(
            'SELECT "id", "notifier", "alert", "attempts" FROM "alert_outbox" '
            f'WHERE "status" = \'pending\' AND "next_at" <= {p} ORDER BY "id" LIMIT {int(limit)}{lock}',
            [now_ms],
        )
        if rows:
            ids = ", ".join(str(int(r["id"])) for r in rows)
            await tx.execute_query(
                f'UPDATE "alert_outbox" SET "next_at" = {p} WHERE "id" IN ({ids})',
                [now_ms + lease_ms],
            )
    return [
        Claimed(int(r["id"]), r["notifier"], _json(r["alert"]), int(r["attempts"])) for r in rows
    ]


async def mark_sent(ids: Sequence[int], now_ms: int) -> None:
    dialect = conn().capabilities.dialect
    p = "$1" if dialect == "postgres" else "?"
    await conn().execute_query(
        f'UPDATE "alert_outbox" SET "status" = \'sent\', "sent_at" = {p}, '
        f'"attempts" = "attempts" + 1 WHERE "id" IN ({", ".join(str(int(i)) for i in ids)})',
        [now_ms],
    )


async def mark_silenced(ids: Sequence[int]) -> None:
    await conn().execute_query(
        f'UPDATE "alert_outbox" SET "status" = \'silenced\' '
        f'WHERE "id" IN ({", ".join(str(int(i)) for i in ids)})'
    )


async def mark_failed(ids: Sequence[int], retry_at_ms: int, error: str) -> None:
    dialect = conn().capabilities.dialect
    p1, p2 = ("$1", "$2") if dialect == "postgres" else ("?", "?")
    await conn().execute_query(
        f'UPDATE "alert_outbox" SET "next_at" = {p1}, "last_error" = {p2}, '
        f'"attempts" = "attempts" + 1 WHERE "id" IN ({", ".join(str(int(i)) for i in ids)})',
        [retry_at_ms, error[:1000]],
    )


async def failing(limit: int) -> list[dict[str, Any]]:
    """Pending rows that failed at least once, oldest first, with their last error."""
    rows = await conn().execute_query_dict(
        'SELECT "id", "notifier", "alert", "attempts", "last_error", "next_at" FROM "alert_outbox" '
        f'WHERE "status" = \'pending\' AND "attempts" > 0 ORDER BY "id" LIMIT {int(limit)}'
    )
    out = []
    for r in rows:
        alert = _json(r["alert"])
        out.append({"id": int(r["id"]), "notifier": r["notifier"], "rule": alert["rule"],
                    "host": alert["host"], "attempts": int(r["attempts"]),
                    "last_error": r["last_error"], "next_at": int(r["next_at"])})  # fmt: skip
    return out


async def outbox_counts() -> dict[str, int]:
    """Rows per status, and how many pending ones have failed at least once."""
    rows = await conn().execute_query_dict(
        'SELECT "status", COUNT(*) AS n, SUM(CASE WHEN "attempts" > 0 THEN 1 ELSE 0 END) AS failing '
        'FROM "alert_outbox" GROUP BY "status"'
    )
    out = {"pending": 0, "sent": 0, "silenced": 0, "failing": 0}
    for r in rows:
        out[r["status"]] = int(r["n"])
        if r["status"] == "pending":
            out["failing"] = int(r["failing"] or 0)
    return out


__all__ = ["Claimed", "claim", "flush", "host_labels", "host_last_seen", "load_active",
           "mark_failed", "mark_sent", "outbox_counts"]  # fmt: skip
