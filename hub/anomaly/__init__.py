"""Streaming anomaly detection for the hub: detectors are pluggy plugins, run vectorised per batch.

The public API is what this module exports: :class:`AnomalyEngine` (what ingest calls),
:class:`BatchResult`, the :class:`Detector` base class and the ``hookimpl`` marker for plugins.
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
