"""The hub's own figures in the Prometheus text format."""

from __future__ import annotations

from quart import current_app

from hostpulse.hub.state import HubState


def render_metrics(state: HubState, compaction_lag_s: float) -> str:
    """Counters are totals since start: Prometheus's rate() turns them into ingest rates and, with
    ``hostpulse_writer_commits_total``, ``hostpulse_commit_seconds_total`` into mean commit latency."""
    writer = state.writer.stats
    # fmt: off
    rows = [
        ("ingest_samples_total", "counter", "Samples committed since start.", writer.samples),
        ("ingest_batches_total", "counter", "Batches committed since start.", writer.batches),
        ("writer_commits_total", "counter", "Group commits since start.", writer.commits),
        ("commit_seconds_total", "counter", "Time spent in group commits.", writer.commit_seconds_total),
        ("commit_seconds_last", "gauge", "Duration of the last group commit.", writer.last_commit_seconds),
        ("write_queue_depth", "gauge", "Batches waiting for the writer.", state.writer.depth),
        ("compaction_lag_seconds", "gauge", "Seconds since compaction last succeeded.", compaction_lag_s),
        ("websocket_clients", "gauge", "Connected WebSocket sessions.", state.ws_clients),
        ("websocket_frames_dropped_total", "counter", "Live frames slow sessions lost.", state.bus.dropped_frames),
        ("token_cache_hits_total", "counter", "Agent tokens found in the cache (PostgreSQL only).", state.tokens.hits),
    ]
    redis = getattr(state.bus, "stats", None)  # a RedisBus (--redis): the live view between hubs
    if redis is not None:
        rows += [
            ("redis_frames_published_total", "counter", "Live frames sent to the other hubs.", redis.published),
            ("redis_frames_received_total", "counter", "Live frames from other hubs shown here.", redis.received),
            ("redis_frames_dropped_total", "counter", "Live frames for other hubs lost (queue full, Redis down).", redis.dropped),
            ("redis_reconnects_total", "counter", "Redis outages the channel reader survived.", redis.reconnects),
            ("redis_connected", "gauge", "1 while subscribed to the live channel.", int(redis.connected)),
        ]
    alerts = current_app.extensions.get("hostpulse.alerts")  # hostpulse.hub.alerts.service
    if alerts is not None:
        sent = alerts.delivery.stats
        rows += [
            ("alert_notifications_sent_total", "counter", "Alert messages notifiers took.", sent.sent),
            ("alert_notification_failures_total", "counter", "Alert sends that failed (retried).", sent.failed_attempts),
        ]
    # fmt: on
    out: list[str] = []
    for name, kind, help_text, value in rows:
        out += [
            f"# HELP hostpulse_{name} {help_text}",
            f"# TYPE hostpulse_{name} {kind}",
            f"hostpulse_{name} {value}",
        ]
    out += [
        "# HELP hostpulse_host_clock_offset_seconds The agent's clock minus the hub's (Date header).",
        "# TYPE hostpulse_host_clock_offset_seconds gauge",
    ]
    for reading in sorted(state.clocks.readings.values(), key=lambda r: r.host):
        out.append(
            f'hostpulse_host_clock_offset_seconds{{host="{_label(reading.host)}"}} '
            f"{reading.offset_ms / 1000}"
        )
    return "\n".join(out) + "\n"


def _label(value: str) -> str:
    """A Prometheus label value: backslash, double quote and newline escaped."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
