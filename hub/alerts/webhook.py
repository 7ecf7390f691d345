"""The webhook notifier: the Contract's JSON body, signed with HMAC-SHA256 when a secret is set."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from hostpulse.hub.alerts.config import Notifier
from hostpulse.hub.alerts.states import FIRING, Transition

SIGNATURE_HEADER = "X-HostPulse-Signature"
BODY_VERSION = 1


def webhook_body(transitions: Sequence[Transition], base_url: str = "") -> bytes:
    """``{"version": 1, "status": …, "alerts": […]}``: firing while any alert in it fires."""
    return alerts_body([t.alert_json(base_url) for t in transitions])


def alerts_body(alerts: Sequence[Mapping[str, Any]]) -> bytes:
    """The body of alerts already in their Contract form (as the outbox stores them)."""
    status = "firing" if any(a["state"] == FIRING for a in alerts) else "resolved"
    body: dict[str, Any] = {"version": BODY_VERSION, "status": status, "alerts": list(alerts)}
    return json.dumps(body, separators=(",", ":")).encode()


def signature(secret: str, body: bytes) -> str:
    """The header value a receiver recomputes: ``sha256=<hex HMAC-SHA256 of the raw body>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def send_webhook(
    notifier: Notifier, body: bytes, client: httpx.AsyncClient, timeout_s: float
) -> str:
    """POST the body; raises on a transport error or a non-2xx answer, returns the status line."""
    headers = {"Content-Type": "application/json", "User-Agent": "hostpulse-hub"}
    secret = notifier.options.get("secret")
    if isinstance(secret, str) and secret:
        headers[SIGNATURE_HEADER] = signature(secret, body)
    response = await client.post(
        str(notifier.options["url"]), content=body, headers=headers, timeout=timeout_s
    )
    response.raise_for_status()
    return f"{response.status_code} {response.reason_phrase}"


async def send_webhook_alerts(
    notifier: Notifier,
    alerts: Sequence[Mapping[str, Any]],
    client: httpx.AsyncClient,
    timeout_s: float,
) -> str:
    return await send_webhook(notifier, alerts_body(alerts), client, timeout_s)
