import assert from "node:assert/strict";
import { test } from "node:test";
import { breakGaps, SeriesBuffer, toPoint } from "../src/store.js";

const info = { id: 1, host: "h", metric: "cpu.percent", labels: {}, unit: "%" };

test("wire points: raw, history bucket, scored", () => {
  assert.deepEqual(toPoint([1, 2]), { x: 1, y: 2 });
  assert.deepEqual(toPoint([1, 2, 0, 5]), { x: 1, y: 2, min: 0, max: 5 });
  assert.deepEqual(toPoint([1, 71, 0.9, 44, 56, true]), { x: 1, y: 71, score: 0.9, low: 44, high: 56, anomaly: true });
});

test("in-order points append; late ones merge sorted and replace the same ts", () => {
  const b = new SeriesBuffer(info);
  b.add([[10, 1], [20, 2]]);
  b.add([[30, 3]]);
  assert.deepEqual(b.data.map((p) => p.x), [10, 20, 30]);
  b.add([[5, 0], [20, 9], [25, 4]]);
  assert.deepEqual(b.data.map((p) => [p.x, p.y]), [[5, 0], [10, 1], [20, 9], [25, 4], [30, 3]]);
});

test("bands and anomalies are kept beside the line, and trimmed with it", () => {
  const b = new SeriesBuffer(info);
  b.add([[10, 50, 0.1, 44, 56, false], [20, 71, 0.9, 44, 56, true], [30, 50, 0.1, 45, 57, false]]);
  assert.equal(b.hasBand, true);
  assert.equal(b.anomalies, 1);
  assert.deepEqual(b.high.map((p) => p.y), [56, 56, 57]);
  b.trim(25); // keeps one point before 25 so the line enters the chart
  assert.deepEqual(b.data.map((p) => p.x), [20, 30]);
  assert.deepEqual(b.low.map((p) => p.x), [20, 30]);
  assert.equal(b.anomalies, 1);
  b.trim(31);
  assert.deepEqual(b.data.map((p) => p.x), [30]);
  assert.equal(b.anomalies, 0);
});

test("history buckets give a min/max envelope", () => {
  const b = new SeriesBuffer(info);
  b.add([[10, 5, 1, 9], [20, 6, 2, 8]]);
  assert.equal(b.hasEnvelope, true);
  assert.deepEqual(b.max.map((p) => p.y), [9, 8]);
});

test("a gap four times the spacing around it breaks the line; tier changes and rhythm do not", () => {
  const pts = (xs) => xs.map((x) => ({ x, y: 1 }));
  // 1 s points, 10 minutes of nothing, 1 s points: a null point right after the last one before.
  const broken = breakGaps(pts([0, 1000, 2000, 602000, 603000]));
  assert.deepEqual(broken.map((p) => [p.x, p.y]), [[0, 1], [1000, 1], [2000, 1], [3000, null], [602000, 1], [603000, 1]]);
  // Hourly buckets then minute buckets (history tiers meeting): one line.
  const tiers = pts([0, 3600000, 7200000, 7260000, 7320000]);
  assert.equal(breakGaps(tiers), tiers);
  // A series every 60 s with one sample late by a few seconds: one line.
  const steady = pts([0, 60000, 120000, 185000, 240000]);
  assert.equal(breakGaps(steady), steady);
});

test("a buffer's gap view is cached until the buffer changes", () => {
  const buffer = new SeriesBuffer({ id: 1 });
  buffer.add([[0, 1], [1000, 2], [2000, 3], [900000, 4], [901000, 5]]);
  const view = buffer.withGaps("data");
  assert.equal(view.filter((p) => p.y === null).length, 1);
  assert.equal(buffer.withGaps("data"), view);
  buffer.add([[902000, 6]]);
  assert.notEqual(buffer.withGaps("data"), view);
  assert.equal(buffer.data.some((p) => p.y === null), false); // the buffer itself stays clean
});
