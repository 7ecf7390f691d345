"""Streaming anomaly detection for the hub: detectors are pluggy plugins, run vectorised per batch.

The public API is what this module exports: :class:`AnomalyEngine` (what ingest calls),
:class:`BatchResult`, the :class:`Detector` base class and the ``hookimpl`` marker for plugins.
Inside: ``detector`` and ``bank`` (a detector's state for many series as one matrix), ``robust``
and ``builtin`` (the shipped detector; ``robust_params`` its numbers), ``plugins`` and
``hookspecs`` (finding detectors), ``config`` (the ``[anomaly]`` section), ``options`` (checking a
detector's settings), ``engine``; ``stream`` scores one series on plain floats (``hostpulse
detect``), ``snapshot`` is the state's byte format; ``scoring`` is the writer's hook that scores
each group commit and builds its live frames, ``state_store`` keeps detector state in the database.

The exports are imported on first use (PEP 562): ``hostpulse detect`` imports ``stream`` from this
package, and must not pay numpy's and the plugins' imports (~110 ms of its start-up, measured with
``python -X importtime``) for names it never touches.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hostpulse.hub.anomaly.bank import DetectorBank
    from hostpulse.hub.anomaly.detector import Detector, squash
    from hostpulse.hub.anomaly.engine import AnomalyEngine, BatchResult
    from hostpulse.hub.anomaly.hookspecs import hookimpl
    from hostpulse.hub.anomaly.options import FLAG_SCORE
    from hostpulse.hub.anomaly.snapshot import SnapshotError

_HOME = {
    "FLAG_SCORE": "options",
    "AnomalyEngine": "engine",
    "BatchResult": "engine",
    "Detector": "detector",
    "DetectorBank": "bank",
    "SnapshotError": "snapshot",
    "hookimpl": "hookspecs",
    "squash": "detector",
}

__all__ = [
    "FLAG_SCORE",
    "AnomalyEngine",
    "BatchResult",
    "Detector",
    "DetectorBank",
    "SnapshotError",
    "hookimpl",
    "squash",
]


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value
