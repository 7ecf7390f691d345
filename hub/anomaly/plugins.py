"""Finding detectors: the plugin manager of the hub's ``register_detectors`` hook."""

from __future__ import annotations

import logging
from typing import Any

import pluggy

from hostpulse.hub.anomaly import builtin, hookspecs
from hostpulse.hub.anomaly.detector import Detector
from hostpulse.hub.errors import SettingsError

ENTRY_POINT_GROUP = "hostpulse.hub_plugins"
log = logging.getLogger("hostpulse.anomaly")


def plugin_manager(*, entry_points: bool = True) -> pluggy.PluginManager:
    """A plugin manager with the hookspecs, the built-in detectors and (optionally) installed
    plugins from the ``hostpulse.hub_plugins`` entry-point group. Misspelt hooks are rejected."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    pm.register(builtin, name="hostpulse.builtin_detectors")
    if entry_points:
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    pm.check_pending()
    return pm


def detector_classes(pm: pluggy.PluginManager) -> dict[str, type[Detector]]:
    """Every registered detector class by name. A plugin whose hook raises is logged and skipped,
    so one broken plugin cannot take the built-in detectors down with it."""
    found: dict[str, type[Detector]] = {}
    for impl in pm.hook.register_detectors.get_hookimpls():
        try:
            returned: Any = impl.function()
            classes: list[Any] = list(returned or [])
        except Exception:
            log.exception("detector plugin %s failed in register_detectors", impl.plugin_name)
            continue
        for cls in classes:
            if not (isinstance(cls, type) and issubclass(cls, Detector)) or not cls.name:
                raise SettingsError(
                    f"plugin {impl.plugin_name}", cls, "Detector subclasses with a name"
                )
            if cls.name in found and found[cls.name] is not cls:
                raise SettingsError(
                    f"plugin {impl.plugin_name}", cls.name, "a detector name not already taken"
                )
            found[cls.name] = cls
    return found
