"""The scenario table of docs/reliability.md, kept by the suite itself so it cannot go stale.

Every test in tests/reliability/ and tests/hostile/ carries ``@scenario(done=…, checked=…)``. Each
run records the outcome of each such test in ``test-artifacts/reliability.json``; when a session ran
every scenario test, its end rewrites the table in docs/reliability.md (between two HTML comments)
from the markers and those outcomes. ``test_docs.py`` fails when the committed table is missing a
scenario, lists one that is gone, or describes one differently.
"""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "reliability.md"
RESULTS = ROOT / "test-artifacts" / "reliability.json"
PACKAGES = ("tests.hostile", "tests.reliability")
REGENERATE = "pytest tests/hostile tests/reliability"


def scenario(*, done: str, checked: str) -> pytest.MarkDecorator:
    """Mark a test as a row of docs/reliability.md: what the test does, what it checks."""
    return pytest.mark.scenario(done=done, checked=checked)


@dataclass(frozen=True)
class Row:
    test: str  # "tests/hostile/test_x.py::test_y"
    done: str
    checked: str


def declared_rows() -> list[Row]:
    """Every scenario-marked test function of the two packages, in file and source order."""
    rows: list[Row] = []
    for package_name in PACKAGES:
        package = importlib.import_module(package_name)
        for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
            if not info.name.startswith("test_"):
                continue
            module = importlib.import_module(f"{package_name}.{info.name}")
            path = Path(inspect.getfile(module)).relative_to(ROOT).as_posix()
            functions = [
                f for name, f in vars(module).items()
                if name.startswith("test_") and inspect.isfunction(f)
            ]
            functions.sort(key=lambda f: f.__code__.co_firstlineno)
            for function in functions:
                marks = [m for m in getattr(function, "pytestmark", []) if m.name == "scenario"]
                if marks:
                    kwargs = marks[0].kwargs
                    rows.append(Row(f"{path}::{function.__name__}", kwargs["done"], kwargs["checked"]))
    return rows


def load_results() -> dict[str, dict[str, Any]]:
    try:
        return json.loads(RESULTS.read_text())
    except (OSError, ValueError):
        return {}


def record(test: str, outcome: str, seconds: float, detail: str) -> None:
    """Store one test's outcome; a parametrized test's ids fold into its function's row."""
    results = load_results()
    previous = results.get(test)
    if previous and previous.get("fresh") and previous["outcome"] != "passed":
        return  # one failing parameter marks the whole row
    results[test] = {"outcome": outcome, "seconds": round(seconds, 1), "detail": detail,
                     "fresh": True}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1, sort_keys=True))


def start_session() -> None:
    """Outcomes of earlier sessions stay, but no longer count as this session's."""
    results = load_results()
    for value in results.values():
        value["fresh"] = False
    if results:
        RESULTS.write_text(json.dumps(results, indent=1, sort_keys=True))


def _cell(text: str) -> str:
    # Markup in a description (the hostile-input rows name <script>) must show, not render.
    text = " ".join(text.split()).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("|", "\\|")


def _result(entry: dict[str, Any] | None) -> str:
    # No timings here: the file is committed, and should change only when an outcome does.
    if entry is None:
        return "not run"
    outcome = entry["outcome"]
    if outcome == "passed":
        return "passed"
    if outcome == "xfailed":
        return f"**known bug** (xfail, strict): {entry['detail']}"
    return f"**{outcome}**: {entry['detail']}"


START, END = "<!-- scenarios:start -->", "<!-- scenarios:end -->"
HEADER = "| scenario (test) | what was done | what was checked | result |"


def render_table(rows: list[Row], results: dict[str, dict[str, Any]]) -> str:
    lines = [START, HEADER, "| --- | --- | --- | --- |"]
    for row in rows:
        path, name = row.test.split("::")
        lines.append(
            f"| `{name}` ({path}) | {_cell(row.done)} | {_cell(row.checked)} | "
            f"{_cell(_result(results.get(row.test)))} |"
        )
    return "\n".join([*lines, END])


def parse_table(text: str) -> dict[str, tuple[str, str, str]]:
    """The committed table: test id -> (done, checked, result) cells."""
    if START not in text or END not in text:
        return {}
    region = text.split(START, 1)[1].split(END, 1)[0]
    found: dict[str, tuple[str, str, str]] = {}
    for line in region.strip().splitlines()[2:]:
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        match = re.fullmatch(r"`(\w+)` \((\S+)\)", cells[0])
        if match and len(cells) == 4:
            found[f"{match[2]}::{match[1]}"] = (cells[1], cells[2], cells[3])
    return found


def expected_cells(row: Row) -> tuple[str, str]:
    return _cell(row.done), _cell(row.checked)


def write_doc_if_complete(*, fresh_only: bool = True) -> bool:
    """Rewrite the table of docs/reliability.md when this session gave every scenario a fresh
    outcome (or, with ``fresh_only=False``, from the last outcome recorded for each); the prose
    around the table is left as written."""
    rows = declared_rows()
    results = load_results()
    if not rows or (fresh_only and not all(results.get(r.test, {}).get("fresh") for r in rows)):
        return False
    table = render_table(rows, results)
    text = DOC.read_text() if DOC.exists() else f"# Reliability\n\n{START}\n{END}\n"
    if START not in text:
        text += f"\n{START}\n{END}\n"
    before, rest = text.split(START, 1)
    after = rest.split(END, 1)[1]
    DOC.write_text(before + table + after)
    return True


def item_key(item: pytest.Item) -> str | None:
    if item.get_closest_marker("scenario") is None:
        return None
    path = Path(str(item.path)).relative_to(ROOT).as_posix()
    return f"{path}::{item.originalname if hasattr(item, 'originalname') else item.name}"


def report_hook(item: pytest.Item, report: pytest.TestReport) -> None:
    """From pytest_runtest_makereport: record the outcome of a scenario test."""
    key = item_key(item)
    if key is None:
        return
    if report.when == "setup" and report.outcome != "passed":
        outcome = "skipped" if report.skipped else "error"
    elif report.when == "call":
        if hasattr(report, "wasxfail"):
            outcome = "xfailed" if report.skipped else "xpassed"
        else:
            outcome = report.outcome
    else:
        return
    detail = getattr(report, "wasxfail", "") or ""
    if outcome in ("failed", "error"):
        detail = str(report.longrepr).strip().splitlines()[-1][:200] if report.longrepr else ""
    if outcome == "skipped" and isinstance(report.longrepr, tuple):
        detail = report.longrepr[2]
    record(key, outcome, report.duration, detail)


if __name__ == "__main__":
    # python -m tests.reliability.scenarios: the table from the last outcome recorded for each test.
    write_doc_if_complete(fresh_only=False)
