"""HostPulse: live, per-second charts of your own machines and your own data.

This is the one import name of the distribution. Plugin authors import from it alone::

    from hostpulse import Option, Sample, Source, hookimpl

The rest lives in three packages, the repository's top-level folders installed under this name
(pyproject.toml maps them): :mod:`hostpulse.agent` (collect → deliver), :mod:`hostpulse.plugins`
(the built-in sources) and :mod:`hostpulse.hub` (receive → check → store → detect → publish).
This package's own files sit in ``agent/toplevel/`` of the repository, because the design keeps
the top level to those folders; it imports nothing of the hub, so an agent-only install has it.
"""

from __future__ import annotations

from hostpulse.agent.collect.source import Option, Sample, Source
from hostpulse.agent.errors import ConfigError
from hostpulse.agent.hookspecs import hookimpl

__all__ = ["ConfigError", "Option", "Sample", "Source", "hookimpl"]
__version__ = "0.1.0"
