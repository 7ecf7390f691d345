from __future__ import annotations

import socket
from pathlib import Path

import pytest

from hostpulse.agent.collect.plan import plan
from hostpulse.agent.config import load_config
from hostpulse.agent.errors import ConfigError
from hostpulse.agent.loading.discover import discover
from hostpulse.agent.secret import Secret
from tests.agent.conftest import write_plugin


def toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "agent.toml"
    path.write_text(text)
    return path


def test_defaults():
    config = load_config(None, env={})
    assert config.host == socket.gethostname()
    assert config.hub is None and config.token is None
    assert config.batch_max_samples > 0 and config.plugins == {}


def test_flags_beat_env_beat_file(tmp_path):
    path = toml(tmp_path, '[agent]\nhub = "http://file:1"\nhost = "from-file"\nbatch_max_age = 9\n'
                          'log_level = "error"\n')
    env = {"HOSTPULSE_HUB": "http://env:2", "HOSTPULSE_HOST": "from-env", "HOSTPULSE_BATCH_MAX_AGE": "3.5"}
    config = load_config(path, env=env, flags={"hub": "http://flag:3", "host": None})
    assert config.hub == "http://flag:3"  # flag
    assert config.host == "from-env"  # env, the flag was not given
    assert config.batch_max_age == 3.5  # env, parsed as a number
    assert config.log_level == "error"  # file


def test_the_token_comes_masked_from_env_or_from_a_file(tmp_path):
    config = load_config(None, env={"HOSTPULSE_TOKEN": "tok-123456"})
    assert config.token == Secret("tok-123456") and "tok-123456" not in repr(config)
    (tmp_path / "token").write_text("tok-from-file\n")
    config = load_config(toml(tmp_path, f'[agent]\ntoken_file = "{tmp_path / "token"}"\n'), env={})
    token = config.token_value()
    assert token is not None and token.reveal() == "tok-from-file"


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        ('[agent]\nbatch_max_samples = "lots"\n', {}, "agent.batch_max_samples = 'lots': expected an integer"),
        ('[agent]\nhub = "hub:8080"\n', {}, "agent.hub = 'hub:8080': expected an http:// or https:// URL"),
        ('[agent]\nflush = 3\n', {}, "agent.flush = 3: expected one of the known settings"),
        ("", {"HOSTPULSE_SPOOL_MAX_BYTES": "big"}, "HOSTPULSE_SPOOL_MAX_BYTES = 'big': expected an integer"),
        ("", {"HOSTPULSE_BATCH_MAX_AGE": "-1"}, "HOSTPULSE_BATCH_MAX_AGE = -1.0: expected a positive number"),
        ('[agent]\nlog_level = "loud"\n', {}, "agent.log_level = 'loud': expected one of debug"),
        ("[agent\n", {}, "expected valid TOML"),
    ],
)
def test_errors_name_the_key_the_value_and_what_was_expected(tmp_path, text, env, message):
    with pytest.raises(ConfigError) as caught:
        load_config(toml(tmp_path, text), env=env)
    assert message in str(caught.value)


def test_a_flag_error_names_the_flag():
    with pytest.raises(ConfigError, match="--hub = 'nope': expected an http"):
        load_config(None, env={}, flags={"hub": "nope"})


DICE = """
    from hostpulse import Option, Sample, Source, hookimpl

    class Dice(Source):
        name = "dice"
        interval = 2.0
        options = {"sides": Option(int, 6, "faces"), "label": Option(str, help="required one")}
        def collect(self):
            return [Sample("dice.roll", 1)]

    class Plain(Source):
        name = "plain"
        def collect(self):
            return []

    class Shy(Source):
        name = "shy"
        default_enabled = False
        def collect(self):
            return []

    @hookimpl
    def register_sources():
        return [Dice, Plain, Shy]
"""


@pytest.fixture
def discovery(tmp_path):
    write_plugin(tmp_path / "p", "dice", DICE)
    return discover([tmp_path / "p"])


def lineup(tmp_path, discovery, text: str, **kw):
    return {p.name: p for p in plan(discovery, load_config(toml(tmp_path, text), env={}), **kw)}


def test_what_runs_by_default(tmp_path, discovery):
    # dice needs a required option nobody gave: it does not run; shy is off unless configured.
    assert sorted(lineup(tmp_path, discovery, "")) == ["agent", "plain"]


def test_a_table_enables_configures_and_times_a_source(tmp_path, discovery):
    planned = lineup(tmp_path, discovery, '[plugins.dice]\nlabel = "x"\ninterval = 5\ntimeout = 1.5\n'
                                          "[plugins.shy]\n[plugins.plain]\nenabled = false\n")
    assert sorted(planned) == ["agent", "dice", "shy"]
    dice = planned["dice"]
    assert dice.options == {"sides": 6, "label": "x"} and dice.interval == 5.0 and dice.timeout == 1.5
    assert planned["shy"].interval == planned["shy"].timeout == 1.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[plugins.dice]\nlabel = "x"\nsides = "six"\n', "plugins.dice.sides = 'six': expected a int"),
        ("[plugins.dice]\nsides = 6\n", "plugins.dice.label = missing: expected a str (required)"),
        ('[plugins.dice]\nlabel = "x"\ncolour = 1\n', "plugins.dice.colour = 1: expected one of the known options"),
        ("[plugins.plain]\ninterval = 0\n", "plugins.plain.interval = 0: expected a number of seconds"),
        ('[plugins.plain]\nenabled = "yes"\n', "plugins.plain.enabled = 'yes': expected true or false"),
        ("[plugins.dise]\n", "plugins.dise = '(table)': expected the name of a discovered source"),
    ],
)
def test_source_config_errors_name_key_value_and_expectation(tmp_path, discovery, text, message):
    with pytest.raises(ConfigError) as caught:
        lineup(tmp_path, discovery, text)
    assert message in str(caught.value)


def test_only_one_source_even_a_disabled_one(tmp_path, discovery):
    assert list(lineup(tmp_path, discovery, "[plugins.shy]\nenabled = false\n", only="shy")) == ["shy"]
    with pytest.raises(ConfigError, match="--source = 'nope'"):
        lineup(tmp_path, discovery, "", only="nope")
