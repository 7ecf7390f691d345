"""Agents and hubs of different releases within protocol version 1, against the real hub: what a
newer agent adds is ignored, an older agent's batch is taken, the hub lists each host's agent
version and says its own, and only another protocol version is refused (docs/protocol.md)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from hostpulse import __version__
from tests.support.hub_process import LiveHub, make_batch, start_hub


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHub]:
    live = start_hub(tmp_path_factory.mktemp("skew-hub"))
    try:
        yield live
    finally:
        live.stop()


def cpu(ts: int) -> list[dict[str, object]]:
    return [{"metric": "cpu.percent", "labels": {}, "unit": "%", "ts": [ts], "values": [1.0]}]


def post(hub: LiveHub, host: str, batch: dict[str, object]) -> int:
    answer = httpx.post(f"{hub.url}/api/v1/ingest", json=batch, timeout=30,
                        headers={"Authorization": f"Bearer {hub.token(host)}"})
    return answer.status_code


def listed_version(hub: LiveHub, host: str) -> str:
    hosts = {h["name"]: h for h in hub.get("/api/v1/hosts").json()["hosts"]}
    return str(hosts[host]["agent_version"])


def wait_listed(hub: LiveHub, host: str, version: str) -> None:
    deadline = time.monotonic() + 10
    while listed_version(hub, host) != version:
        assert time.monotonic() < deadline, listed_version(hub, host)
        time.sleep(0.1)


def test_a_newer_agent_s_additions_are_ignored(hub: LiveHub) -> None:
    batch = make_batch("newer", cpu(int(time.time() * 1000)))
    batch["agent"] = {"version": "99.0.0", "features": ["zstd"]}  # keys a later release may add
    batch["compression_hint"] = "zstd"
    assert post(hub, "newer", batch) == 200
    wait_listed(hub, "newer", "99.0.0")


def test_an_older_agent_without_agent_info_is_taken(hub: LiveHub) -> None:
    batch = make_batch("older", cpu(int(time.time() * 1000)))
    del batch["agent"]  # optional: the earliest agents sent none
    assert post(hub, "older", batch) == 200
    assert listed_version(hub, "older") == ""


def test_another_protocol_version_is_refused_with_its_code(hub: LiveHub) -> None:
    batch = make_batch("future", cpu(int(time.time() * 1000)))
    batch["version"] = 2
    answer = httpx.post(f"{hub.url}/api/v1/ingest", json=batch, timeout=30,
                        headers={"Authorization": f"Bearer {hub.token('future')}"})
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "unsupported_version"


def test_the_hub_says_its_version_and_the_upgrade_command(hub: LiveHub) -> None:
    answer = hub.get("/install/version").json()
    assert answer == {"version": __version__, "upgrade": f"curl -fsSL {hub.url}/install.sh | sudo sh"}
