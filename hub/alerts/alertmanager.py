"""The Alertmanager notifier: POST /api/v2/alerts, so users route our alerts with theirs.

Alertmanager identifies an alert by its label set: ours carries alertname (the rule), host,
metric, severity and the series' labels. A resolved alert is the same labels with endsAt set."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from hostpulse.hub.alerts.config import Notifier


def _iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat().replace("+00:00", "Z")


def am_alert(a: Mapping[str, Any]) -> dict[str, Any]:
    labels = {**{str(k): str(v) for k, v in a["labels"].items()},
              "alertname": a["rule"], "host": a["host"], "severity": a["severity"]}  # fmt: skip
    if a["metric"]:
        labels["metric"] = a["metric"]
    out: dict[str, Any] = {
        "labels": labels,
        "annotations": {"value": str(a["value"]), "kind": a["kind"]},
        "startsAt": _iso(a["starts_at"]),
        "generatorURL": a["url"] if str(a["url"]).startswith(("http://", "https://")) else None,
    }
    if a["ends_at"] is not None:
        out["endsAt"] = _iso(a["ends_at"])
    return {k: v for k, v in out.items() if v is not None}


async def send_alertmanager(
    notifier: Notifier,
    alerts: Sequence[Mapping[str, Any]],
    client: httpx.AsyncClient,
    timeout_s: float,
) -> str:
    url = str(notifier.options["url"]).rstrip("/") + "/api/v2/alerts"
    response = await client.post(url, json=[am_alert(a) for a in alerts], timeout=timeout_s)
    response.raise_for_status()
    return f"{response.status_code} {response.reason_phrase}"
