// Warning/critical levels per metric. Usage percentages default to 80/90 (Grafana's node
// exporter dashboard does the same); a user can override any metric from the browser console:
//   localStorage.setItem("hostpulse.thresholds", '{"disk.percent": {"warning": 85, "critical": 95}}')

const DEFAULTS = [
  { test: (metric, unit) => unit === "%" && /(^|\.|_)(percent|busy_percent|usage)$/.test(metric), warning: 80, critical: 90 },
];

function overrides() {
  try {
    return JSON.parse(localStorage.getItem("hostpulse.thresholds") || "{}") || {};
  } catch {
    return {};
  }
}

/** {warning, critical} for a metric, or null when it has no thresholds. */
export function thresholdsFor(metric, unit) {
  const own = overrides()[metric];
  if (own) return own;
  const rule = DEFAULTS.find((r) => r.test(metric, unit));
  return rule ? { warning: rule.warning, critical: rule.critical } : null;
}

/** "ok" | "warning" | "critical" for a value against thresholds. */
export function level(value, thresholds) {
  if (!thresholds || value === null || value === undefined) return "ok";
  if (value >= thresholds.critical) return "critical";
  if (value >= thresholds.warning) return "warning";
  return "ok";
}
