from __future__ import annotations

import re
import tomllib

from hostpulse.agent.collect.plan import plan
from hostpulse.agent.config import load_config
from hostpulse.agent.loading.discover import discover
from tests.agent.conftest import run


def test_agent_init_writes_a_commented_config_the_agent_accepts(tmp_path, plugin_dir):
    path = tmp_path / "etc" / "agent.toml"
    done = run("agent", "init", str(path), "--hub", "http://hub.example:8080", "--plugin-dir", str(plugin_dir))
    assert done.returncode == 0, done.stderr
    text = path.read_text()
    assert tomllib.loads(text)["agent"]["hub"] == "http://hub.example:8080"
    assert "# batch_max_age = 2.0" in text and "# [plugins.counter]" in text
    assert "# step = 1  # added each tick" in text
    once = run("agent", "--once", "--config", str(path))
    assert once.returncode == 0 and "test.counter" in once.stdout, once.stderr

    # Uncommenting every setting of [agent] and the counter's table gives a file the agent accepts.
    def uncomment(block: str) -> str:
        if not (block.startswith("[agent]") or "# [plugins.counter]" in block):
            return block
        return re.sub(r"(?m)^# ((?:\w+ = .*)|(?:\[plugins\.counter\]))$", r"\1", block)

    uncommented = "\n\n".join(uncomment(block) for block in text.split("\n\n"))
    uncommented = uncommented.replace('token_file = ""', "")
    path.write_text(uncommented)
    config = load_config(path, env={})
    assert config.batch_max_age == 2.0 and config.plugins["counter"] == {"interval": 0.2, "step": 1}
    assert "counter" in {p.name for p in plan(discover(config.plugin_dirs), config)}


def test_agent_init_does_not_overwrite_without_force(tmp_path):
    path = tmp_path / "agent.toml"
    path.write_text("mine")
    done = run("agent", "init", str(path))
    assert done.returncode == 2 and "exists" in done.stderr and path.read_text() == "mine"
    assert run("agent", "init", str(path), "--force").returncode == 0
    assert path.read_text().startswith("# HostPulse agent configuration")
