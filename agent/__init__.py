"""HostPulse agent: collects samples from source plugins and sends them to a hub.

The public plugin API is what this module exports.
"""

from __future__ import annotations

import pluggy

from agent.source import Option, Sample, Source

hookimpl = pluggy.HookimplMarker("hostpulse")

__all__ = ["Option", "Sample", "Source", "hookimpl"]
__version__ = "0.1.0"
