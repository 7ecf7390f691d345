"""`mypy --strict` on the package as it installs: hostpulse, hostpulse.agent, .hub, .plugins.

mypy finds modules by folder, and the repository's folders are not the import names: setuptools'
package-dir maps agent/toplevel onto `hostpulse` and agent/ onto `hostpulse.agent`, and the editable
install answers `import hostpulse` with an import hook, which mypy does not run. Checked in place
(`mypy agent hub plugins`) every `hostpulse.*` import is then unresolved and silently Any — 104
errors reported, but every class built on `hostpulse.Source` and every decorated route unchecked.
So this script links each module file into build/typecheck/ under its installed dotted path,
rebuilt on every run (a new file is never missed), runs mypy on `-p hostpulse` there and prints its
findings with the repository's own paths. Exit status: mypy's.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TREE = ROOT / "build" / "typecheck"
CHECKED = ("agent", "hub", "plugins")


def module_paths() -> dict[Path, Path]:
    """Each module file of agent/, hub/, plugins/ → its path under the installed name, relative.

    The deepest package-dir root wins: agent/toplevel/wire.py is hostpulse/wire.py, not
    hostpulse/agent/toplevel/wire.py."""
    with (ROOT / "pyproject.toml").open("rb") as f:
        mapping: dict[str, str] = tomllib.load(f)["tool"]["setuptools"]["package-dir"]
    roots = sorted(
        ((ROOT / folder, Path(*name.split("."))) for name, folder in mapping.items()),
        key=lambda root: -len(root[0].parts),
    )
    paths: dict[Path, Path] = {}
    for top in CHECKED:
        for source in (ROOT / top).rglob("*.py"):
            folder, installed = next((f, i) for f, i in roots if f in source.parents)
            paths[source] = installed / source.relative_to(folder)
    return paths


def build_tree() -> dict[str, str]:
    """Link the modules into TREE; returns tree path → repository path, both as mypy prints them."""
    shutil.rmtree(TREE / "hostpulse", ignore_errors=True)
    back: dict[str, str] = {}
    for source, installed in module_paths().items():
        link = TREE / installed
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(source)
        back[str(link.relative_to(ROOT))] = str(source.relative_to(ROOT))
    return back


def main() -> int:
    TREE.mkdir(parents=True, exist_ok=True)
    with (TREE / ".lock").open("w") as lock:
        # One run at a time: a second `make lint` would rebuild the tree under the first's mypy.
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _check()


def _check() -> int:
    back = build_tree()
    command = [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(TREE / "cache")]
    result = subprocess.run(
        [*command, "-p", "hostpulse"],
        check=False,  # mypy's findings are printed below and its status returned
        cwd=ROOT,
        env={**os.environ, "MYPYPATH": str(TREE)},
        capture_output=True,
        text=True,
    )
    where = re.compile("|".join(re.escape(p) for p in sorted(back, key=len, reverse=True)))
    for stream, out in ((result.stdout, sys.stdout), (result.stderr, sys.stderr)):
        out.write(where.sub(lambda m: back[m.group(0)], stream))
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
