// Opt-in measurements for bench/dashboard_fps.py, kept in fixed-size histograms (1 ms buckets)
// so that measuring does not itself grow the heap the benchmark watches. Off until start().
//   latency  the hub's receipt of a batch (frame.received_at) to the frame that draws it
//   arrival  the hub's receipt to the frame reaching this page's script (hub + socket share)
//   wait     the frame reaching this page's script to the draw (the dashboard's share)

const MAX_MS = 10_000;

export const perf = {
  enabled: false,
  latency: null,
  arrival: null,
  wait: null,
  start() {
    this.latency = new Uint32Array(MAX_MS + 1);
    this.arrival = new Uint32Array(MAX_MS + 1);
    this.wait = new Uint32Array(MAX_MS + 1);
    this.enabled = true;
  },
  /** The three histograms as plain arrays, for the benchmark to read. */
  read() {
    return { latency: Array.from(this.latency), arrival: Array.from(this.arrival), wait: Array.from(this.wait) };
  },
};

function add(histogram, ms) {
  histogram[Math.max(0, Math.min(MAX_MS, Math.round(ms)))] += 1;
}

/** A points frame reached the page. */
export function recordArrival(frame) {
  if (!perf.enabled) return;
  const origin = originOf(frame, frame.series && frame.series[0] ? frame.series[0] : {});
  if (origin) add(perf.arrival, Date.now() - origin);
}

/** A chart drew points whose batch the hub received at `sinceTs` and this page got at `queuedAt`. */
export function recordDraw(sinceTs, queuedAt) {
  if (!perf.enabled || !sinceTs) return;
  const now = Date.now();
  add(perf.latency, now - sinceTs);
  if (queuedAt) add(perf.wait, now - queuedAt);
}

/** The moment a streamed series' latency counts from: the hub's receipt, else its newest point. */
export function originOf(frame, series) {
  if (typeof frame.received_at === "number") return frame.received_at;
  const p = series.points;
  return p && p.length ? p[p.length - 1][0] : 0;
}
