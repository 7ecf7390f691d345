"""The hub's own figures in the Prometheus text format."""

from __future__ import annotations

from hub.state import HubState


def render_metrics(state: HubState) -> str:
    writer = state.writer.stats
    lines = [
        (
            "hostpulse_ingest_samples_total",
            "counter",
            "Samples committed since start.",
            writer.samples,
        ),
        (
            "hostpulse_ingest_batches_total",
            "counter",
            "Batches committed since start.",
            writer.batches,
        ),
        ("hostpulse_writer_commits_total", "counter", "Group commits since start.", writer.commits),
        (
            "hostpulse_write_queue_depth",
            "gauge",
            "Batches waiting for the writer.",
            state.writer.depth,
        ),
        (
            "hostpulse_commit_seconds_last",
            "gauge",
            "Duration of the last group commit.",
            writer.last_commit_seconds,
        ),
        ("hostpulse_websocket_clients", "gauge", "Connected WebSocket sessions.", state.ws_clients),
        (
            "hostpulse_websocket_frames_dropped_total",
            "counter",
            "Live frames dropped because a session could not keep up.",
            state.bus.dropped_frames,
        ),
    ]
    out: list[str] = []
    for name, kind, help_text, value in lines:
        out += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", f"{name} {value}"]
    return "\n".join(out) + "\n"
