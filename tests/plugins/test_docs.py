"""docs/sources.md documents every built-in source: its options, a working sample config, metrics."""

from __future__ import annotations

import json
import re
import tomllib
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from hostpulse.agent.collect.source import Source
from hostpulse.wire import METRIC_RE

DOC = (Path(__file__).parents[2] / "docs" / "sources.md").read_text()
#: Keys the agent reads from every [plugins.NAME] table itself (agent/config.py SOURCE_KEYS).
AGENT_KEYS = {"enabled", "interval", "timeout"}


def builtin_sources() -> list[type[Source]]:
    sources: list[type[Source]] = []
    for ep in entry_points(group="hostpulse.plugins"):
        if ep.value.startswith("hostpulse.plugins."):
            sources.extend(ep.load().register_sources())
    return sources


SOURCES = builtin_sources()


def section(name: str) -> str:
    # Sections are separated by "---" lines ("##" also starts comments in the TOML samples).
    match = re.search(rf"^## {re.escape(name)}\n(.*?)(?=^---$|\Z)", DOC, re.DOTALL | re.MULTILINE)
    assert match, f"docs/sources.md has no '## {name}' section"
    return match.group(1)


def test_every_builtin_module_is_registered() -> None:
    modules = {p.stem for p in (Path(__file__).parents[2] / "plugins").glob("*.py")}
    registered = {ep.value.removeprefix("hostpulse.plugins.") for ep in entry_points(group="hostpulse.plugins")}
    helpers = {"__init__", "rates", "names", "exposition"}
    assert modules - helpers == registered & modules
    assert len({cls.name for cls in SOURCES}) == len(SOURCES) == 15


@pytest.mark.parametrize("cls", SOURCES, ids=lambda cls: cls.name)
def test_summary_row_matches_the_class(cls: type[Source]) -> None:
    row = re.search(rf"^\| \[`{cls.name}`\]\(#{cls.name}\) \| `[^`]+` \| ([\d.]+) s \| ([^|]+) \|$", DOC, re.MULTILINE)
    assert row, f"no summary row for {cls.name}"
    assert float(row.group(1)) == cls.interval
    assert row.group(2).startswith("yes") == cls.default_enabled


@pytest.mark.parametrize("cls", SOURCES, ids=lambda cls: cls.name)
def test_sample_config_documents_every_option_and_validates(cls: type[Source]) -> None:
    text = section(cls.name)
    block = re.search(r"### Configuration\n\n```toml\n(.*?)```", text, re.DOTALL)
    assert block, f"{cls.name}: no toml sample config"
    config = tomllib.loads(block.group(1))["plugins"][cls.name]
    for option in cls.options:
        assert re.search(rf"^{option} = ", block.group(1), re.MULTILINE), f"{cls.name}: option {option} undocumented"
    cls.validate({k: v for k, v in config.items() if k not in AGENT_KEYS})


@pytest.mark.parametrize("cls", SOURCES, ids=lambda cls: cls.name)
def test_example_output_uses_documented_metrics(cls: type[Source]) -> None:
    text = section(cls.name)
    table = re.search(r"### Metrics\n(.*?)(?=\n### )", text, re.DOTALL)
    assert table, f"{cls.name}: no metrics section"
    documented = set(re.findall(r"^\| `([^`]+)` \|", table.group(1), re.MULTILINE))
    example = re.search(r"### Example output\n\n```json\n(.*?)```", text, re.DOTALL)
    assert example, f"{cls.name}: no example output"
    for line in example.group(1).splitlines():
        record = json.loads(line)
        assert set(record) == {"metric", "labels", "ts", "value", "unit"}
        assert METRIC_RE.match(record["metric"])
        if cls.name not in ("exec", "prometheus"):  # those name metrics after their input
            assert record["metric"] in documented, f"{cls.name}: {record['metric']} not in the table"
