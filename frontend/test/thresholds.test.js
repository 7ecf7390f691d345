import assert from "node:assert/strict";
import { test } from "node:test";
import { level, setLevels, thresholdsFor } from "../src/thresholds.js";

// Entries as GET /api/v1/alerts/levels answers them: the hub has matched its rules already.
const entry = (over) => ({ series_id: 1, host: "db1", metric: "disk.percent", labels: { mount: "/" }, rule: "root", warning: 70, critical: 80, ...over });

test("a series finds the levels the hub answered for it, by id or by host, metric and labels", () => {
  setLevels([
    entry({}),
    entry({ series_id: 2, labels: { mount: "/data", fs: "ext4" }, rule: "disk_full", warning: 85, critical: 95 }),
    entry({ series_id: 3, host: "x", metric: "cpu.percent", labels: { cpu: "total" }, rule: "cpu_high", warning: null, critical: 90 }),
  ]);
  assert.deepEqual(thresholdsFor({ id: 1 }), { warning: 70, critical: 80 });
  // Labels in any order name the same series.
  assert.deepEqual(thresholdsFor({ host: "db1", metric: "disk.percent", labels: { fs: "ext4", mount: "/data" } }), { warning: 85, critical: 95 });
  assert.deepEqual(thresholdsFor({ host: "x", metric: "cpu.percent", labels: { cpu: "total" } }), { critical: 90 });
  // No entry: no threshold rule of the hub selects it, so no lines (the browser matches nothing).
  assert.equal(thresholdsFor({ id: 9, host: "db1", metric: "disk.percent", labels: { mount: "/boot" } }), null);
  assert.equal(thresholdsFor({ host: "web1", metric: "disk.percent", labels: { mount: "/" } }), null);
});

test("levels read again for a host replace that host's, and only those", () => {
  setLevels([entry({}), entry({ series_id: 5, host: "db2" })]);
  setLevels([entry({ series_id: 6, labels: { mount: "/srv" } })], { host: "db1" });
  assert.equal(thresholdsFor({ id: 1 }), null); // db1's "/" lost its rule
  assert.deepEqual(thresholdsFor({ id: 6 }), { warning: 70, critical: 80 });
  assert.deepEqual(thresholdsFor({ id: 5 }), { warning: 70, critical: 80 }); // db2's stay
});

test("a level missing from a rule is never reached", () => {
  assert.equal(level(95, { critical: 90 }), "critical");
  assert.equal(level(85, { critical: 90 }), "ok");
  assert.equal(level(31, { warning: 30 }), "warning");
  assert.equal(level(null, { warning: 30 }), "ok");
});
