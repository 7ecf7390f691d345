"""Series ids by (host, metric, labels), cached: a batch resolves its series without a query
once they are known, and creates the few new ones with the models."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import orjson
from tortoise.exceptions import IntegrityError

from hostpulse.hub.storage.models import Series


@dataclass(frozen=True, slots=True)
class SeriesInfo:
    id: int
    host: str
    metric: str
    labels: dict[str, str]
    unit: str

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "host": self.host,
            "metric": self.metric,
            "labels": self.labels,
            "unit": self.unit,
        }


def labels_key(labels: dict[str, str]) -> str:
    return orjson.dumps(labels, option=orjson.OPT_SORT_KEYS).decode()


class SeriesLimitReached(Exception):
    """A host already has as many series as the hub allows (a label-cardinality explosion)."""


#: Keys looked up in one query when a batch brings series this hub has not cached.
LOOKUP_KEYS = 500


class SeriesRegistry:
    def __init__(self, max_per_host: int = 0) -> None:
        self._cache: dict[tuple[int, str, str], SeriesInfo] = {}
        # Per host, not hub-wide: a host creating (or being refused) 20,000 series held one
        # hub-wide lock for 8 s, and another host's first batch waited as long (issue 18).
        self._locks: dict[int, asyncio.Lock] = {}
        #: 0: no limit. Counted per host from the database the first time the host creates one.
        self.max_per_host = max_per_host
        self._counts: dict[int, int] = {}

    def cached(
        self, host_id: int, items: list[tuple[str, dict[str, str], str]]
    ) -> list[SeriesInfo] | None:
        """The series of ``items`` if the cache has them all as given, else None: a known
        batch's series without a coroutine, and without encoding its labels twice."""
        cache, infos = self._cache, []
        for metric, labels, unit in items:
            info = cache.get((host_id, metric, labels_key(labels)))
            if info is None or (unit and info.unit != unit):
                return None
            infos.append(info)
        return infos

    async def resolve(
        self, host_id: int, host_name: str, metric: str, labels: dict[str, str], unit: str
    ) -> SeriesInfo:
        return (await self.resolve_many(host_id, host_name, [(metric, labels, unit)]))[0]

    async def resolve_many(
        self, host_id: int, host_name: str, items: list[tuple[str, dict[str, str], str]]
    ) -> list[SeriesInfo]:
        """The series of ``items`` ((metric, labels, unit) each), created where new. Either all
        are resolved or, past the host's series limit, none is created (SeriesLimitReached)."""
        keys = [(host_id, metric, labels_key(labels)) for metric, labels, _ in items]
        if all(self._fresh(key, unit) for key, (_, _, unit) in zip(keys, items, strict=True)):
            return [self._cache[key] for key in keys]
        # Serialised per host: two batches of one host must not race to insert one series.
        async with self._locks.setdefault(host_id, asyncio.Lock()):
            todo: dict[tuple[int, str, str], tuple[dict[str, str], str]] = {}
            for key, (_, labels, unit) in zip(keys, items, strict=True):
                if not self._fresh(key, unit):
                    todo[key] = (labels, unit)
            rows = await self._stored(host_id, list(todo))
            new = [key for key in todo if key not in rows]
            if new:  # refused before anything is created, whatever the batch holds
                await self._check_limit(host_id, len(new))
            for key, (labels, unit) in todo.items():
                row = rows.get(key) or await self._create(host_id, key, labels, unit)
                if unit and row.unit != unit:  # the latest unit a source declares wins
                    row.unit = unit
                    await row.save(update_fields=["unit"])
                self._cache[key] = SeriesInfo(row.id, host_name, key[1], dict(row.labels), row.unit)
        return [self._cache[key] for key in keys]

    def _fresh(self, key: tuple[int, str, str], unit: str) -> bool:
        info = self._cache.get(key)
        return info is not None and (not unit or info.unit == unit)

    async def _stored(
        self, host_id: int, keys: list[tuple[int, str, str]]
    ) -> dict[tuple[int, str, str], Series]:
        """The rows of ``keys`` already in the database, a few hundred keys per query (one query
        per key made 20,000 new series cost 8.6 s before the limit even refused them)."""
        found: dict[tuple[int, str, str], Series] = {}
        for start in range(0, len(keys), LOOKUP_KEYS):
            chunk = keys[start : start + LOOKUP_KEYS]
            wanted = set(chunk)
            rows = await Series.filter(
                host_id=host_id,
                metric__in={key[1] for key in chunk},
                labels_key__in={key[2] for key in chunk},
            )
            for row in rows:
                key = (host_id, row.metric, row.labels_key)
                if key in wanted:
                    found[key] = row
        return found

    async def _create(
        self, host_id: int, key: tuple[int, str, str], labels: dict[str, str], unit: str
    ) -> Series:
        _, metric, lkey = key
        try:
            row = await Series.create(
                host_id=host_id, metric=metric, labels=labels, labels_key=lkey, unit=unit
            )
        except IntegrityError:  # another hub created it first
            return await Series.get(host_id=host_id, metric=metric, labels_key=lkey)
        self._counts[host_id] += 1
        return row

    async def _check_limit(self, host_id: int, adding: int) -> None:
        if host_id not in self._counts:
            self._counts[host_id] = await Series.filter(host_id=host_id).count()
        have = self._counts[host_id]
        if self.max_per_host and have + adding > self.max_per_host:
            raise SeriesLimitReached(
                f"this batch would add {adding} series to the {have} this host has; "
                f"the limit is {self.max_per_host}"
            )
