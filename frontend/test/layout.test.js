import assert from "node:assert/strict";
import { test } from "node:test";
import { distinctLabels, planCharts } from "../src/panels/layout.js";
import { setLevels } from "../src/thresholds.js";

// The hub's levels as GET /api/v1/alerts/levels gives them (per series): the charts' lines.
const levels = (rule, metric, labelSets, warning, critical) =>
  labelSets.map((labels) => ({ series_id: null, host: "h", metric, labels, rule, warning, critical }));
setLevels([
  ...levels("cpu_high", "cpu.percent", [{ cpu: "total" }, { cpu: "0" }, { cpu: "1" }], 80, 90),
  ...levels("memory_high", "mem.percent", [{}], 90, 95),
]);

let id = 0;
const s = (metric, unit, labels = {}) => ({ id: ++id, host: "h", metric, unit, labels });

test("series are grouped by source, known sources first, custom prefixes after", () => {
  const plan = planCharts([
    s("solar.power", "W", { panel: "roof" }),
    s("net.rx_bytes_per_s", "B/s", { iface: "eth0" }),
    s("cpu.percent", "%", { cpu: "total" }),
    s("mem.used", "B"),
    s("sensor.temperature", "°C"),
  ]);
  assert.deepEqual(plan.map((g) => g.id), ["cpu", "memory", "network", "sensors", "solar"]);
});

test("a metric with label sets is one chart, total first; usage gets thresholds", () => {
  const [cpu] = planCharts([s("cpu.percent", "%", { cpu: "1" }), s("cpu.percent", "%", { cpu: "total" }), s("cpu.percent", "%", { cpu: "0" })]);
  assert.equal(cpu.charts.length, 1);
  assert.deepEqual(cpu.charts[0].entries.map((e) => e.label), ["total", "0", "1"]);
  assert.deepEqual(cpu.charts[0].thresholds, { warning: 80, critical: 90 });
});

test("unlabelled metrics of one unit share a chart", () => {
  const [mem] = planCharts([s("mem.used", "B"), s("mem.available", "B"), s("mem.percent", "%"), s("swap.percent", "%")]);
  assert.deepEqual(mem.charts.map((c) => c.units), [["%"], ["B"]]);
  assert.deepEqual(mem.charts[1].metrics, ["mem.available", "mem.used"]);
  assert.deepEqual(mem.charts[0].thresholds, { warning: 90, critical: 95 }); // swap.percent has none
});

test("sensors share one chart with an axis per unit", () => {
  const [sensors] = planCharts([s("sensor.temperature", "°C"), s("sensor.humidity", "%"), s("sensor.pressure", "hPa")]);
  assert.equal(sensors.charts.length, 1);
  assert.deepEqual([...sensors.charts[0].units].sort(), ["%", "hPa", "°C"].sort());
  assert.equal(sensors.charts[0].thresholds, null);
});

test("legends name only the label that differs", () => {
  const list = [s("disk.percent", "%", { mount: "/", fstype: "ext4" }), s("disk.percent", "%", { mount: "/data", fstype: "ext4" })];
  assert.deepEqual(list.map(distinctLabels(list)), ["/", "/data"]);
});
