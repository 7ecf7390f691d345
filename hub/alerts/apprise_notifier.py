"""The Apprise notifier: one message per group to Apprise URLs (Slack, Discord, Telegram, ntfy,
Matrix, Teams, Gotify, json:// and more), so HostPulse does not write one notifier per service."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from hostpulse.hub.alerts.config import Notifier
from hostpulse.hub.alerts.email import compose


async def send_apprise(
    notifier: Notifier,
    alerts: Sequence[Mapping[str, Any]],
    client: httpx.AsyncClient,
    timeout_s: float,
) -> str:
    import apprise  # the hub extra's; imported here so a hub without apprise notifiers never loads it

    urls = notifier.options["urls"]
    app = apprise.Apprise()
    for url in urls:
        if not app.add(url):
            raise ValueError(f"apprise refused the URL {url.split('://')[0]}://…")
    msg = compose({"from": "hostpulse", "to": [], **notifier.options}, alerts)
    body = msg.get_content()
    if not await app.async_notify(body=body, title=str(msg["Subject"])):
        raise RuntimeError(f"apprise: not every one of {len(urls)} URLs took the message")
    return f"sent to {len(urls)} apprise URLs"
