"""Every hub hook is documented, and the built-in detectors come through the hook."""

from __future__ import annotations

import inspect

import pluggy

from hostpulse.hub.anomaly import hookspecs
from hostpulse.hub.anomaly.plugins import detector_classes, plugin_manager


def test_every_hookspec_has_a_docstring() -> None:
    specs = [f for _, f in inspect.getmembers(hookspecs, inspect.isfunction)]
    assert specs
    for spec in specs:
        assert spec.__doc__ and len(spec.__doc__) > 80, spec.__name__


def test_builtin_detectors_are_registered_like_a_plugin() -> None:
    pm = plugin_manager(entry_points=False)
    assert {"robust", "none"} <= set(detector_classes(pm))


def test_a_misspelt_hook_is_rejected() -> None:
    class Typo:
        @hookspecs.hookimpl
        def register_detector(self):  # missing "s"
            return []

    pm = plugin_manager(entry_points=False)
    pm.register(Typo())
    try:
        pm.check_pending()
    except pluggy.PluginValidationError:
        return
    raise AssertionError("check_pending accepted an unknown hook")
