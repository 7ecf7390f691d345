"""An alert instance (rule × series, or rule × host) and the moves between its states."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

INACTIVE, PENDING, FIRING, RESOLVED = "inactive", "pending", "firing", "resolved"


@dataclass(slots=True)
class Instance:
    rule: str
    kind: str
    host: str
    metric: str
    labels: dict[str, str]
    series_id: int | None
    state: str = INACTIVE
    severity: str = "warning"
    value: float | None = None
    #: When the condition started to hold (pending), in epoch ms.
    since: int = 0
    starts_at: int | None = None
    ends_at: int | None = None
    #: Samples of the window for over = avg | max | min: [(ts, value)], oldest first.
    window: list[tuple[int, float]] = field(default_factory=list)
    #: Last points' anomaly flags for anomaly rules, newest last.
    flags: list[bool] = field(default_factory=list)
    #: The last repeat queued for this firing episode (rule ``repeat``), counted from starts_at.
    repeated: int = 0

    @property
    def key(self) -> tuple[str, str, int | None]:
        return (self.rule, self.host, self.series_id)


@dataclass(frozen=True, slots=True)
class Transition:
    """One move of an instance, as stored in the history and handed to the notifiers."""

    rule: str
    kind: str
    host: str
    metric: str
    labels: dict[str, str]
    series_id: int | None
    previous: str
    state: str
    severity: str
    value: float | None
    at: int
    starts_at: int | None
    ends_at: int | None

    def alert_json(self, base_url: str = "") -> dict[str, Any]:
        """One entry of the webhook's ``alerts`` list (the issue's Contract)."""
        return {
            "rule": self.rule, "kind": self.kind, "severity": self.severity,
            "state": self.state, "host": self.host, "metric": self.metric,
            "labels": self.labels, "value": self.value, "starts_at": self.starts_at,
            "ends_at": self.ends_at, "url": chart_url(base_url, self.host, self.starts_at or self.at),
        }  # fmt: skip


def chart_url(base_url: str, host: str, at_ms: int) -> str:
    """A link to the host's charts around the moment the alert started."""
    return f"{base_url.rstrip('/')}/#host={host}&at={at_ms}"
