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
