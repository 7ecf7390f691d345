"""Security defaults through a real hub: headers on every page, per-token rate limits, TLS."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path

import httpx
import pytest
import schemathesis
from schemathesis.checks import (
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.hub.test_ingest_api import assert_error, cpu_series
from tests.support.hub_process import LiveHub, start_hub


@pytest.mark.parametrize("path", ["/", "/api/v1/hosts", "/healthz", "/openapi.json", "/api/v1/nope"])
def test_every_response_carries_the_security_headers(live_hub: LiveHub, path: str) -> None:
    headers = live_hub.get(path).headers
    csp = headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self';" in csp
    assert "unsafe-inline" not in csp.split("script-src", 1)[1].split(";", 1)[0]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"


def test_rate_limit_answers_429_with_retry_after(tmp_path: Path) -> None:
    hub = start_hub(tmp_path, env={"HOSTPULSE_RATE_LIMIT_PER_S": "0.5", "HOSTPULSE_RATE_LIMIT_BURST": "2"})
    try:
        answers = [hub.post_batch("web-1", cpu_series([float(i)])) for i in range(3)]
        assert [a.status_code for a in answers[:2]] == [200, 200]
        assert_error(answers[2], 429, "rate_limited")
        assert int(answers[2].headers["Retry-After"]) >= 1
        # ... as /openapi.json says: schemathesis checks the real 429 against what it declares.
        declared = hub.get("/openapi.json").json()["paths"]["/api/v1/ingest"]["post"]["responses"]
        assert declared["429"]["headers"]["Retry-After"]["required"] is True
        api = schemathesis.openapi.from_url(f"{hub.url}/openapi.json")
        case = api["/api/v1/ingest"]["POST"].Case(body={})
        case.validate_response(schemathesis.Response.from_any(answers[2]), checks=[
            status_code_conformance, response_headers_conformance, response_schema_conformance])
        # Another host's token has its own allowance.
        assert hub.post_batch("web-2", cpu_series([1.0])).status_code == 200
    finally:
        hub.stop()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_hub_serves_https_with_the_given_certificate(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    hub = start_hub(tmp_path / "hub", extra_args=("--certfile", str(cert), "--keyfile", str(key)),
                    scheme="https", verify=ssl.create_default_context(cafile=str(cert)))
    try:
        assert httpx.get(f"{hub.url}/healthz", verify=ssl.create_default_context(cafile=str(cert))).status_code == 200
        with pytest.raises(httpx.ConnectError):  # an unknown CA is refused, not silently trusted
            httpx.get(f"{hub.url}/healthz")
    finally:
        hub.stop()
