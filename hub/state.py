"""What one running hub holds: settings, the writer, the series registry, the live bus, the
anomaly engine and its state store, the agent-token cache, the compactor, the ingest rate limit,
the agents' clock offsets, the batch_ids claimed by requests in flight and the count of WebSocket
sessions. What it holds never imports it back (no import cycle, tests/test_layout.py); the request
handlers read it through :func:`hub_state`."""

from __future__ import annotations

from dataclasses import dataclass, field

from quart import current_app

from hostpulse.hub.anomaly import AnomalyEngine
from hostpulse.hub.anomaly.state_store import DetectorStateStore
from hostpulse.hub.api.claims import BatchClaims
from hostpulse.hub.api.clocks import ClockOffsets
from hostpulse.hub.auth.rate_limit import TokenBucket
from hostpulse.hub.auth.token_cache import TokenCache
from hostpulse.hub.live.bus import LocalBus
from hostpulse.hub.settings import Settings
from hostpulse.hub.storage.compactor import Compactor
from hostpulse.hub.storage.registry import SeriesRegistry
from hostpulse.hub.storage.writer import Writer


@dataclass(slots=True)
class HubState:
    settings: Settings
    writer: Writer
    bus: LocalBus
    anomaly: AnomalyEngine
    detector_state: DetectorStateStore
    registry: SeriesRegistry
    tokens: TokenCache
    #: Compaction and retention of the storage tiers, run in the background.
    compactor: Compactor
    ws_clients: int = 0
    rate_limit: TokenBucket = field(default_factory=lambda: TokenBucket(0, 0))
    clocks: ClockOffsets = field(default_factory=ClockOffsets)
    #: The (host, batch_id) pairs that ingest requests hold until their batch is committed.
    claims: BatchClaims = field(default_factory=BatchClaims)


def hub_state() -> HubState:
    state: HubState = current_app.extensions["hostpulse"]
    return state
