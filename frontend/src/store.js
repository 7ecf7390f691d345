// Our own point buffers, one per series. Chart.js datasets point at these arrays (parsing: false),
// and we never push into dataset.data: with the decimation plugin on, Chart.js 4 makes it a getter
// over its decimated copy, so a push() would land in that copy and be lost at the next update.

/**
 * One point as Chart.js reads it with parsing off, plus the hub's optional extras:
 *   [ts, value]                                  a raw point
 *   [ts, mean, min, max]                         a history bucket (the range held more points)
 *   [ts, value, score, low, high, anomaly]       a point scored by the anomaly detector
 */
export function toPoint(p) {
  const point = { x: p[0], y: p[1] };
  if (p.length === 4) {
    point.min = p[2];
    point.max = p[3];
  } else if (p.length > 4) {
    point.score = p[2];
    if (typeof p[3] === "number" && typeof p[4] === "number") {
      point.low = p[3];
      point.high = p[4];
    }
    point.anomaly = Boolean(p[5]);
  }
  return point;
}

/** A gap this many times the spacing around it is a gap: the agent, the host or the hub was down. */
export const GAP_FACTOR = 4;

/**
 * `points` with a null point in each gap, so the chart breaks its line there instead of drawing
 * a straight line across minutes nobody measured. A gap is judged against the spacing on either
 * side of it (the larger): where history tiers meet (1 h buckets, then 1 min) nothing breaks,
 * and a series sampled every minute is not broken by its own rhythm. Returns `points` itself
 * when there is no gap.
 */
export function breakGaps(points) {
  let out = null;
  for (let i = 1; i < points.length; i += 1) {
    const gap = points[i].x - points[i - 1].x;
    const before = i > 1 ? points[i - 1].x - points[i - 2].x : 0;
    const after = i + 1 < points.length ? points[i + 1].x - points[i].x : 0;
    const usual = Math.max(before, after);
    if (usual > 0 && gap > GAP_FACTOR * usual) {
      if (!out) out = points.slice(0, i);
      out.push({ x: points[i - 1].x + usual, y: null });
    }
    if (out) out.push(points[i]);
  }
  return out ?? points;
}

function lowerBound(data, ts) {
  let lo = 0;
  let hi = data.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (data[mid].x < ts) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class SeriesBuffer {
  /** `info` is the hub's series object: {id, host, metric, labels, unit}. */
  constructor(info) {
    this.info = info;
    this.data = [];
    this.low = [];
    this.high = [];
    this.min = [];
    this.max = [];
    this.hasBand = false;
    this.hasEnvelope = false;
    this.anomalies = 0;
    this.version = 0;
  }

  /** Add wire points, live or from history, in any order; a repeated ts replaces the old one. */
  add(points) {
    if (!points || points.length === 0) return 0;
    const fresh = points.map(toPoint);
    const last = this.data.length ? this.data[this.data.length - 1].x : -Infinity;
    let inOrder = fresh[0].x > last;
    for (let i = 1; inOrder && i < fresh.length; i += 1) inOrder = fresh[i].x > fresh[i - 1].x;
    if (inOrder) {
      for (const point of fresh) this.data.push(point);
      this.pushBand(fresh);
    } else {
      // History arriving after live points, or a gap fill: merge, newest copy of a ts wins.
      const byTs = new Map();
      for (const point of this.data) byTs.set(point.x, point);
      for (const point of fresh) byTs.set(point.x, point);
      this.data = [...byTs.values()].sort((a, b) => a.x - b.x);
      this.rebuildBand();
    }
    this.version += 1;
    return fresh.length;
  }

  pushBand(points) {
    for (const point of points) {
      if (point.low !== undefined) {
        this.hasBand = true;
        this.low.push({ x: point.x, y: point.low });
        this.high.push({ x: point.x, y: point.high });
      }
      if (point.min !== undefined) {
        this.hasEnvelope = true;
        this.min.push({ x: point.x, y: point.min });
        this.max.push({ x: point.x, y: point.max });
      }
      if (point.anomaly) this.anomalies += 1;
    }
  }

  rebuildBand() {
    this.low = [];
    this.high = [];
    this.min = [];
    this.max = [];
    this.anomalies = 0;
    this.pushBand(this.data);
  }

  /** Forget points older than `minTs` (keeping one before it so the line enters the chart). */
  trim(minTs) {
    const i = lowerBound(this.data, minTs) - 1;
    if (i <= 0) return;
    this.data = this.data.slice(i);
    const j = lowerBound(this.low, minTs) - 1;
    if (j > 0) {
      this.low = this.low.slice(j);
      this.high = this.high.slice(j);
    }
    const k = lowerBound(this.min, minTs) - 1;
    if (k > 0) {
      this.min = this.min.slice(k);
      this.max = this.max.slice(k);
    }
    this.anomalies = this.data.reduce((n, point) => n + (point.anomaly ? 1 : 0), 0);
    this.version += 1;
  }

  clear() {
    this.data = [];
    this.low = [];
    this.high = [];
    this.min = [];
    this.max = [];
    this.anomalies = 0;
    this.version += 1;
  }

  /** `this[key]` ("data", "low", "high", "min" or "max") as charts draw it: see breakGaps. */
  withGaps(key) {
    const cached = this.gapViews?.[key];
    if (cached && cached.version === this.version) return cached.points;
    this.gapViews = this.gapViews ?? {};
    const points = breakGaps(this[key]);
    this.gapViews[key] = { version: this.version, points };
    return points;
  }

  last() {
    return this.data.length ? this.data[this.data.length - 1] : null;
  }

  /** Values from `since` on, for sparklines and meters. */
  valuesSince(since) {
    return this.data.slice(lowerBound(this.data, since));
  }
}
