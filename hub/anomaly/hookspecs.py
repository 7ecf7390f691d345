"""Every hook a HostPulse hub plugin can implement for anomaly detection. These docstrings are the
reference.

A hub plugin is a module (or object) with functions marked ``@hostpulse.hub.anomaly.hookimpl``; it is found
through the ``hostpulse.hub_plugins`` entry-point group. The built-in detectors are registered by
:mod:`hostpulse.hub.anomaly.builtin` through this same hook.
"""

from __future__ import annotations

import pluggy

from hostpulse.hub.anomaly.detector import Detector

PROJECT = "hostpulse_hub"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_detectors() -> list[type[Detector]]:  # type: ignore[empty-body]
    """Return the :class:`hostpulse.hub.anomaly.Detector` subclasses this plugin provides.

    Each class names itself with ``name`` (unique across plugins), declares ``options`` (a dict of
    option name to default, set per metric pattern in the hub's ``[anomaly]`` config), a
    ``state_size`` and a vectorised ``step()``; the config picks a detector per metric pattern::

        @hookimpl
        def register_detectors():
            return [MyDetector]
    """
