// Opt-in measurements for bench/dashboard_fps.py: the delay from a point's timestamp to the
// frame that draws it. Off unless the benchmark sets window.hostpulse.perf.enabled.

const MAX_SAMPLES = 100_000;

export const perf = { enabled: false, latencies: [], arrivals: [], waits: [] };

/**
 * A points frame arrived: how long since the hub received its batch (the frame's `received_at`,
 * epoch ms; else the newest point's timestamp)? The hub's and the socket's share.
 */
export function recordArrival(frame) {
  if (!perf.enabled || perf.arrivals.length >= MAX_SAMPLES) return;
  let newest = 0;
  for (const s of frame.series || []) {
    const p = s.points;
    if (p && p.length) newest = Math.max(newest, p[p.length - 1][0]);
  }
  const origin = typeof frame.received_at === "number" ? frame.received_at : newest;
  if (origin) perf.arrivals.push(Date.now() - origin);
}

/** A chart drew points that came from `sinceTs` and reached the page at `queuedAt`. */
export function recordDraw(sinceTs, queuedAt) {
  if (!perf.enabled || !sinceTs) return;
  const now = Date.now();
  if (perf.latencies.length < MAX_SAMPLES) perf.latencies.push(now - sinceTs);
  if (queuedAt && perf.waits.length < MAX_SAMPLES) perf.waits.push(now - queuedAt);
}

/** The moment a streamed series' latency counts from (see recordArrival). */
export function originOf(frame, series) {
  if (typeof frame.received_at === "number") return frame.received_at;
  const p = series.points;
  return p && p.length ? p[p.length - 1][0] : 0;
}
