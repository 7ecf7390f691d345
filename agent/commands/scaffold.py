"""``hostpulse plugins new NAME``: an installable plugin package, ready to edit, install and test."""

from __future__ import annotations

import re
from pathlib import Path

NAME = re.compile(r"^[a-z][a-z0-9_]*$")

PYPROJECT = """\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "{dist}"
version = "0.1.0"
description = "A HostPulse source: {name}"
requires-python = ">=3.11"
dependencies = ["hostpulse"]

# This line is what makes `hostpulse agent` find the plugin once the package is installed.
[project.entry-points."hostpulse.plugins"]
{name} = "{module}"

[tool.setuptools]
py-modules = ["{module}"]
"""

MODULE = '''\
"""The {name} source for HostPulse. Replace collect() with your own measurement."""

from __future__ import annotations

import os
from collections.abc import Iterator

from hostpulse import Option, Sample, Source, hookimpl


class {cls}(Source):
    """Counts the entries of a directory (an example: measure what you need)."""

    name = "{name}"
    interval = 10.0  # seconds; [plugins.{name}] interval = … overrides it
    options = {{"path": Option(str, "/tmp", "Directory whose entries are counted.")}}

    def collect(self) -> Iterator[Sample]:
        path = self.config["path"]
        yield Sample("{name}.entries", len(os.listdir(path)), {{"path": path}})


@hookimpl
def register_sources() -> list[type[Source]]:
    return [{cls}]
'''

TEST = '''\
from __future__ import annotations

import json
import os
import subprocess
import sys

from {module} import {cls}


def test_collect_counts_entries(tmp_path):
    (tmp_path / "a").touch()
    (tmp_path / "b").touch()
    samples = list({cls}(path=str(tmp_path)).collect())
    assert [(s.metric, s.value, dict(s.labels)) for s in samples] == [
        ("{name}.entries", 2, {{"path": str(tmp_path)}})
    ]


def test_agent_runs_it_once(tmp_path):
    # The installed entry point is found by the agent itself; HOSTPULSE_PLUGINS keeps others out.
    env = {{**os.environ, "HOSTPULSE_PLUGINS": "{name}"}}
    done = subprocess.run(
        [sys.executable, "-c", "from hostpulse.hub.commands.main import main; main()",
         "agent", "--once", "--source", "{name}"],
        capture_output=True, text=True, env=env, check=True,
    )
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert lines and all(line["metric"] == "{name}.entries" for line in lines)
'''

README = """\
# {dist}

A HostPulse source called `{name}`: see HostPulse's docs/plugins.md.

    pip install -e .
    hostpulse plugins                            # lists {name}, from this package
    hostpulse agent --once --source {name}       # one round, printed as JSON lines
    pytest

## Configuration

```toml
[plugins.{name}]
interval = 10        # seconds
path = "/tmp"        # directory whose entries are counted
```

## Metrics

| metric | unit | labels |
| --- | --- | --- |
| `{name}.entries` | | `path` |
"""


def scaffold(name: str, directory: Path) -> Path:
    """Create ``hostpulse-NAME/`` in ``directory``; refuse a bad name or an existing folder."""
    if not NAME.match(name):
        raise ValueError(f"NAME = {name!r}: expected lowercase letters, digits and _ (like my_sensor)")
    dist = "hostpulse-" + name.replace("_", "-")
    module = "hostpulse_" + name
    cls = "".join(part.capitalize() for part in name.split("_")) + "Source"
    root = directory / dist
    if root.exists():
        raise ValueError(f"{root} already exists: expected a new folder")
    values = {"name": name, "dist": dist, "module": module, "cls": cls}
    (root / "tests").mkdir(parents=True)
    (root / "pyproject.toml").write_text(PYPROJECT.format(**values))
    (root / f"{module}.py").write_text(MODULE.format(**values))
    (root / "tests" / f"test_{name}.py").write_text(TEST.format(**values))
    (root / "README.md").write_text(README.format(**values))
    return root
