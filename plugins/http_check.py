"""Probe URLs: is it up, what status, how fast, and how many days the TLS certificate has left."""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

import httpx

from hostpulse import Option, Sample, Source, hookimpl
from hostpulse.agent.errors import ConfigError
from hostpulse.plugins.names import check_urls

log = logging.getLogger("hostpulse.plugins.http_check")


class HttpCheck(Source):
    """Availability, status code, response time and certificate expiry of web endpoints."""

    name = "http_check"
    interval = 30.0
    default_enabled = False  # nothing to probe until urls are configured
    options: ClassVar[dict[str, Option]] = {
        "urls": Option(list, items=str, help='URLs to probe, e.g. ["https://example.org/health"]'),
        "method": Option(str, default="GET", help="HTTP method: GET or HEAD"),
        "request_timeout": Option(float, default=10.0, help="seconds before a probe counts as down"),
        "expected_status": Option(int, default=0,
                                  help="the status that means up (0: any 2xx or 3xx)"),
        "follow_redirects": Option(bool, default=False, help="follow redirects to the final page"),
        "verify": Option(bool, default=True, help="check https certificates (needed for expiry)"),
        "ca_file": Option(str, default="", help="a PEM file of CAs to trust instead of the system's"),
    }

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        #: Clocks; tests may replace them. ``clock`` times requests, ``wall`` dates certificates.
        self.clock: Callable[[], float] = time.perf_counter
        self.wall: Callable[[], float] = time.time
        self._verify: ssl.SSLContext | bool = False
        if self.config["verify"]:
            # Build the context once: loading a CA bundle costs milliseconds per probe otherwise.
            cafile = self.config["ca_file"] or None
            self._verify = ssl.create_default_context(cafile=cafile)

    @classmethod
    def validate(cls, config: Mapping[str, Any]) -> dict[str, Any]:
        checked = super().validate(config)
        check_urls(cls.name, checked)
        if checked["ca_file"] and not Path(checked["ca_file"]).is_file():
            raise ConfigError(f"plugins.{cls.name}.ca_file", checked["ca_file"], "a readable PEM file")
        checked["method"] = checked["method"].upper()
        if checked["method"] not in ("GET", "HEAD"):
            raise ConfigError(f"plugins.{cls.name}.method", checked["method"], "GET or HEAD")
        if checked["request_timeout"] <= 0:
            key = f"plugins.{cls.name}.request_timeout"
            raise ConfigError(key, checked["request_timeout"], "a positive number")
        return checked

    async def collect(self) -> list[Sample]:
        # A fresh client per round: each probe pays its own connect and TLS handshake, as a
        # visitor would, and the certificate is read from a live handshake.
        async with httpx.AsyncClient(
            timeout=self.config["request_timeout"], verify=self._verify,
            follow_redirects=self.config["follow_redirects"],
        ) as client:
            rounds = await asyncio.gather(*(self._probe(client, url) for url in self.config["urls"]))
        return [sample for samples in rounds for sample in samples]

    async def _probe(self, client: httpx.AsyncClient, url: str) -> list[Sample]:
        labels = {"url": url}
        started = self.clock()
        try:
            async with client.stream(self.config["method"], url) as response:
                expiry = self._certificate_days(response)
                # The response time covers the whole body, as a browser would wait for it.
                async for _ in response.aiter_raw():
                    pass
        except httpx.HTTPError as error:
            log.warning("%s: %s", url, error or type(error).__name__)
            return [Sample("http.up", 0.0, labels)]
        elapsed = self.clock() - started
        status = response.status_code
        expected = self.config["expected_status"]
        up = status == expected if expected else 200 <= status < 400
        samples = [
            Sample("http.up", float(up), labels),
            Sample("http.status_code", float(status), labels),
            Sample("http.response_seconds", elapsed, labels, "s"),
        ]
        if expiry is not None:
            samples.append(Sample("http.cert_expiry_days", expiry, labels, "d"))
        return samples

    def _certificate_days(self, response: httpx.Response) -> float | None:
        stream = response.extensions.get("network_stream")
        ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
        if ssl_object is None:
            return None
        # Only a verified certificate is decoded by the ssl module; verify=false gives {}.
        cert = ssl_object.getpeercert()
        if not cert or "notAfter" not in cert:
            return None
        expires = ssl.cert_time_to_seconds(cert["notAfter"])
        return round((expires - self.wall()) / 86400.0, 3)


@hookimpl
def register_sources() -> list[type[Source]]:
    return [HttpCheck]
