"""A broken hub plugin is logged and skipped, as the agent does with a broken source; the hub goes on."""

from __future__ import annotations

import logging
import textwrap
from pathlib import Path

import pytest

from hostpulse.hub.anomaly.plugins import detector_classes, plugin_manager

PLUGINS = {
    # Fails to import.
    "hp_broken_import": "raise ImportError('needs a module this host does not have')\n",
    # Declares a hook the hub does not have (misspelt).
    "hp_typo": """
        from hostpulse.hub.anomaly import hookimpl

        @hookimpl
        def register_detector():
            return []
    """,
    # Registers something that is not a Detector.
    "hp_not_a_detector": """
        from hostpulse.hub.anomaly import hookimpl

        @hookimpl
        def register_detectors():
            return [object]
    """,
    # Takes a built-in's name.
    "hp_taken_name": """
        from hostpulse.hub.anomaly import Detector, hookimpl

        class Robust(Detector):
            name = "robust"

        @hookimpl
        def register_detectors():
            return [Robust]
    """,
    # A good one, to show the others did not stop it.
    "hp_good": """
        from hostpulse.hub.anomaly import Detector, hookimpl

        class Quiet(Detector):
            name = "quiet"

        @hookimpl
        def register_detectors():
            return [Quiet]
    """,
}


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The plugins above installed as a distribution: modules and a dist-info with entry points."""
    lines = ["[hostpulse.hub_plugins]"]
    for module, source in PLUGINS.items():
        (tmp_path / f"{module}.py").write_text(textwrap.dedent(source))
        lines.append(f"{module} = {module}")
    info = tmp_path / "hp_test_plugins-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: hp-test-plugins\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    monkeypatch.syspath_prepend(str(tmp_path))


def test_each_broken_plugin_is_skipped_with_a_log_line_naming_it(installed, caplog) -> None:
    with caplog.at_level(logging.ERROR, logger="hostpulse.anomaly"):
        detectors = detector_classes(plugin_manager())
    assert {"robust", "none", "quiet"} <= set(detectors)
    assert detectors["robust"].__module__ == "hostpulse.hub.anomaly.robust"
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for module in ("hp_broken_import", "hp_typo", "hp_not_a_detector", "hp_taken_name"):
        assert f"detector plugin {module}" in logged, logged
    assert "hp_good" not in logged
    assert "needs a module this host does not have" in logged
    assert "'robust' is already taken" in logged
