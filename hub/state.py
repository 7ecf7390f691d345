"""What one running hub holds: settings, the writer, the series registry, the live bus, the
agent-token cache, the agents' clock offsets."""

from __future__ import annotations

from dataclasses import dataclass, field

from quart import current_app

from hub.anomaly import AnomalyEngine
from hub.bus import LocalBus
from hub.clock import ClockOffsets
from hub.detector_state import DetectorStateStore
from hub.security import TokenBucket
from hub.settings import Settings
from hub.storage.registry import SeriesRegistry
from hub.storage.writer import Writer
from hub.tokens import TokenCache


@dataclass(slots=True)
class HubState:
    settings: Settings
    writer: Writer
    bus: LocalBus
    anomaly: AnomalyEngine
    detector_state: DetectorStateStore
    registry: SeriesRegistry
    tokens: TokenCache
    ws_clients: int = 0
    rate_limit: TokenBucket = field(default_factory=lambda: TokenBucket(0, 0))
    clocks: ClockOffsets = field(default_factory=ClockOffsets)


def hub_state() -> HubState:
    return current_app.extensions["hostpulse"]
