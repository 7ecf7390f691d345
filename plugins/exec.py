"""Run commands on an interval and read their output as metrics (JSON, Prometheus text or lines).

Each command runs without a shell (wrap it in ``sh -c '…'`` for pipes), is killed after
``command_timeout`` seconds, and must exit 0. Its standard output is read in one of three formats:

* ``json`` — an object whose numeric leaves become metrics (nested keys joined with dots;
  ``true``/``false`` become 1/0, strings are ignored), or ``{"metric", "value", "labels", "unit"}``
  objects — one, a list, or one per line (what ``hostpulse agent --once`` prints).
* ``prometheus`` — the Prometheus text format; counters become per-second rates.
* ``lines`` — ``name value`` per line; blank lines and ``#`` comments are skipped.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import shlex
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar

from hostpulse import Option, Sample, Source, hookimpl
from hostpulse.agent.errors import ConfigError, PluginError
from hostpulse.plugins import exposition
from hostpulse.plugins.names import check_choice, check_prefix
from hostpulse.plugins.rates import Rates
from hostpulse.wire import METRIC_RE

log = logging.getLogger("hostpulse.plugins.exec")

FORMATS = ("json", "prometheus", "lines")
#: Environment variables the agent keeps from the commands it runs.
SECRET_VARIABLES = frozenset({"HOSTPULSE_TOKEN", "HOSTPULSE_VIEWER_TOKEN"})
#: A command printing more than this is misbehaving; its output is refused, not parsed.
MAX_OUTPUT = 4 * 2**20


class Exec(Source):
    """Metrics printed by commands you run on an interval."""

    name = "exec"
    interval = 10.0
    default_enabled = False  # nothing to run until commands are configured
    options: ClassVar[dict[str, Option]] = {
        "commands": Option(list, items=str, help='commands to run, e.g. ["/usr/local/bin/queue-depth --json"]'),
        "format": Option(str, default="json", help="how to read the output: json, prometheus or lines"),
        "command_timeout": Option(float, default=5.0, help="seconds before a command is killed"),
        "prefix": Option(str, default="exec", help='prepended to every metric name ("" for none)'),
    }

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        self._argvs = [shlex.split(command) for command in self.config["commands"]]
        #: The monotonic clock used for rates; tests put a fake one here.
        self.clock: Callable[[], float] = time.monotonic
        self._rates = Rates(lambda: self.clock())

    @classmethod
    def validate(cls, config: Mapping[str, Any]) -> dict[str, Any]:
        checked = super().validate(config)
        if not checked["commands"]:
            raise ConfigError(f"plugins.{cls.name}.commands", [], "at least one command")
        for command in checked["commands"]:
            try:
                if not shlex.split(command):
                    raise ValueError("empty")
            except ValueError:
                raise ConfigError(f"plugins.{cls.name}.commands", command, "a command line") from None
        check_choice(cls.name, checked, "format", FORMATS)
        check_prefix(cls.name, checked)
        if checked["command_timeout"] <= 0:
            key = f"plugins.{cls.name}.command_timeout"
            raise ConfigError(key, checked["command_timeout"], "a positive number")
        return checked

    async def collect(self) -> list[Sample]:
        self._rates.tick()
        outputs = await asyncio.gather(*(self._run(argv) for argv in self._argvs), return_exceptions=True)
        samples: list[Sample] = []
        failures: list[str] = []
        for argv, output in zip(self._argvs, outputs, strict=True):
            if isinstance(output, BaseException):
                failures.append(f"{argv[0]}: {output}")
                continue
            try:
                samples.extend(self._parse(argv[0], output))
            except ValueError as error:
                failures.append(f"{argv[0]}: unreadable {self.config['format']} output: {error}")
        if failures and not samples:
            raise PluginError("; ".join(failures))
        for failure in failures:
            log.warning("%s", failure)
        return samples

    async def _run(self, argv: list[str]) -> str:
        process = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.DEVNULL, env=_child_environment(),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        try:
            stdout, stderr = await asyncio.wait_for(
                process.communicate(), self.config["command_timeout"]
            )
        except TimeoutError:
            process.kill()
            await process.wait()
            raise RuntimeError(f"timed out after {self.config['command_timeout']:g} s") from None
        except asyncio.CancelledError:
            # The scheduler gave up on this round: never leave the child behind.
            process.kill()
            await process.wait()
            raise
        if process.returncode != 0:
            tail = stderr.decode(errors="replace").strip()[-200:]
            raise RuntimeError(f"exit status {process.returncode}" + (f": {tail}" if tail else ""))
        if len(stdout) > MAX_OUTPUT:
            raise RuntimeError(f"printed {len(stdout)} bytes, more than {MAX_OUTPUT}")
        return stdout.decode(errors="replace")

    def _parse(self, command: str, text: str) -> list[Sample]:
        fmt, prefix = self.config["format"], self.config["prefix"]
        if fmt == "prometheus":
            parsed = exposition.parse(text)
            return list(exposition.to_samples(parsed.points, prefix, self._rates, source=command))
        pairs = _json(text) if fmt == "json" else _lines(text)
        samples = []
        for name, value, labels, unit in pairs:
            metric = exposition.metric_name(prefix, name)
            if METRIC_RE.match(metric) and math.isfinite(value):
                samples.append(Sample(metric, value, labels, unit))
        return samples


def _child_environment() -> dict[str, str]:
    # The agent's own secrets are not the commands' business.
    return {key: value for key, value in os.environ.items() if key not in SECRET_VARIABLES}


Reading = tuple[str, float, dict[str, str], str]


def _lines(text: str) -> Iterator[Reading]:
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        if len(fields) != 2:
            raise ValueError(f"line {number}: expected 'name value', got {line[:80]!r}")
        yield fields[0], float(fields[1]), {}, ""


def _json(text: str) -> Iterator[Reading]:
    try:
        documents = [json.loads(text)]
    except json.JSONDecodeError:
        documents = [json.loads(line) for line in text.splitlines() if line.strip()]
    for document in documents:
        items = document if isinstance(document, list) else [document]
        for item in items:
            if isinstance(item, dict) and "metric" in item and "value" in item:
                labels = {str(k): str(v) for k, v in (item.get("labels") or {}).items()}
                yield str(item["metric"]), float(item["value"]), labels, str(item.get("unit", ""))
            elif isinstance(item, dict):
                for name, value in _leaves(item, ""):
                    yield name, value, {}, ""
            else:
                raise ValueError(f"expected an object, got {type(item).__name__}")


def _leaves(document: dict[str, Any], path: str) -> Iterator[tuple[str, float]]:
    for key, value in document.items():
        name = f"{path}.{key}" if path else str(key)
        if isinstance(value, dict):
            yield from _leaves(value, name)
        elif isinstance(value, int | float):  # bool is an int: true/false become 1/0
            yield name, float(value)


@hookimpl
def register_sources() -> list[type[Source]]:
    return [Exec]
