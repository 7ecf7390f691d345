"""Hub settings: CLI flags over ``HOSTPULSE_*`` environment variables over a TOML file over defaults."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from hostpulse.hub.alerts.config import parse_alerts
from hostpulse.hub.errors import SettingsError
from hostpulse.layering import Setting, coerce, layered
from hostpulse.wire import (
    MAX_LABEL_LENGTH,
    MAX_LABELS,
    MAX_POINTS_PER_SERIES,
    MAX_SAMPLES_PER_BATCH,
    MAX_SERIES_PER_BATCH,
)

# A checkout serves `make build`'s frontend/dist; an installed wheel carries the same files as the
# package hostpulse.hub.dashboard (pyproject.toml's package-dir maps it onto frontend/dist).
_CHECKOUT_DIST = Path(__file__).resolve().parent.parent / "frontend" / "dist"
_INSTALLED_DIST = Path(__file__).resolve().parent / "dashboard"
DEFAULT_STATIC_DIR = _INSTALLED_DIST if (_INSTALLED_DIST / "index.html").is_file() else _CHECKOUT_DIST


@dataclass(slots=True)
class Settings:
    db: str = "sqlite://hostpulse.sqlite3"
    bind: str = "127.0.0.1:8700"
    redis: str | None = None
    static_dir: Path = DEFAULT_STATIC_DIR
    #: What the hub serves to install agents (hub/api/install.py): `hostpulse wheelhouse build` fills it.
    wheelhouse: Path = Path("wheelhouse")
    #: Viewer names (comma-separated) that may add hosts from the dashboard (hub/api/install.py).
    admins: str = ""
    #: Largest request body accepted, after gzip decompression.
    max_body_bytes: int = 32 * 1024 * 1024
    #: A request's body (gzip'd or not) must arrive within this many seconds, else 408.
    body_timeout_s: float = 30.0
    #: A connection that sends nothing for this many seconds is closed (Hypercorn's read_timeout):
    #: a client that stops halfway through its headers is dropped, as is a WebSocket that stops
    #: answering the hub's pings.
    read_timeout_s: int = 30
    #: A connection must send a complete request head (request line and headers; the TLS
    #: handshake first, under TLS) within this many seconds of opening, or of its previous
    #: answer: a client that trickles its headers a byte at a time is closed at this age, and so
    #: is a kept-alive connection idle this long. At least 1.
    header_timeout_s: int = 10
    #: Samples, series and points of one series in one batch: together they bound the hub time
    #: one batch costs near 100 ms in one piece (measured on 2 cores: to score, ~0.8 us a sample
    #: and ~120 us per point index; to parse and resolve 5,000 series, ~70 ms; 20,000 took 250 ms).
    #: The agent's own batch holds at most 5,000 samples, sealed after 2 s.
    max_samples_per_batch: int = MAX_SAMPLES_PER_BATCH
    max_points_per_series: int = MAX_POINTS_PER_SERIES
    max_series_per_batch: int = MAX_SERIES_PER_BATCH
    #: New series a host may create, in all (a label-cardinality explosion stops here); 0: no limit.
    max_series_per_host: int = 20_000
    #: Defaults are the wire's limits, which the agent obeys (hostpulse.wire).
    max_labels: int = MAX_LABELS
    max_label_length: int = MAX_LABEL_LENGTH
    #: Batches waiting for the writer; past this, ingest answers 503 with Retry-After.
    write_queue_batches: int = 256
    #: A host is online when its last batch arrived within this many seconds, stale up to
    #: stale_window_s, offline after. The dashboard reads both from GET /api/v1/hosts.
    online_window_s: float = 30.0
    stale_window_s: float = 120.0
    #: Samples further than this from the hub's clock are refused (clock skew, replay of junk).
    max_past_s: float = 30 * 86400.0
    max_future_s: float = 600.0
    #: The dashboard warns about a host whose agent clock is further than this from the hub's (s).
    clock_warn_s: float = 30.0
    #: Per-WebSocket queue of encoded frames, in bytes; a client this far behind loses the oldest.
    ws_queue_bytes: int = 4 << 20
    #: Open WebSocket sessions in all, and per viewer (per token, or per client address when no
    #: token is asked for): past these an upgrade is refused (close 1013, try again later).
    ws_max_sessions: int = 200
    ws_max_sessions_per_viewer: int = 20
    #: The hub pings every WebSocket this often (s); one that answers nothing for read_timeout_s is
    #: closed. A session's token is checked again this often too: revoking it ends the session.
    ws_ping_s: float = 5.0
    #: permessage-deflate on the live stream, "on" or "off": whether the hub accepts a client's
    #: offer to compress frames (browsers always offer it). On, each session compresses its own
    #: copy of every frame on the event loop, with a ~260 KiB compressor of its own: measured
    #: side by side (bench/ws_fanout.py, 2 cores), 138 us of hub CPU a frame a session against
    #: 51 us off for 50-series frames, 725 against 160 us for 1,000-series ones, so off by
    #: default; the figures in full are in docs/protocol.md.
    ws_compression: str = "off"
    #: Storage tiers (hostpulse.hub.storage): raw points of a closed window become one compressed chunk
    #: per series; a multiple of an hour, so hourly rollups never straddle two windows.
    chunk_window_s: int = 7200
    #: A window is compacted this long after it ends, leaving time for late batches.
    compact_delay_s: float = 600.0
    #: Seconds between compaction and retention runs (0 disables the background task).
    compact_interval_s: float = 60.0
    #: Retention per tier, in days: raw points and chunks, 1-minute rollups, 1-hour rollups.
    retain_raw_days: float = 14.0
    retain_1m_days: float = 90.0
    retain_1h_days: float = 730.0
    #: Alert history (alert_history) and delivered or silenced notifications (alert_outbox), in
    #: days. A fleet flapping across a level writes history rows as fast as it flaps, so they
    #: cannot be kept for ever; pending notifications and the alerts' current states always are.
    retain_alerts_days: float = 90.0
    #: Ingest requests per second per agent token, with bursts up to ``rate_limit_burst``; 0: off.
    rate_limit_per_s: float = 50.0
    rate_limit_burst: float = 500.0
    #: TLS: PEM certificate and key files; both set means the hub serves HTTPS only.
    certfile: str | None = None
    keyfile: str | None = None
    #: Viewer tokens for the dashboard, read API and WebSocket: "auto" asks for one only when the
    #: hub listens beyond loopback; "on" and "off" force it.
    viewer_auth: str = "auto"
    #: Seconds between saves of the anomaly detectors' state to the database.
    detector_save_s: float = 60.0
    anomaly: dict[str, Any] = field(default_factory=dict)
    #: The config's ``[alerts]`` table, validated by hostpulse.hub.alerts.config at load.
    alerts: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(
        cls,
        config_file: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
        **overrides: Any,
    ) -> Settings:
        """Merge defaults < TOML ``[hub]`` table < ``HOSTPULSE_<NAME>`` env vars < ``overrides``."""
        table: dict[str, Any] = {}
        values: dict[str, Any] = {}
        if config_file:
            path = Path(config_file)
            try:
                document = tomllib.loads(path.read_text())
            except (OSError, tomllib.TOMLDecodeError) as exc:
                raise SettingsError("--config", str(path), f"a readable TOML file ({exc})") from exc
            table = document.get("hub", {})
            # [anomaly] and [alerts] are tables of their own, read by their modules at the end.
            values.update({name: document[name] for name in _TABLES if name in document})
        known = {f.name for f in fields(cls)} - set(_TABLES)
        _refuse_unknown(table, known, "hub.{}")
        _refuse_unknown({k: v for k, v in overrides.items() if v is not None}, known, "--{}")
        env = os.environ if env is None else env
        given = layered(known, table=table, table_name="hub", env=env, flags=overrides)
        defaults = cls()
        for name, setting in given.items():
            values[name] = _coerce(setting, getattr(defaults, name))
        settings = cls(**values)

        def named(name: str) -> str:
            return given[name].named if name in given else f"hub.{name}"

        if settings.viewer_auth not in ("auto", "on", "off"):
            raise SettingsError(named("viewer_auth"), settings.viewer_auth, "auto, on or off")
        if settings.ws_compression not in ("on", "off"):
            raise SettingsError(named("ws_compression"), settings.ws_compression, "on or off")
        if settings.header_timeout_s < 1:
            raise SettingsError(named("header_timeout_s"), settings.header_timeout_s, "≥ 1 (s)")
        if settings.stale_window_s < settings.online_window_s:
            raise SettingsError(
                named("stale_window_s"), settings.stale_window_s,
                f"≥ online_window_s ({settings.online_window_s})",
            )
        parse_alerts(settings.alerts)  # a bad rule or notifier stops the hub here, key named
        return settings


def _refuse_unknown(layer: Mapping[str, Any], known: set[str], named: str) -> None:
    unknown = sorted(set(layer) - known)
    if unknown:
        key = unknown[0]
        shown = named.format(key if named.startswith("hub.") else key.replace("_", "-"))
        raise SettingsError(shown, layer[key], f"one of {', '.join(sorted(known))}")


#: Settings given as tables of the config file ([anomaly], [alerts]), never from env or flags.
_TABLES = ("anomaly", "alerts")


def _coerce(setting: Setting, default: Any) -> Any:
    """The value in the default's type (hostpulse.layering's rule, the agent's too); a number
    must not be negative. Errors name the key as the user wrote it."""
    kind = Path if isinstance(default, Path) else None if default is None else type(default)
    value = coerce(setting, kind, SettingsError)
    if isinstance(value, int | float) and value < 0:
        raise SettingsError(setting.named, setting.value, "a number ≥ 0")
    return value
