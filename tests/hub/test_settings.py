"""Hub settings: flags over HOSTPULSE_* env vars over the TOML file over defaults; errors name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from hostpulse.hub.errors import SettingsError
from hostpulse.hub.settings import Settings
from tests.support.hub_process import run_cli


def test_precedence_flags_env_file_defaults(tmp_path: Path) -> None:
    config = tmp_path / "hub.toml"
    config.write_text('[hub]\nbind = "0.0.0.0:9000"\ndb = "sqlite://file.db"\nonline_window_s = 12\n')
    env = {"HOSTPULSE_DB": "sqlite://env.db", "HOSTPULSE_ONLINE_WINDOW_S": "7.5"}
    settings = Settings.load(config, env=env, db="sqlite://flag.db")
    assert settings.db == "sqlite://flag.db"  # flag beats env and file
    assert settings.online_window_s == 7.5  # env beats file
    assert settings.bind == "0.0.0.0:9000"  # file beats default
    assert settings.max_labels == Settings().max_labels  # default


@pytest.mark.parametrize(
    ("document", "env", "key"),
    [
        ("[hub]\nonline_window_s = 'soon'\n", {}, "hub.online_window_s"),
        ("[hub]\nbnid = '1.2.3.4:5'\n", {}, "hub.bnid"),
        # The name the user wrote: the env var, not the field behind it.
        ("", {"HOSTPULSE_MAX_LABELS": "-3"}, "HOSTPULSE_MAX_LABELS"),
        ("", {"HOSTPULSE_MAX_LABELS": "many"}, "HOSTPULSE_MAX_LABELS"),
        # TOML values are typed: a string or a bool is not taken for a number, nor a float for an int.
        ("[hub]\nmax_labels = '5'\n", {}, "hub.max_labels"),
        ("[hub]\nmax_labels = true\n", {}, "hub.max_labels"),
        ("[hub]\nmax_labels = 2.5\n", {}, "hub.max_labels"),
        ("[hub]\nbind = 8700\n", {}, "hub.bind"),
        ("[hub]\nstale_window_s = 10\n", {}, "hub.stale_window_s"),  # shorter than online_window_s
    ],
)
def test_errors_name_the_key_and_value(tmp_path: Path, document: str, env: dict[str, str], key: str) -> None:
    config = tmp_path / "hub.toml"
    config.write_text(document)
    with pytest.raises(SettingsError) as caught:
        Settings.load(config, env=env)
    assert caught.value.key == key and key in str(caught.value)


def test_a_flag_error_names_the_flag() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.load(None, env={}, max_labels=-1)
    assert caught.value.key == "--max-labels"
    with pytest.raises(SettingsError) as caught:
        Settings.load(None, env={}, max_lables=1)
    assert caught.value.key == "--max-lables"


def test_the_agent_and_the_hub_coerce_alike(tmp_path: Path) -> None:
    """One layering rule (hostpulse.layering): an env string is parsed, an int in TOML passes for a
    float, and the same bad value is refused by both with the same words."""
    from hostpulse.agent.config import load_config
    from hostpulse.agent.errors import ConfigError

    assert Settings.load(None, env={"HOSTPULSE_CLOCK_WARN_S": "12"}).clock_warn_s == 12.0
    assert load_config(None, env={"HOSTPULSE_CLOCK_WARN_S": "12"}).clock_warn_s == 12.0
    hub_toml, agent_toml = tmp_path / "hub.toml", tmp_path / "agent.toml"
    hub_toml.write_text("[hub]\nclock_warn_s = 12\n")
    agent_toml.write_text("[agent]\nclock_warn_s = 12\n")
    assert Settings.load(hub_toml, env={}).clock_warn_s == load_config(agent_toml, env={}).clock_warn_s
    with pytest.raises(SettingsError) as hub_error:
        Settings.load(None, env={"HOSTPULSE_CLOCK_WARN_S": "soon"})
    with pytest.raises(ConfigError) as agent_error:
        load_config(None, env={"HOSTPULSE_CLOCK_WARN_S": "soon"})
    assert str(hub_error.value) == str(agent_error.value) == "HOSTPULSE_CLOCK_WARN_S = 'soon': expected a number"


def test_cli_reports_a_bad_setting_and_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "hub.toml"
    config.write_text("[hub]\nwrite_queue_batches = 'many'\n")
    result = run_cli("hub", "--config", str(config), "--db", f"sqlite://{tmp_path / 'x.db'}", check=False)
    assert result.returncode == 2
    assert "hub.write_queue_batches = 'many'" in result.stderr
