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


class SeriesRegistry:
    def __init__(self) -> None:
        self._cache: dict[tuple[int, str, str], SeriesInfo] = {}
        self._lock = asyncio.Lock()

    async def resolve(
        self, host_id: int, host_name: str, metric: str, labels: dict[str, str], unit: str
    ) -> SeriesInfo:
        key = (host_id, metric, labels_key(labels))
        info = self._cache.get(key)
        if info is not None and (not unit or info.unit == unit):
            return info
        async with (
            self._lock
        ):  # creation is rare; serialising it avoids racing inserts of one series
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
            try:
                row = await Series.create(
                    host_id=host_id, metric=metric, labels=labels, labels_key=lkey, unit=unit
                )
            except IntegrityError:  # another hub created it first
                row = await Series.get(host_id=host_id, metric=metric, labels_key=lkey)
        if unit and row.unit != unit:  # the latest unit a source declares wins
            row.unit = unit
            await row.save(update_fields=["unit"])
        return SeriesInfo(row.id, host_name, metric, dict(row.labels), row.unit)
