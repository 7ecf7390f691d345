"""The repository's layout as the installed package sees it (issue 13).

Only the checks that hold today live here; the import-cycle check waits for
hub/auth/tokens.py to be split (tokens -> state -> detector_state -> tokens).
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _setuptools() -> dict[str, object]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)["tool"]["setuptools"]  # type: ignore[no-any-return]


def _package_folders() -> set[str]:
    """Every folder holding an __init__.py under a package-dir root, as a dotted name."""
    mapping: dict[str, str] = _setuptools()["package-dir"]  # type: ignore[assignment]
    roots = {name: ROOT / folder for name, folder in mapping.items()}
    found: set[str] = set()
    for name, folder in roots.items():
        # frontend/dist (the built dashboard) is data mapped as a package: no __init__.py.
        if (folder / "__init__.py").exists() or name.endswith("dashboard"):
            found.add(name)
        for init in folder.rglob("__init__.py"):
            pkg = init.parent
            if pkg == folder or "node_modules" in pkg.parts:
                continue
            # A sub-folder mapped to a name of its own (agent/toplevel) is that name, not a child.
            if any(pkg == r or r in pkg.parents for n, r in roots.items() if n != name and r != folder and folder in r.parents):
                continue
            dotted = name + "." + ".".join(pkg.relative_to(folder).parts)
            found.add(dotted)
    return found


def test_pyproject_package_list_equals_the_package_folders() -> None:
    listed = set(_setuptools()["packages"])  # type: ignore[arg-type]
    assert listed == _package_folders()


def test_the_agent_imports_nothing_of_the_hub() -> None:
    # Function-level imports count too: the agent installs without the hub.
    offenders: list[str] = []
    for path in (ROOT / "agent").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.startswith("hostpulse.hub")]
    assert offenders == []


def test_pip_install_puts_one_top_level_package_hostpulse(tmp_path: Path) -> None:
    import subprocess
    import sys

    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
         "--target", str(target), str(ROOT)],
        check=True, timeout=240,
    )
    top = {p.name for p in target.iterdir() if not p.name.endswith((".dist-info", ".egg-info")) and p.name != "bin"}
    assert top == {"hostpulse"}
