"""The built-in notifier kinds, registered through ``register_notifiers`` like any plugin."""

from __future__ import annotations

import pluggy

from hostpulse.hub.alerts.alertmanager import send_alertmanager
from hostpulse.hub.alerts.apprise_notifier import send_apprise
from hostpulse.hub.alerts.email import send_email
from hostpulse.hub.alerts.hookspecs import Sender
from hostpulse.hub.alerts.webhook import send_webhook_alerts

hookimpl = pluggy.HookimplMarker("hostpulse_hub")


@hookimpl
def register_notifiers() -> dict[str, Sender]:
    return {
        "webhook": send_webhook_alerts,
        "email": send_email,
        "alertmanager": send_alertmanager,
        "apprise": send_apprise,
    }
