from __future__ import annotations

import pluggy
import pytest

from hostpulse.agent.loading.discover import discover, get_plugin_manager
from tests.agent.conftest import COUNTER_PLUGIN, write_plugin


def test_a_plugin_directory_is_loaded_and_its_origin_recorded(plugin_dir):
    found = discover([plugin_dir])
    assert set(found.sources) == {"agent", "counter"}
    info = found.plugins["counter"]
    assert (info.kind, info.origin, info.sources, info.error) == (
        "directory", str(plugin_dir / "counter.py"), ["counter"], None
    )
    assert found.sources["counter"].plugin == "counter"


def test_hostpulse_plugins_narrows_entry_points(monkeypatch):
    monkeypatch.setenv("HOSTPULSE_PLUGINS", "")
    assert set(discover().sources) == {"agent"}
    monkeypatch.setenv("HOSTPULSE_PLUGINS", "memory")
    found = discover()
    assert [n for n, i in found.plugins.items() if i.kind == "entry point"] == ["memory"]
    assert found.plugins["memory"].origin.startswith("memory = hostpulse.plugins.memory (hostpulse ")


def test_a_broken_plugin_is_reported_and_the_others_still_load(tmp_path, plugin_dir):
    write_plugin(plugin_dir, "broken", "import no_such_module_anywhere\n")
    write_plugin(plugin_dir, "raising", """
        from hostpulse import hookimpl
        @hookimpl
        def register_sources():
            raise ValueError("nope")
    """)
    write_plugin(plugin_dir, "notasource", """
        from hostpulse import hookimpl
        @hookimpl
        def register_sources():
            return [int]
    """)
    found = discover([plugin_dir, tmp_path / "missing"])
    assert "counter" in found.sources and found.broken
    assert "ModuleNotFoundError" in (found.plugins["broken"].error or "")
    assert "register_sources raised ValueError: nope" in (found.plugins["raising"].error or "")
    assert "not a Source subclass" in (found.plugins["notasource"].error or "")
    assert found.plugins[str(tmp_path / "missing")].error == "plugin directory does not exist"


def test_two_sources_with_one_name_keep_the_first(tmp_path, plugin_dir):
    write_plugin(tmp_path / "more", "zcounter", COUNTER_PLUGIN)
    found = discover([plugin_dir, tmp_path / "more"])
    assert found.sources["counter"].plugin == "counter"
    assert "already taken by plugin counter" in (found.plugins["zcounter"].error or "")


def test_a_misspelt_hook_is_rejected_at_start(tmp_path):
    write_plugin(tmp_path / "p", "typo", """
        from hostpulse import hookimpl
        @hookimpl
        def register_source():
            return []
    """)
    with pytest.raises(pluggy.PluginValidationError, match="register_source"):
        get_plugin_manager([tmp_path / "p"])


def test_hostpulse_trace_hooks_prints_every_hook_call(monkeypatch, capsys, plugin_dir):
    monkeypatch.setenv("HOSTPULSE_TRACE_HOOKS", "1")
    discover([plugin_dir])
    assert "register_sources" in capsys.readouterr().err
