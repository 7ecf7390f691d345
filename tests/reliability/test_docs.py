"""docs/reliability.md cannot go stale: its table must list every scenario test as declared."""

from __future__ import annotations

from tests.reliability.scenarios import DOC, REGENERATE, declared_rows, expected_cells, parse_table


def test_the_table_lists_every_scenario_as_declared() -> None:
    rows = declared_rows()
    table = parse_table(DOC.read_text())
    hint = f"docs/reliability.md is stale: run `{REGENERATE}` and commit the file"
    assert sorted(table) == sorted(row.test for row in rows), hint
    for row in rows:
        done, checked, result = table[row.test]
        assert (done, checked) == expected_cells(row), f"{row.test}: {hint}"
        assert result != "not run", f"{row.test}: {hint}"


def test_every_test_in_the_scenario_folders_is_a_scenario() -> None:
    """A new fault or hostile-input test without @scenario would be missing from the table."""
    import importlib
    import inspect
    import pkgutil

    declared = {row.test.split("::")[1] for row in declared_rows()}
    for package_name in ("tests.hostile", "tests.reliability"):
        package = importlib.import_module(package_name)
        for info in pkgutil.iter_modules(package.__path__):
            if not info.name.startswith("test_") or info.name == "test_docs":
                continue
            module = importlib.import_module(f"{package_name}.{info.name}")
            for name, function in vars(module).items():
                if name.startswith("test_") and inspect.isfunction(function):
                    assert name in declared, f"{package_name}.{info.name}.{name} has no @scenario"
