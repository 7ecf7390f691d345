"""The detectors that ship with the hub, registered through the same hook as anyone's."""

from __future__ import annotations

from hostpulse.hub.anomaly.detector import Detector, FloatArray
from hostpulse.hub.anomaly.hookspecs import hookimpl
from hostpulse.hub.anomaly.robust import RobustDetector


class NoDetector(Detector):
    """Detection off: score 0, never flagged, band collapsed onto the value."""

    name = "none"
    description = "no detection (score 0; the band is the value itself)"

    @property
    def state_size(self) -> int:
        return 0

    def step(
        self, state: FloatArray, t: FloatArray, dt: FloatArray, n: FloatArray, x: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        return x * 0.0, x.copy(), x.copy()


@hookimpl
def register_detectors() -> list[type[Detector]]:
    return [RobustDetector, NoDetector]
