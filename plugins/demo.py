"""Made-up data for ``hostpulse demo`` and the dashboard's examples: a random stream, a weather
sensor, and a steady stream with injected spikes for the anomaly detector to find.

None runs unless enabled (``hostpulse demo`` does). ``seed`` makes a stream repeatable.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar

from hostpulse import Option, Sample, Source, hookimpl
from hostpulse.agent.errors import ConfigError

_SEED_HELP = "seed for a repeatable stream (0: a different stream each run)"


class _Demo(Source):
    default_enabled = False  # demo data on a real host's dashboard would mislead

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        self.random = random.Random(self.config["seed"] or None)
        #: The wall clock; tests put a fake one here.
        self.wall: Callable[[], float] = time.time

    @classmethod
    def _positive(cls, checked: Mapping[str, Any], *keys: str) -> None:
        for key in keys:
            if not checked[key] > 0:
                raise ConfigError(f"plugins.{cls.name}.{key}", checked[key], "a positive number")


class DemoRandom(_Demo):
    """A uniformly random value each tick."""

    name = "demo_random"
    options: ClassVar[dict[str, Option]] = {
        "low": Option(float, default=0.0, help="smallest value"),
        "high": Option(float, default=100.0, help="largest value"),
        "seed": Option(int, default=0, help=_SEED_HELP),
    }

    @classmethod
    def validate(cls, config: Mapping[str, Any]) -> dict[str, Any]:
        checked = super().validate(config)
        if checked["high"] <= checked["low"]:
            raise ConfigError(f"plugins.{cls.name}.high", checked["high"], f"more than low ({checked['low']})")
        return checked

    def collect(self) -> Iterator[Sample]:
        yield Sample("demo.random", self.random.uniform(self.config["low"], self.config["high"]))


class DemoSensor(_Demo):
    """A weather station: temperature, humidity and pressure that drift smoothly and plausibly.

    Temperature follows a cycle of ``period`` seconds (a compressed day); humidity moves against
    it, as relative humidity does when air warms; pressure wanders slowly around 1013 hPa.
    """

    name = "demo_sensor"
    options: ClassVar[dict[str, Option]] = {
        "period": Option(float, default=600.0, help="seconds of one warm-cold cycle"),
        "seed": Option(int, default=0, help=_SEED_HELP),
    }

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        # Slow, mean-reverting wobbles (AR(1)) look like weather; white noise would look like a fault.
        self._wobble = {"temperature": 0.0, "humidity": 0.0}
        self._pressure = 1013.25 + self.random.gauss(0.0, 3.0)

    @classmethod
    def validate(cls, config: Mapping[str, Any]) -> dict[str, Any]:
        checked = super().validate(config)
        cls._positive(checked, "period")
        return checked

    def collect(self) -> Iterator[Sample]:
        phase = math.sin(2 * math.pi * (self.wall() % self.config["period"]) / self.config["period"])
        for key, spread in (("temperature", 0.03), ("humidity", 0.15)):
            self._wobble[key] = 0.95 * self._wobble[key] + self.random.gauss(0.0, spread)
        # Pressure drifts on a slower swell than the temperature cycle, as weather fronts pass.
        swell = 4.0 * math.sin(2 * math.pi * (self.wall() % (3 * self.config["period"]))
                               / (3 * self.config["period"]))
        self._pressure += 0.01 * (1013.25 + swell - self._pressure) + self.random.gauss(0.0, 0.03)
        temperature = 21.0 + 3.5 * phase + self._wobble["temperature"]
        humidity = min(100.0, max(0.0, 48.0 - 9.0 * phase + self._wobble["humidity"]))
        yield Sample("sensor.temperature", round(temperature, 2), unit="°C")
        yield Sample("sensor.humidity", round(humidity, 1), unit="%")
        yield Sample("sensor.pressure", round(self._pressure, 2), unit="hPa")


class DemoSpikes(_Demo):
    """A steady stream around a baseline with injected spikes up and down, at a random rate."""

    name = "demo_spikes"
    options: ClassVar[dict[str, Option]] = {
        "baseline": Option(float, default=50.0, help="the level the stream stays around"),
        "noise": Option(float, default=2.0, help="standard deviation of the ordinary jitter"),
        "amplitude": Option(float, default=20.0, help="size of a spike, up or down"),
        "rate": Option(float, default=0.02, help="chance of a spike at each tick (0 to 1)"),
        "seed": Option(int, default=0, help=_SEED_HELP),
    }

    @classmethod
    def validate(cls, config: Mapping[str, Any]) -> dict[str, Any]:
        checked = super().validate(config)
        if not 0.0 <= checked["rate"] <= 1.0:
            raise ConfigError(f"plugins.{cls.name}.rate", checked["rate"], "a chance from 0 to 1")
        if checked["noise"] < 0:
            raise ConfigError(f"plugins.{cls.name}.noise", checked["noise"], "zero or more")
        return checked

    def collect(self) -> Iterator[Sample]:
        value = self.random.gauss(self.config["baseline"], self.config["noise"])
        if self.random.random() < self.config["rate"]:
            value += self.random.choice((-1.0, 1.0)) * self.config["amplitude"]
        yield Sample("demo.spikes", round(value, 3))


@hookimpl
def register_sources() -> list[type[Source]]:
    return [DemoRandom, DemoSensor, DemoSpikes]
