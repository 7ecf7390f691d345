"""Finding detectors: the plugin manager of the hub's ``register_detectors`` hook."""

from __future__ import annotations

import logging
from importlib import metadata
from typing import Any

import pluggy

from hostpulse.hub.alerts import builtin_notifiers
from hostpulse.hub.alerts import hookspecs as alert_hookspecs
from hostpulse.hub.anomaly import builtin, hookspecs
from hostpulse.hub.anomaly.detector import Detector

ENTRY_POINT_GROUP = "hostpulse.hub_plugins"
log = logging.getLogger("hostpulse.anomaly")


def plugin_manager(*, entry_points: bool = True) -> pluggy.PluginManager:
    """A plugin manager with the hookspecs, the built-in detectors and (optionally) installed
    plugins from the ``hostpulse.hub_plugins`` entry-point group. Misspelt hooks are rejected.

    An installed plugin that fails to import, or declares a hook this hub does not have, is logged
    and skipped, as the agent does with its sources: one broken plugin must not stop the hub."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    pm.add_hookspecs(alert_hookspecs)  # register_notifiers (hostpulse.hub.alerts)
    pm.register(builtin, name="hostpulse.builtin_detectors")
    pm.register(builtin_notifiers, name="hostpulse.builtin_notifiers")
    if entry_points:
        for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
            _load(pm, ep)
    pm.check_pending()
    return pm


def _load(pm: pluggy.PluginManager, ep: metadata.EntryPoint) -> None:
    if pm.get_plugin(ep.name) is not None or pm.is_blocked(ep.name):
        return
    try:
        plugin = ep.load()
    except Exception as exc:  # noqa: BLE001 - whatever a plugin raises on import, it is skipped
        log.error("detector plugin %s (%s) failed to load, skipped: %r", ep.name, ep.value, exc)
        return
    try:
        pm.register(plugin, name=ep.name)
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        pm.unregister(name=ep.name)
        log.error("detector plugin %s (%s) skipped: %s", ep.name, ep.value, exc)


def detector_classes(pm: pluggy.PluginManager) -> dict[str, type[Detector]]:
    """Every registered detector class by name. A plugin whose hook raises, returns something other
    than named Detector subclasses or takes a name already registered is logged and skipped, so
    one broken plugin cannot take the built-in detectors down with it."""
    found: dict[str, type[Detector]] = {}
    for (
        impl
    ) in pm.hook.register_detectors.get_hookimpls():  # in registration order: built-ins first
        try:
            returned: Any = impl.function()
            classes = _checked(list(returned or []), found)
        except Exception as exc:  # noqa: BLE001 - a broken plugin is reported, never fatal
            log.error("detector plugin %s skipped: register_detectors: %s", impl.plugin_name, exc)
            continue
        found.update((cls.name, cls) for cls in classes)
    return found


def _checked(classes: list[Any], found: dict[str, type[Detector]]) -> list[type[Detector]]:
    for cls in classes:
        if not (isinstance(cls, type) and issubclass(cls, Detector)) or not cls.name:
            raise TypeError(f"returned {cls!r}, expected Detector subclasses with a name")
        if found.get(cls.name, cls) is not cls:
            raise TypeError(f"detector name {cls.name!r} is already taken")
    return classes
