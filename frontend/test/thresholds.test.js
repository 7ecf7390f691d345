import assert from "node:assert/strict";
import { test } from "node:test";
import { level, patternRegExp, setRules, thresholdsFor } from "../src/thresholds.js";

const rule = (over) => ({ kind: "threshold", metric: "*", labels: {}, host: "*", host_labels: {}, warning: null, critical: null, ...over });

test("globs and ~regex match as the hub's fnmatch and re.match(…\\Z) do", () => {
  assert.ok(patternRegExp("disk.*").test("disk.percent"));
  assert.ok(!patternRegExp("disk.*").test("diskio.percent"));
  assert.ok(patternRegExp("web?").test("web1") && !patternRegExp("web?").test("web10"));
  assert.ok(patternRegExp("db[0-9]").test("db3") && !patternRegExp("db[!0-9]").test("db3"));
  assert.ok(patternRegExp("a+b").test("a+b") && !patternRegExp("a+b").test("aab"));
  assert.ok(patternRegExp("~cpu\\.(percent|busy)").test("cpu.busy"));
  assert.ok(!patternRegExp("~cpu").test("cpu.percent"));
});

test("a series takes the levels of the first threshold rule selecting it", () => {
  setRules([
    rule({ name: "host_down", kind: "host_down" }),
    rule({ name: "root", metric: "disk.percent", labels: { mount: "/" }, host: "db*", warning: 70, critical: 80 }),
    rule({ name: "disk_full", metric: "disk.percent", warning: 85, critical: 95 }),
    rule({ name: "cpu_high", metric: "cpu.percent", critical: 90 }),
    rule({ name: "lab", metric: "room.temp", host_labels: { site: "lab" }, warning: 30 }),
  ]);
  const disk = (host, mount) => ({ host, metric: "disk.percent", labels: { mount } });
  assert.deepEqual(thresholdsFor(disk("db1", "/")), { warning: 70, critical: 80 });
  assert.deepEqual(thresholdsFor(disk("db1", "/data")), { warning: 85, critical: 95 });
  assert.deepEqual(thresholdsFor(disk("web1", "/")), { warning: 85, critical: 95 });
  assert.deepEqual(thresholdsFor({ host: "x", metric: "cpu.percent", labels: { cpu: "0" } }), { critical: 90 });
  assert.equal(thresholdsFor({ host: "x", metric: "mem.used", labels: {} }), null);
  const temp = { host: "x", metric: "room.temp", labels: {} };
  assert.deepEqual(thresholdsFor(temp, { site: "lab" }), { warning: 30 });
  assert.equal(thresholdsFor(temp, { site: "home" }), null);
});

test("a level missing from a rule is never reached", () => {
  assert.equal(level(95, { critical: 90 }), "critical");
  assert.equal(level(85, { critical: 90 }), "ok");
  assert.equal(level(31, { warning: 30 }), "warning");
  assert.equal(level(null, { warning: 30 }), "ok");
});
