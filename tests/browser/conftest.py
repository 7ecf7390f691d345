"""Browser fixtures: Debian's chromium driven by Playwright, and a feeder that posts batches.

The `live_hub` fixture comes from tests/conftest.py: a real hub process with `.url` (its base
URL) and `.post_batch(host, series)` (an authenticated ingest, returning the httpx response). Chromium is Debian's package, launched by
path; `playwright install` is never run.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

playwright_sync = pytest.importorskip("playwright.sync_api")

CHROMIUM = os.environ.get("HOSTPULSE_CHROMIUM", "/usr/bin/chromium")
# The network here is closed: without these, chromium stalls on background connections.
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


class Feeder:
    """Posts protocol-v1 batches to the hub as an agent would, one token per host."""

    def __init__(self, hub: Any) -> None:
        self.hub = hub

    def post(self, host: str, series: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """Send `series` ([{metric, labels, unit, ts, values}]) for `host`; return the hub's answer."""
        response = self.hub.post_batch(host, list(series))
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    def cpu(
        self, host: str, values: Sequence[float], end_ms: int | None = None, step_ms: int = 1000
    ) -> None:
        """Post total-CPU points ending at `end_ms` (now by default), one `step_ms` apart."""
        end = end_ms if end_ms is not None else int(time.time() * 1000)
        ts = [end - step_ms * (len(values) - 1 - i) for i in range(len(values))]
        self.post(host, [series("cpu.percent", ts, values, unit="%", labels={"cpu": "total"})])


def series(
    metric: str,
    ts: Sequence[int],
    values: Sequence[float],
    unit: str = "",
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One series of a batch, in the wire's columnar shape."""
    return {
        "metric": metric,
        "labels": labels or {},
        "unit": unit,
        "ts": list(ts),
        "values": list(values),
    }


@dataclass
class Dashboard:
    """A page on the hub's dashboard, with the console errors it logged so far."""

    page: Any
    url: str
    errors: list[str] = field(default_factory=list)

    def open(self, route: str = "#/") -> None:
        self.page.goto(f"{self.url}/{route}")
        self.page.wait_for_function(
            "() => window.hostpulse && window.hostpulse.live.state === 'open'"
        )

    def wait(self, expression: str, arg: Any = None, timeout: float = 15_000) -> Any:
        """Wait until the JS `expression` (a function of `arg`) is truthy; return its value."""
        return self.page.wait_for_function(expression, arg=arg, timeout=timeout).json_value()

    def evaluate(self, expression: str, arg: Any = None) -> Any:
        return self.page.evaluate(expression, arg)

    def points_received(self, key: str) -> int:
        return int(
            self.page.evaluate(
                "(k) => { const c = window.hostpulse.charts.get(k); return c ? c.pointsReceived : -1 }",
                key,
            )
        )


@pytest.fixture
def feeder(live_hub: Any) -> Feeder:
    return Feeder(live_hub)


@pytest.fixture
def dashboard(browser: Any, live_hub: Any, request: pytest.FixtureRequest) -> Iterator[Dashboard]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    board = Dashboard(page=page, url=live_hub.url.rstrip("/"))
    page.on("console", lambda m: board.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: board.errors.append(f"uncaught: {e}"))
    yield board
    ARTIFACTS.mkdir(exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    try:
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    finally:
        context.close()
