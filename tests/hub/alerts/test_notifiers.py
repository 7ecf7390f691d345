"""Each notifier kind through its plugin sender against a real receiver: an SMTP server (aiosmtpd,
plain, STARTTLS and implicit TLS), a real Alertmanager (Debian's prometheus-alertmanager) and Apprise's json://
posting to a real HTTP receiver."""

from __future__ import annotations

import asyncio
import json
import shutil
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message

from hostpulse.hub.alerts.config import parse_alerts
from hostpulse.hub.alerts.delivery import Delivery
from tests.hub.alerts.receiver import Receiver
from tests.support.hub_process import free_port

FIRING = {"rule": "disk_full", "kind": "threshold", "severity": "critical", "state": "firing",
          "host": "web1", "metric": "disk.percent", "labels": {"mount": "/"}, "value": 97.5,
          "starts_at": 1_765_080_000_000, "ends_at": None,
          "url": "http://hub:8080/#host=web1&at=1765080000000"}  # fmt: skip


def delivery(notifier: dict[str, object]) -> Delivery:
    config = parse_alerts({"defaults": False, "notifiers": [{"name": "n", **notifier}]})
    return Delivery(config, timeout_s=5)


async def send(notifier: dict[str, object], alerts: list[dict[str, object]]) -> str:
    d = delivery(notifier)
    d._client = httpx.AsyncClient()
    try:
        return await d.send("n", alerts)
    finally:
        await d._client.aclose()


class Inbox(Message):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[object] = []

    def handle_message(self, message: object) -> None:
        self.messages.append(message)


@pytest.fixture
def cert(tmp_path: Path) -> tuple[Path, Path]:
    key, crt = tmp_path / "key.pem", tmp_path / "crt.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
         "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", str(key), "-out", str(crt)],
        check=True, capture_output=True,
    )  # fmt: skip
    return key, crt


def server_tls(cert: tuple[Path, Path]) -> ssl.SSLContext:
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert[1], cert[0])
    return tls


def smtp_server(inbox: Inbox, security: str, cert: tuple[Path, Path]) -> Controller:
    """A real aiosmtpd server: plain, STARTTLS required, or implicit TLS from the first byte
    (SMTPS, the port-465 style), with the test's self-signed certificate."""
    port = free_port()
    if security == "tls":
        return Controller(inbox, hostname="127.0.0.1", port=port, ssl_context=server_tls(cert))
    tls = server_tls(cert) if security == "starttls" else None
    return Controller(inbox, hostname="127.0.0.1", port=port, tls_context=tls,
                      require_starttls=tls is not None)  # fmt: skip


@pytest.mark.parametrize("security", ["none", "starttls", "tls"])
async def test_email_reaches_a_real_smtp_server(security: str, cert: tuple[Path, Path]) -> None:
    inbox = Inbox()
    server = smtp_server(inbox, security, cert)
    port = server.port
    server.start()
    try:
        result = await send({"kind": "email", "host": "127.0.0.1", "port": port,
                             "security": security, "ca_file": str(cert[1]),
                             "from": "hub@example.org", "to": ["ops@example.org"]},
                            [FIRING])  # fmt: skip
    finally:
        server.stop()
    assert result.startswith("250")
    (mail,) = inbox.messages
    assert mail["To"] == "ops@example.org"
    assert mail["Subject"] == "HostPulse: [FIRING:1] disk_full on web1"
    text = mail.get_payload(decode=True).decode()  # quoted-printable on the wire
    assert "value=97.5" in text and "http://hub:8080/#host=web1&at=1765080000000" in text


async def test_implicit_tls_email_refuses_an_untrusted_certificate(
    cert: tuple[Path, Path],
) -> None:
    """Without ca_file the system's CAs do not know the self-signed server: the attempt raises
    (so the outbox retries it) and nothing is delivered in clear."""
    inbox = Inbox()
    server = smtp_server(inbox, "tls", cert)
    server.start()
    try:
        with pytest.raises(ssl.SSLCertVerificationError):
            await send({"kind": "email", "host": "127.0.0.1", "port": server.port,
                        "security": "tls", "from": "hub@example.org",
                        "to": ["ops@example.org"]}, [FIRING])  # fmt: skip
    finally:
        server.stop()
    assert inbox.messages == []


def test_email_config_names_the_bad_key() -> None:
    with pytest.raises(Exception, match=r"alerts.notifiers\[0\].to"):
        parse_alerts({"notifiers": [{"name": "n", "kind": "email", "host": "h",
                                     "from": "a@b", "to": "ops"}]})  # fmt: skip
    with pytest.raises(Exception, match=r"alerts.notifiers\[0\].urls"):
        parse_alerts({"notifiers": [{"name": "n", "kind": "apprise", "urls": []}]})


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[str]:
    binary = shutil.which("prometheus-alertmanager")
    if binary is None:
        pytest.skip(
            "prometheus-alertmanager is not installed (make test installs Debian's package)"
        )
    config = tmp_path / "am.yml"
    config.write_text("route:\n  receiver: 'null'\nreceivers:\n  - name: 'null'\n")
    port = free_port()
    process = subprocess.Popen(
        [binary, f"--config.file={config}", f"--storage.path={tmp_path / 'am'}",
         f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "alertmanager did not become ready"
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(10)


def test_alertmanager_receives_and_lists_the_alert(alertmanager: str) -> None:
    notifier = {"kind": "alertmanager", "url": alertmanager}
    assert asyncio.run(send(notifier, [FIRING])).startswith("200")
    (alert,) = httpx.get(f"{alertmanager}/api/v2/alerts").json()
    assert alert["labels"] == {"alertname": "disk_full", "host": "web1", "severity": "critical",
                               "metric": "disk.percent", "mount": "/"}  # fmt: skip
    assert alert["status"]["state"] == "active"
    assert alert["startsAt"].startswith("2025-12-07T04:00:00")
    resolved = {**FIRING, "state": "resolved", "ends_at": 1_765_080_060_000}
    asyncio.run(send(notifier, [resolved]))
    # the same label set with endsAt in the past: Alertmanager takes it as resolved, no longer active
    assert httpx.get(f"{alertmanager}/api/v2/alerts", params={"active": "true"}).json() == []


async def test_apprise_json_url_posts_to_a_real_receiver(receiver: Receiver) -> None:
    url = f"json://127.0.0.1:{receiver.port}/hook"
    result = await send({"kind": "apprise", "urls": [url]}, [FIRING])
    assert result == "sent to 1 apprise URLs"
    await asyncio.sleep(0)
    ((body, _),) = receiver.bodies
    sent = json.loads(body)
    assert sent["title"] == "HostPulse: [FIRING:1] disk_full on web1"
    assert "value=97.5" in sent["message"]


async def test_apprise_failure_raises_so_it_is_retried(receiver: Receiver) -> None:
    receiver.down()
    with pytest.raises(RuntimeError, match="apprise"):
        await send(
            {"kind": "apprise", "urls": [f"json://127.0.0.1:{receiver.port}/hook"]}, [FIRING]
        )
