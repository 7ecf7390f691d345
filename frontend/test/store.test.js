import assert from "node:assert/strict";
import { test } from "node:test";
import { SeriesBuffer, toPoint } from "../src/store.js";

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
