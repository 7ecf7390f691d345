"""The senders of each notifier kind, from every plugin's ``register_notifiers`` hook."""

from __future__ import annotations

import logging
from typing import Any

import pluggy

from hostpulse.hub.alerts.hookspecs import Sender

log = logging.getLogger("hostpulse.alerts")


def senders(pm: pluggy.PluginManager) -> dict[str, Sender]:
    """Kind → sender, in registration order (built-ins first, so a plugin can replace one). A
    plugin whose hook raises or returns something else than callables by kind is logged, skipped."""
    found: dict[str, Sender] = {}
    for impl in pm.hook.register_notifiers.get_hookimpls():
        try:
            returned: Any = impl.function()
            if not isinstance(returned, dict) or not all(
                isinstance(k, str) and callable(v) for k, v in returned.items()
            ):
                raise TypeError(f"returned {returned!r}, expected {{kind: sender}}")
        except Exception as exc:  # noqa: BLE001 - a broken plugin is reported, never fatal
            log.error("notifier plugin %s skipped: register_notifiers: %s", impl.plugin_name, exc)
            continue
        found.update(returned)
    return found
