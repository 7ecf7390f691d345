from __future__ import annotations

import ssl
import time
from pathlib import Path

import pytest
from recorded import by_key, collect, key
from servers import self_signed, serve

from hostpulse.agent.errors import ConfigError
from hostpulse.plugins.http_check import HttpCheck

ROUTES = {
    "/health": (200, {"Content-Type": "text/plain"}, b"ok"),
    "/old": (301, {"Location": "/health"}, b""),
    "/teapot": (418, {}, b"short and stout"),
}


async def test_status_latency_and_up() -> None:
    with serve(ROUTES) as base:
        urls = [f"{base}/health", f"{base}/old", f"{base}/teapot", f"{base}/missing"]
        values = by_key(await collect(HttpCheck(urls=urls)))
    for url, status, up in zip(urls, (200, 301, 418, 404), (1.0, 1.0, 0.0, 0.0), strict=True):
        assert values[key("http.status_code", url=url)] == status
        assert values[key("http.up", url=url)] == up
        assert 0 < values[key("http.response_seconds", url=url)] < 10
    assert not any(metric == "http.cert_expiry_days" for metric, _ in values)


async def test_expected_status_redirects_and_head() -> None:
    with serve(ROUTES) as base:
        teapot = by_key(await collect(HttpCheck(urls=[f"{base}/teapot"], expected_status=418)))
        followed = by_key(await collect(HttpCheck(urls=[f"{base}/old"], follow_redirects=True,
                                                  method="head")))
    assert teapot[key("http.up", url=f"{base}/teapot")] == 1.0
    assert followed[key("http.status_code", url=f"{base}/old")] == 200


async def test_unreachable_is_down_without_a_status() -> None:
    with serve(ROUTES) as base:
        pass  # the port is closed again once the server stopped
    samples = await collect(HttpCheck(urls=[f"{base}/health"], request_timeout=2.0))
    assert [(s.metric, s.value) for s in samples] == [("http.up", 0.0)]


async def test_https_certificate_expiry_in_days(tmp_path: Path) -> None:
    cert, private_key = self_signed(tmp_path, days=30)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, private_key)
    with serve(ROUTES, context) as base:
        url = f"{base}/health"
        trusted = HttpCheck(urls=[url], ca_file=str(cert))
        values = by_key(await collect(trusted))
        trusted.wall = lambda: time.time() + 20 * 86400  # twenty days later
        later = by_key(await collect(trusted))
        untrusted = by_key(await collect(HttpCheck(urls=[url])))
        unverified = by_key(await collect(HttpCheck(urls=[url], verify=False)))
    assert values[key("http.up", url=url)] == 1.0
    assert 29.9 < values[key("http.cert_expiry_days", url=url)] <= 30.0
    assert 9.9 < later[key("http.cert_expiry_days", url=url)] <= 10.0
    # A certificate the system does not trust is a failed check, as a browser would see it.
    assert untrusted == {key("http.up", url=url): 0.0}
    # Without verification the page is up but the certificate is not decoded.
    assert unverified[key("http.status_code", url=url)] == 200
    assert key("http.cert_expiry_days", url=url) not in unverified


def test_config_errors_name_the_key() -> None:
    with pytest.raises(ConfigError, match=r"plugins\.http_check\.urls = missing"):
        HttpCheck()
    with pytest.raises(ConfigError, match=r"plugins\.http_check\.urls = 'ftp://x'"):
        HttpCheck(urls=["ftp://x"])
    with pytest.raises(ConfigError, match=r"plugins\.http_check\.method = 'POST'"):
        HttpCheck(urls=["http://x"], method="post")
    with pytest.raises(ConfigError, match=r"plugins\.http_check\.ca_file = '/nonexistent.pem'"):
        HttpCheck(urls=["https://x"], ca_file="/nonexistent.pem")
    assert HttpCheck.default_enabled is False
