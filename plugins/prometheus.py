"""Scrape Prometheus exporters' ``/metrics`` pages into HostPulse series.

Gauges keep their value; counters become per-second rates (``NAME_per_s``); histogram buckets are
left out. Each target adds an ``instance`` label (``host:port``) and a ``<prefix>.up`` series that
is 1 when the scrape worked and 0 when it did not, as Prometheus's own ``up`` does.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx

from hostpulse import Option, Sample, Source, hookimpl
from hostpulse.agent.errors import ConfigError
from hostpulse.plugins import exposition
from hostpulse.plugins.names import check_prefix, check_urls
from hostpulse.plugins.rates import Rates

log = logging.getLogger("hostpulse.plugins.prometheus")

#: Ask for the classic text format; OpenMetrics is read too if a server insists.
ACCEPT = "text/plain;version=0.0.4;q=1,application/openmetrics-text;q=0.5,*/*;q=0.1"
#: An exporter page larger than this is refused rather than parsed into memory.
MAX_BODY = 16 * 2**20


class Prometheus(Source):
    """Series scraped from Prometheus exporters (node_exporter, a database's, your app's)."""

    name = "prometheus"
    interval = 10.0
    default_enabled = False  # nothing to scrape until urls are configured
    options: ClassVar[dict[str, Option]] = {
        "urls": Option(list, items=str, help='exporter pages, e.g. ["http://127.0.0.1:9100/metrics"]'),
        "scrape_timeout": Option(float, default=5.0, help="seconds before a scrape is abandoned"),
        "prefix": Option(str, default="prom", help='prepended to every metric name ("" for none)'),
        "max_series": Option(int, default=2000, help="series kept per target; the rest are dropped"),
        "verify": Option(bool, default=True, help="check https certificates"),
    }

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        #: The monotonic clock used for rates; tests put a fake one here.
        self.clock: Callable[[], float] = time.monotonic
        self._rates = Rates(lambda: self.clock())
        # "host:port", as Prometheus names an instance; with the path too when two URLs share one.
        netlocs = [urlsplit(url).netloc for url in self.config["urls"]]
        self._instances = {
            url: netloc if netlocs.count(netloc) == 1 else netloc + urlsplit(url).path
            for url, netloc in zip(self.config["urls"], netlocs, strict=True)
        }
        # Building an SSL context loads the CA bundle (milliseconds): do it once, not per scrape.
        self._verify: ssl.SSLContext | bool = (
            ssl.create_default_context() if self.config["verify"] else False
        )

    @classmethod
    def validate(cls, config: Mapping[str, Any]) -> dict[str, Any]:
        checked = super().validate(config)
        check_urls(cls.name, checked)
        check_prefix(cls.name, checked)
        if checked["max_series"] < 1:
            raise ConfigError(f"plugins.{cls.name}.max_series", checked["max_series"], "at least 1")
        return checked

    async def collect(self) -> list[Sample]:
        self._rates.tick()
        async with httpx.AsyncClient(
            timeout=self.config["scrape_timeout"], verify=self._verify, headers={"Accept": ACCEPT}
        ) as client:
            pages = await asyncio.gather(
                *(self._scrape(client, url) for url in self.config["urls"]), return_exceptions=True
            )
        samples: list[Sample] = []
        prefix = self.config["prefix"]
        for url, page in zip(self.config["urls"], pages, strict=True):
            instance = {"instance": self._instances[url]}
            up = not isinstance(page, BaseException)
            samples.append(Sample(exposition.metric_name(prefix, "up"), float(up), instance))
            if isinstance(page, BaseException):
                log.warning("%s: %s", url, page or type(page).__name__)
                continue
            parsed = exposition.parse(page)
            if parsed.skipped:
                log.debug("%s: %d unreadable lines skipped", url, parsed.skipped)
            samples.extend(exposition.to_samples(
                parsed.points, prefix, self._rates, source=url,
                max_series=self.config["max_series"], extra_labels=instance,
            ))
        return samples

    async def _scrape(self, client: httpx.AsyncClient, url: str) -> str:
        async with client.stream("GET", url) as response:
            response.raise_for_status()
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_BODY:
                    raise ValueError(f"page larger than {MAX_BODY} bytes")
            return body.decode(response.encoding or "utf-8", errors="replace")


@hookimpl
def register_sources() -> list[type[Source]]:
    return [Prometheus]
