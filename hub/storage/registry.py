"""Series ids by (host, metric, labels), cached: a batch resolves its series without a query
once they are known, and creates the few new ones with the models."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import orjson
from tortoise.exceptions import IntegrityError

from hub.storage.models import Series


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


class SeriesRegistry:
    def __init__(self, max_per_host: int = 0) -> None:
        self._cache: dict[tuple[int, str, str], SeriesInfo] = {}
        self._lock = asyncio.Lock()
        #: 0: no limit. Counted per host from the database the first time the host creates one.
        self.max_per_host = max_per_host
        self._counts: dict[int, int] = {}

    async def resolve(
        self, host_id: int, host_name: str, metric: str, labels: dict[str, str], unit: str
    ) -> SeriesInfo:
        key = (host_id, metric, labels_key(labels))
        info = self._cache.get(key)
        if info is not None and (not unit or info.unit == unit):
            return info
        # Creation is rare; serialising it avoids racing inserts of one series.
        async with self._lock:
            info = await self._load_or_create(host_id, host_name, metric, labels, unit, key[2])
            self._cache[key] = info
            return info

    async def _load_or_create(
        self,
        host_id: int,
        host_name: str,
        metric: str,
        labels: dict[str, str],
        unit: str,
        lkey: str,
    ) -> SeriesInfo:
        row = await Series.filter(host_id=host_id, metric=metric, labels_key=lkey).first()
        if row is None:
            await self._check_limit(host_id)
            try:
                row = await Series.create(
                    host_id=host_id, metric=metric, labels=labels, labels_key=lkey, unit=unit
                )
            except IntegrityError:  # another hub created it first
                row = await Series.get(host_id=host_id, metric=metric, labels_key=lkey)
            self._counts[host_id] += 1
        if unit and row.unit != unit:  # the latest unit a source declares wins
            row.unit = unit
            await row.save(update_fields=["unit"])
        return SeriesInfo(row.id, host_name, metric, dict(row.labels), row.unit)

    async def _check_limit(self, host_id: int) -> None:
        if host_id not in self._counts:
            self._counts[host_id] = await Series.filter(host_id=host_id).count()
        if self.max_per_host and self._counts[host_id] >= self.max_per_host:
            raise SeriesLimitReached(
                f"this host already has {self._counts[host_id]} series; the limit is {self.max_per_host}"
            )
