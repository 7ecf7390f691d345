"""``hostpulse detect`` through the real console script, in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.hub.anomaly.conftest import MINUTE, T0, series

HOSTPULSE = str(Path(sys.executable).with_name("hostpulse"))


def detect(stdin: str, *args: str, path: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the command; ``path`` goes first on PYTHONPATH."""
    env = {**os.environ, "PYTHONPATH": str(path)} if path is not None else None
    return subprocess.run(
        [HOSTPULSE, "detect", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )


def csv(ts, values, header: str = "timestamp,value") -> str:
    return header + "\n" + "".join(f"{t},{float(v)!r}\n" for t, v in zip(ts, values, strict=True))


def scores(out: str) -> np.ndarray:
    return np.array([float(line) for line in out.splitlines()])


def test_one_score_per_row_and_the_spike_stands_out() -> None:
    ts, values = series(days=0.5)
    values[500] += 40
    done = detect(csv(ts, values))
    assert done.returncode == 0, done.stderr
    got = scores(done.stdout)
    assert len(got) == len(ts)
    assert ((got >= 0) & (got <= 1)).all()
    assert got.argmax() == 500 and got[500] > 0.9


def test_same_scores_as_the_hub_engine(engine) -> None:
    ts, values = series(days=0.3, cycle=5.0, seed=2)
    expected = engine().detect(["x"], [ts], [values], [""]).score
    got = scores(detect(csv(ts, values)).stdout)
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_iso_timestamps_and_epoch_ms_agree() -> None:
    ts, values = series(days=0.1, seed=3)
    iso = [np.datetime_as_string(np.datetime64(int(t), "ms"), unit="ms") + "Z" for t in ts]
    assert detect(csv(iso, values)).stdout == detect(csv(ts, values)).stdout


def test_streams_each_row_before_the_next_arrives() -> None:
    """Write a row, read its score back, then write the next: no look-ahead, flushed output."""
    proc = subprocess.Popen(
        [HOSTPULSE, "detect"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin and proc.stdout
    try:
        proc.stdin.write("timestamp,value\n")
        for i in range(5):
            proc.stdin.write(f"{T0 + i * MINUTE},{10 + i % 2}\n")
            proc.stdin.flush()
            line = proc.stdout.readline()
            assert 0.0 <= float(line) <= 1.0
        proc.stdin.close()
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize(
    "body",
    [
        "",  # nothing at all
        "timestamp,value\n",  # header only
        f"timestamp,value\n{T0},5\n",  # a single sample
        "timestamp,value\n" + "".join(f"{T0},{i}\n" for i in range(100)),  # one timestamp
        "timestamp,value\n" + "".join(f"{T0 - i * MINUTE},1\n" for i in range(100)),  # backwards
        "timestamp,value\n" + "".join(f"{T0 + i * MINUTE},7\n" for i in range(100)),  # constant
        "timestamp,value\n" + "".join(f"{T0 + i},{(-1) ** i * 1e308}\n" for i in range(100)),
        "timestamp,value\n\n" + f"{T0},1\n\n{T0 + 10**10},2",  # blank lines, gap, no final newline
    ],
)
def test_awkward_input_gives_finite_scores(body: str) -> None:
    done = detect(body)
    assert done.returncode == 0, done.stderr
    got = scores(done.stdout)
    rows = [line for line in body.splitlines()[1:] if line.strip()]
    assert len(got) == len(rows)
    assert np.isfinite(got).all() and ((got >= 0) & (got <= 1)).all()


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("abc,1", "line 4: timestamp 'abc'"),
        (f"{T0},lots", "line 4: value 'lots' is not a number"),
        (f"{T0},nan", "line 4: value 'nan' is not finite"),
        (f"{T0},1,2", "line 4: expected 2 fields"),
    ],
)
def test_malformed_row_stops_with_its_line_number(row: str, message: str) -> None:
    body = f"timestamp,value\n{T0},1\n{T0 + MINUTE},2\n{row}\n{T0 + 3 * MINUTE},4\n"
    done = detect(body)
    assert done.returncode == 1
    assert message in done.stderr
    assert len(done.stdout.splitlines()) == 2  # the rows before it were scored


def test_flags_output_and_detector_option() -> None:
    ts, values = series(days=0.1)
    done = detect(csv(ts, values), "--flags", "--detector", "none")
    first = done.stdout.splitlines()[0].split(",")
    assert first[0] == "0.000000" and first[1] == "0"
    assert float(first[2]) == pytest.approx(values[0], rel=1e-5)


def test_unknown_detector_is_a_usage_error() -> None:
    done = detect("timestamp,value\n", "--detector", "nope")
    assert done.returncode == 2 and "anomaly.detector" in done.stderr


def test_builtin_detectors_run_without_numpy(tmp_path: Path) -> None:
    """The scalar path imports no numpy: with a numpy that cannot be imported first on the path,
    the command still scores every row, the same as with numpy there."""
    fake = tmp_path / "numpy"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise ImportError('numpy must not be imported')\n")
    ts, values = series(days=0.2, seed=4)
    values[200] += 40
    body = csv(ts, values)
    for args in ((), ("--flags",), ("--detector", "none")):
        without = detect(body, *args, path=tmp_path)
        assert without.returncode == 0, without.stderr
        assert without.stdout == detect(body, *args).stdout


PLUGIN = """
import numpy as np
from hostpulse.hub.anomaly import Detector, hookimpl

class Ceiling(Detector):
    name = "ceiling"
    options = {"limit": 90.0}
    state_size = 0

    def step(self, state, t, dt, n, x):
        limit = self.config["limit"] / self.sensitivity
        return np.where(x > limit, 1.0, 0.0), np.zeros_like(x), np.full_like(x, limit)

@hookimpl
def register_detectors():
    return [Ceiling]
"""


def test_a_plugin_detector_goes_through_the_engine(tmp_path: Path) -> None:
    (tmp_path / "hp_ceiling.py").write_text(PLUGIN)
    info = tmp_path / "hp_ceiling-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: hp-ceiling\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[hostpulse.hub_plugins]\nceiling = hp_ceiling\n")
    (tmp_path / "hub.toml").write_text("[anomaly]\nwarmup = 0\n")
    body = csv([T0, T0 + MINUTE, T0 + 2 * MINUTE], [50.0, 95.0, 80.0])
    config = str(tmp_path / "hub.toml")
    done = detect(body, "--detector", "ceiling", "--config", config, "--flags", path=tmp_path)
    assert done.returncode == 0, done.stderr
    assert [line.split(",")[:2] for line in done.stdout.splitlines()] == [
        ["0.000000", "0"],
        ["1.000000", "1"],
        ["0.000000", "0"],
    ]
