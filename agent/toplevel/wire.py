"""Rules both sides of the wire obey, importable by the agent without the hub.

Only the clock for now: every timestamp on the wire is integer epoch milliseconds
(docs/protocol.md). The metric-name pattern and the limits still live in agent/collect/point.py,
plugins/names.py and hub/api/wire.py, and belong here next (issue 13).
"""

from __future__ import annotations

import time


def now_ms() -> int:
    """Now, in the wire's unit: integer epoch milliseconds."""
    return int(time.time() * 1000)
