"""Streaming anomaly detection for the hub: detectors are pluggy plugins, run vectorised per batch.

The public API is what this module exports: :class:`AnomalyEngine` (what ingest calls),
:class:`BatchResult`, the :class:`Detector` base class and the ``hookimpl`` marker for plugins.
Inside: ``detector`` and ``bank`` (a detector's state for many series as one matrix), ``robust``
and ``builtin`` (the shipped detector), ``plugins`` and ``hookspecs`` (finding detectors),
``config`` (the ``[anomaly]`` section), ``engine``; ``scoring`` is the writer's hook that scores
each group commit and builds its live frames, ``state_store`` keeps detector state in the database.
"""

from __future__ import annotations

from hostpulse.hub.anomaly.bank import DetectorBank, SnapshotError
from hostpulse.hub.anomaly.detector import FLAG_SCORE, Detector, squash
from hostpulse.hub.anomaly.engine import AnomalyEngine, BatchResult
from hostpulse.hub.anomaly.hookspecs import hookimpl

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
