"""Every hook a HostPulse agent plugin can implement. These docstrings are the reference.

A plugin is a module (or object) with functions marked ``@hookimpl``; it is found through the
``hostpulse.plugins`` entry-point group or a plugin directory named in the config.
"""

from __future__ import annotations

import pluggy

from hostpulse.agent.collect.source import Source

hookspec = pluggy.HookspecMarker("hostpulse")
# Exported as ``hostpulse.hookimpl``: the marker plugin authors put on their hook functions.
hookimpl = pluggy.HookimplMarker("hostpulse")


@hookspec
def register_sources() -> list[type[Source]]:  # type: ignore[empty-body]
    """Return the :class:`hostpulse.Source` subclasses this plugin provides.

    Each class names itself with ``name`` (unique across plugins), declares ``options`` (read from
    ``[plugins.NAME]`` in the agent config and validated when the agent starts), a default
    ``interval`` in seconds, and a ``collect()`` that may be sync or async::

        @hookimpl
        def register_sources():
            return [Dice]
    """
