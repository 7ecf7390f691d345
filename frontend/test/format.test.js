import assert from "node:assert/strict";
import { test } from "node:test";
import { describePoint, formatAgo, formatBand, formatLabels, formatValue } from "../src/format.js";

test("bytes are 1024-based", () => {
  assert.equal(formatValue(512, "B"), "512 B");
  assert.equal(formatValue(1536, "B"), "1.5 KiB");
  assert.equal(formatValue(2 * 1024 ** 3, "B"), "2 GiB");
  assert.equal(formatValue(3.5 * 1024 ** 2, "B/s"), "3.5 MiB/s");
});

test("percent, temperature, other units and bare numbers", () => {
  assert.equal(formatValue(12.345, "%"), "12.3 %");
  assert.equal(formatValue(21.55, "°C"), "21.6 °C");
  assert.equal(formatValue(1013.2, "hPa"), "1013 hPa");
  assert.equal(formatValue(25000, "/s"), "25 k/s");
  assert.equal(formatValue(1500, ""), "1.5k");
  assert.equal(formatValue(null, "%"), "–");
});

test("ages and labels", () => {
  assert.equal(formatAgo(0), "never");
  assert.equal(formatAgo(1000, 6000), "5 s ago");
  assert.equal(formatAgo(0 + 1, 1 + 3 * 3600_000), "3 h ago");
  assert.equal(formatLabels({ cpu: "0", mode: "user" }), "cpu=0, mode=user");
  assert.equal(formatLabels({}), "");
});

test("anomaly tooltip says the value and the expected band", () => {
  const point = { x: 1, y: 71.3, low: 44, high: 56, anomaly: true };
  assert.equal(describePoint(point, ""), "Value: 71.3 (anomaly, expected 44–56)");
  assert.equal(describePoint(point, "%"), "Value: 71.3 % (anomaly, expected 44–56 %)");
  assert.equal(describePoint({ x: 1, y: 50, low: 44, high: 56, anomaly: false }, ""), "Value: 50 (expected 44–56)");
  assert.equal(describePoint({ x: 1, y: 5, min: 1, max: 9 }, ""), "Value: 5 (min 1, max 9)");
});

test("a band edge below zero reads as 'up to' where the unit cannot be negative", () => {
  assert.equal(formatBand(-72.8, 91.1, "%"), "up to 91.1 %");
  assert.equal(formatBand(-0.63, 1536, "B/s"), "up to 1.5 KiB/s");
  assert.equal(formatBand(-3, 4, "°C"), "-3–4 °C");
  assert.equal(formatBand(44, 56, "%"), "44–56 %");
  assert.equal(describePoint({ x: 1, y: 99, low: -5, high: 6, anomaly: true }, "%"), "Value: 99.0 % (anomaly, expected up to 6 %)");
});
