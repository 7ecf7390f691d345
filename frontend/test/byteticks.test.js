import assert from "node:assert/strict";
import { test } from "node:test";
import { byteTicks } from "../src/byteticks.js";

const GiB = 2 ** 30;
const MiB = 2 ** 20;

function ticksFor(min, max, maxTicksLimit = 6) {
  const scale = { min, max, options: { ticks: { maxTicksLimit } }, ticks: [] };
  byteTicks(scale);
  return { values: scale.ticks.map((t) => t.value), min: scale.min, max: scale.max };
}

test("byte axes step by powers of two of their unit", () => {
  assert.deepEqual(ticksFor(0, 93.1 * GiB).values, [0, 32, 64, 96].map((v) => v * GiB));
  assert.deepEqual(ticksFor(0, 279 * GiB).values, [0, 64, 128, 192, 256, 320].map((v) => v * GiB));
  assert.deepEqual(ticksFor(0, 2 * GiB + 30).values.slice(0, 3), [0, 512 * MiB, GiB]);
  // Past 512 of a unit, the next unit: 600 MiB steps become 1 GiB.
  assert.deepEqual(ticksFor(0, 3000 * MiB).values, [0, 1, 2, 3].map((v) => v * GiB));
  // Small rates: fractions of a byte are fine too.
  assert.deepEqual(ticksFor(0, 1).values, [0, 0.25, 0.5, 0.75, 1]);
});

test("the axis widens to its outer ticks and never has more than one tick over the limit", () => {
  const t = ticksFor(3 * MiB, 77 * MiB);
  assert.equal(t.min, 0);
  assert.equal(t.max, 80 * MiB);
  for (const [min, max] of [[0, 1], [0, 5e9], [12345, 99999], [0, 2 ** 50]]) {
    assert.ok(ticksFor(min, max).values.length <= 7, `${min}–${max}`);
  }
});

test("a flat or empty range is left to Chart.js", () => {
  const scale = { min: 5, max: 5, options: { ticks: {} }, ticks: ["kept"] };
  byteTicks(scale);
  assert.deepEqual(scale.ticks, ["kept"]);
});
