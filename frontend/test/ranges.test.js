import assert from "node:assert/strict";
import { test } from "node:test";
import { rangeFromParams, rangeToParams } from "../src/ranges.js";

test("presets are live windows ending now; the default is 5 minutes", () => {
  const r = rangeFromParams({}, 1_000_000);
  assert.deepEqual([r.id, r.live, r.from, r.to], ["5m", true, 700_000, 1_000_000]);
  assert.equal(rangeFromParams({ range: "6h" }, 0).ms, 6 * 3_600_000);
  assert.equal(rangeFromParams({ range: "nonsense" }, 0).id, "5m");
});

test("a custom range is fixed and round-trips through the URL", () => {
  const r = rangeFromParams({ range: "custom", from: "100", to: "500" });
  assert.deepEqual([r.id, r.live, r.from, r.to], ["custom", false, 100, 500]);
  assert.deepEqual(rangeToParams(r), { range: "custom", from: "100", to: "500" });
  assert.deepEqual(rangeToParams(rangeFromParams({ range: "1h" })), { range: "1h" });
  assert.deepEqual(rangeToParams(rangeFromParams({})), {});
});
