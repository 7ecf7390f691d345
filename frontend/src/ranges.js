// Time ranges of the host and compare pages, read from and written to the URL hash.

export const RANGES = [
  { id: "5m", label: "5 m", ms: 5 * 60_000 },
  { id: "1h", label: "1 h", ms: 3_600_000 },
  { id: "6h", label: "6 h", ms: 6 * 3_600_000 },
  { id: "24h", label: "24 h", ms: 24 * 3_600_000 },
  { id: "7d", label: "7 d", ms: 7 * 24 * 3_600_000 },
  { id: "30d", label: "30 d", ms: 30 * 24 * 3_600_000 },
];

export const DEFAULT_RANGE = "5m";

/** {id, ms, from, to, live} from URL params; a custom range has from/to and is not live. */
export function rangeFromParams(params, now = Date.now()) {
  const from = Number(params.from);
  const to = Number(params.to);
  if ((params.range === "custom" || !params.range) && from > 0 && to > from) {
    return { id: "custom", ms: to - from, from, to, live: false };
  }
  const preset = RANGES.find((r) => r.id === params.range) ?? RANGES.find((r) => r.id === DEFAULT_RANGE);
  return { id: preset.id, ms: preset.ms, from: now - preset.ms, to: now, live: true };
}

/** URL params for a range (only what differs from the defaults). */
export function rangeToParams(range) {
  if (range.id === "custom") return { range: "custom", from: String(Math.round(range.from)), to: String(Math.round(range.to)) };
  return range.id === DEFAULT_RANGE ? {} : { range: range.id };
}

/** How many points to ask the history API for: about one per pixel of a wide chart. */
export function maxPointsFor(range) {
  return range.ms <= 10 * 60_000 ? 1200 : 800;
}

/** "2026-11-25T18:41" for a datetime-local input, in local time. */
export function toLocalInput(ts) {
  const d = new Date(ts - new Date(ts).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}

export function fromLocalInput(value) {
  const t = new Date(value).getTime();
  return Number.isNaN(t) ? null : t;
}
