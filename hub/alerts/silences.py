"""Silences: which alerts are not to be notified now. Checked as outbox rows are claimed, so a
silence made while an alert fires stops its messages (its resolved one too) from then on."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from typing import Any

from hostpulse.hub.alerts.models import AlertSilence


def matches(silence: AlertSilence, alert: Mapping[str, Any]) -> bool:
    if silence.rule and silence.rule != alert.get("rule"):
        return False
    if silence.host and not fnmatch.fnmatchcase(str(alert.get("host", "")), silence.host):
        return False
    labels = alert.get("labels") or {}
    return all(labels.get(k) == v for k, v in silence.labels.items())


async def active(now_ms: int) -> list[AlertSilence]:
    return await AlertSilence.filter(ends_at__gt=now_ms).order_by("id")


def silenced_by(silences: Sequence[AlertSilence], alert: Mapping[str, Any]) -> int | None:
    """The id of the first silence that matches the alert, if any."""
    return next((s.id for s in silences if matches(s, alert)), None)


async def create(
    *, rule: str, host: str, labels: dict[str, str], ends_at: int, comment: str, now_ms: int
) -> AlertSilence:
    """A new silence; ValueError naming what is wrong (the API answers 400, the CLI a usage error)."""
    if ends_at <= now_ms:
        raise ValueError(f"ends_at {ends_at} is not in the future")
    if not (rule or host or labels):
        raise ValueError("a silence names a rule, a host or labels: it would mute everything")
    return await AlertSilence.create(
        rule=rule, host=host, labels=labels, comment=comment, created_at=now_ms, ends_at=ends_at
    )


async def end(silence_id: int, now_ms: int) -> AlertSilence | None:
    """End a silence in force now; None if there is none with that id."""
    silence = await AlertSilence.get_or_none(id=silence_id, ends_at__gt=now_ms)
    if silence is not None:
        silence.ends_at = now_ms
        await silence.save(update_fields=["ends_at"])
    return silence
