"""The repository's layout as the installed package sees it (issue 13): the package list, one
top-level package, the agent without the hub, and no import cycle."""

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


def _module_files() -> dict[str, Path]:
    """Every module of agent/, hub/ and plugins/ by its installed dotted name (package-dir mapping;
    the deepest root wins, so agent/toplevel/x.py is hostpulse.x, not hostpulse.agent.toplevel.x)."""
    mapping: dict[str, str] = _setuptools()["package-dir"]  # type: ignore[assignment]
    roots = sorted(((ROOT / folder, name) for name, folder in mapping.items()), key=lambda r: -len(r[0].parts))
    modules: dict[str, Path] = {}
    for top in ("agent", "hub", "plugins"):
        for path in (ROOT / top).rglob("*.py"):
            folder, name = next((f, n) for f, n in roots if f in path.parents)
            parts = [name, *path.relative_to(folder).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def _imports(module: str, path: Path, known: set[str]) -> set[str]:
    """The project modules ``module`` imports, at any depth (function bodies, TYPE_CHECKING blocks).

    ``from a import b`` is the module a.b when there is one, else a (b is a name in it); the
    parent packages an import also runs are not counted, as import-linter and pydeps do not."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name in known}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                target = f"{base}.{alias.name}"
                found |= {target} if target in known else ({base} & known)
    found.discard(module)
    return found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, list[str]]] = [(root, sorted(graph[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, todo = work[-1]
            if todo:
                nxt = todo.pop()
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, sorted(graph[nxt])))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(sorted(component))
    return components


def test_cycle_finder_names_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_no_import_cycle_in_agent_hub_plugins() -> None:
    modules = _module_files()
    assert "hostpulse.hub.state" in modules and "hostpulse.wire" in modules  # the mapping is right
    graph = {name: _imports(name, path, set(modules)) for name, path in modules.items()}
    assert sum(map(len, graph.values())) > 100  # imports were found at all
    cycles = [" -> ".join(c) for c in _cycles(graph)]
    assert cycles == [], "import cycles (each line: modules importing one another): " + "; ".join(cycles)


def test_frontend_readme_names_every_module() -> None:
    readme = (ROOT / "frontend" / "README.md").read_text()
    src = ROOT / "frontend" / "src"
    modules = sorted(str(p.relative_to(src)) for p in src.rglob("*.js"))
    assert len(modules) > 20  # the source folder was found
    assert [m for m in modules if f"`{m}`" not in readme] == []
