"""The hook a hub plugin implements to send alerts, beside ``register_detectors``
(hostpulse.hub.anomaly.hookspecs): the same project marker, so one ``@hookimpl`` serves both."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import httpx
import pluggy

from hostpulse.hub.alerts.config import Notifier

hookspec = pluggy.HookspecMarker("hostpulse_hub")

#: Sends one grouped message: the alerts in the webhook Contract's form; returns what the other end
#: answered (shown by ``hostpulse alerts test``); raises on any failure, which is retried.
Sender = Callable[[Notifier, Sequence[Mapping[str, Any]], httpx.AsyncClient, float], Awaitable[str]]


@hookspec
def register_notifiers() -> dict[str, Sender]:  # type: ignore[empty-body]
    """Return ``{kind: sender}``. The built-in kinds (webhook, email, alertmanager, apprise) come
    from :mod:`hostpulse.hub.alerts.builtin_notifiers` through this hook; a plugin registered after
    them that returns one of those kinds replaces its sender::

        @hookimpl
        def register_notifiers():
            return {"webhook": my_webhook_sender}
    """
