"""The wheel as a user gets it: built from this tree, installed in fresh venvs outside the checkout.

`pip install hostpulse` must be the agent alone (no hub import, `hostpulse agent --once` works,
hub commands name the extra); `pip install 'hostpulse[hub]'` must serve the dashboard from the
package itself, checked in the real browser. Dependencies come from the registry through pip's cache.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.support.hub_process import free_port

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str | Path, cwd: Path | None = None, timeout: float = 600) -> str:
    done = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, check=False,
                          timeout=timeout)
    assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (ROOT / "frontend" / "dist" / "index.html").is_file():
        pytest.skip("frontend/dist is not built (make build)")
    out = tmp_path_factory.mktemp("dist")
    _run(sys.executable, "-m", "build", "--wheel", "--outdir", out, ROOT, cwd=ROOT)
    (found,) = out.glob("hostpulse-*.whl")
    return found


def _venv(where: Path, requirement: str) -> Path:
    _run(sys.executable, "-m", "venv", where)
    _run(where / "bin" / "python", "-m", "pip", "install", "--quiet", requirement)
    return where / "bin"


def test_agent_only_install_has_no_hub(wheel: Path, tmp_path: Path) -> None:
    bin_dir = _venv(tmp_path / "venv", str(wheel))
    names = _run(bin_dir / "python", "-m", "pip", "list", "--format=json", cwd=tmp_path)
    installed = {p["name"].lower() for p in orjson.loads(names)}
    assert not installed & {"quart", "tortoise-orm", "numpy", "redis", "hypercorn", "pytest",
                            "pytest-asyncio"}, installed
    hub_import = subprocess.run([bin_dir / "python", "-c", "import hostpulse.hub.web.app"],
                                cwd=tmp_path, capture_output=True, text=True, check=False)
    assert hub_import.returncode != 0 and "ModuleNotFoundError" in hub_import.stderr

    once = _run(bin_dir / "hostpulse", "agent", "--once", cwd=tmp_path)
    metrics = {orjson.loads(line)["metric"] for line in once.splitlines()}
    assert "cpu.percent" in metrics and "mem.used" in metrics

    hub = subprocess.run([bin_dir / "hostpulse", "hub"], cwd=tmp_path, capture_output=True,
                         text=True, check=False)
    assert hub.returncode != 0
    assert "pip install 'hostpulse[hub]'" in hub.stderr and "Traceback" not in hub.stderr

    # --help lists every command, the hub's marked with the extra they need (it stopped at the
    # first hub command with that command's error).
    usage = subprocess.run([bin_dir / "hostpulse", "--help"], cwd=tmp_path, capture_output=True,
                           text=True, check=False)
    assert usage.returncode == 0, usage.stderr
    assert "agent" in usage.stdout and "detect" in usage.stdout, usage.stdout
    hub_lines = [line for line in usage.stdout.splitlines() if line.strip().startswith(("hub ", "token "))]
    assert len(hub_lines) == 2 and all("needs the hub" in line for line in hub_lines), usage.stdout

    # detect scores on plain floats: it runs on the agent alone (numpy is not installed here).
    rows = "".join(f"{1_700_000_000 + i},{10 + (i % 7) * 0.1}\n" for i in range(300))
    scored = subprocess.run([bin_dir / "hostpulse", "detect"], input=rows + "1700000300,500\n",
                            cwd=tmp_path, capture_output=True, text=True, check=False)
    assert scored.returncode == 0, scored.stderr
    scores = [float(line) for line in scored.stdout.split()]
    assert len(scores) == 301 and max(scores[:-1]) < 0.5 <= scores[-1], scores[-5:]


@pytest.fixture
def installed_hub(wheel: Path, tmp_path: Path) -> Iterator[str]:
    bin_dir = _venv(tmp_path / "venv", f"hostpulse[hub] @ {wheel.as_uri()}")
    port = free_port()
    hub = subprocess.Popen([bin_dir / "hostpulse", "hub", "--db", f"sqlite://{tmp_path}/hub.db",
                            "--bind", f"127.0.0.1:{port}"], cwd=tmp_path,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert hub.poll() is None and time.monotonic() < deadline, "the installed hub did not start"
            time.sleep(0.2)
        yield url
    finally:
        hub.terminate()
        hub.wait(timeout=10)


@pytest.mark.browser
def test_installed_hub_serves_its_dashboard(installed_hub: str, browser: Any) -> None:
    answer = httpx.get(installed_hub + "/", timeout=5)
    assert answer.status_code == 200, answer.text
    page = browser.new_page()
    try:
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(installed_hub + "/")
        page.wait_for_load_state("networkidle")
        # the dashboard's script names the page it drew: its bundle loaded from the package
        assert page.title() == "Hosts · HostPulse"
        assert page.locator("body").inner_text(timeout=5000).strip()
        assert not errors
    finally:
        page.close()
