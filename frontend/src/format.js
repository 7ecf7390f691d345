// Unit-aware number formatting: bytes are 1024-based, rates get "/s", percentages one decimal.

const BYTE_UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
const SI_PREFIXES = ["", "k", "M", "G", "T", "P"];

function trimmed(value, digits = 3) {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (abs !== 0 && abs < 0.01) return value.toExponential(1);
  // Three significant digits reads well on axes and tooltips without jitter in width.
  const decimals = abs >= 100 ? 0 : abs >= 10 ? 1 : 2;
  return Number(value.toFixed(Math.min(decimals, digits))).toString();
}

function scaled(value, base, units) {
  let i = 0;
  let v = value;
  while (Math.abs(v) >= base && i < units.length - 1) {
    v /= base;
    i += 1;
  }
  return [v, units[i]];
}

/** Format `value` in `unit` for people: 1536 "B" -> "1.5 KiB", 12.345 "%" -> "12.3 %". */
export function formatValue(value, unit = "") {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  switch (unit) {
    case "B": {
      const [v, u] = scaled(value, 1024, BYTE_UNITS);
      return `${trimmed(v)} ${u}`;
    }
    case "B/s": {
      const [v, u] = scaled(value, 1024, BYTE_UNITS);
      return `${trimmed(v)} ${u}/s`;
    }
    case "%":
      return `${value.toFixed(1)} %`;
    case "°C":
    case "°F":
      return `${value.toFixed(1)} ${unit}`;
    case "":
    case undefined: {
      const [v, p] = scaled(value, 1000, SI_PREFIXES);
      return `${trimmed(v)}${p}`;
    }
    default: {
      // Other rates and counts ("/s", "ops/s", "hPa", "W"): SI prefixes only above 10k.
      if (Math.abs(value) >= 10000) {
        const [v, p] = scaled(value, 1000, SI_PREFIXES);
        return `${trimmed(v)} ${p}${unit}`;
      }
      return `${trimmed(value)} ${unit}`;
    }
  }
}

/** Short axis tick label: like formatValue but tighter. */
export function formatTick(value, unit = "") {
  if (unit === "%") return `${Math.round(value)}%`;
  return formatValue(value, unit);
}

/** "3 s ago", "5 min ago", "2 h ago", "4 d ago" from an epoch-ms timestamp. */
export function formatAgo(ts, now = Date.now()) {
  if (!ts) return "never";
  const s = Math.max(0, Math.round((now - ts) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

/** "cpu=0, mode=user" from a labels object; empty string when there are none. */
export function formatLabels(labels) {
  return Object.entries(labels || {})
    .map(([k, v]) => `${k}=${v}`)
    .join(", ");
}

/** Parse hub timestamps that may be epoch ms numbers or ISO strings. */
export function toMs(value) {
  if (value === null || value === undefined) return 0;
  if (typeof value === "number") return value;
  const parsed = Date.parse(value);
  return Number.isNaN(parsed) ? 0 : parsed;
}

// Units whose values are never below zero. A band edge below zero there means "no value is too
// low" (the detector's level minus a few scales), not a value anyone expects.
function nonNegative(unit) {
  return unit === "%" || unit === "B" || unit === "s" || (typeof unit === "string" && unit.endsWith("/s"));
}

/** "44–56 %": the band reads as a range, so drop the unit on its low end and any ".0";
 * "up to 6 %" when its low end is below zero in a unit that cannot be. */
export function formatBand(low, high, unit) {
  const bare = (v) => formatValue(v, unit).replace(/\.0(?=\D|$)/, "");
  if (low < 0 && nonNegative(unit)) return `up to ${bare(high)}`;
  const lowText = bare(low);
  const highText = bare(high);
  const suffix = unit && lowText.endsWith(` ${unit}`) && highText.endsWith(` ${unit}`) ? ` ${unit}` : "";
  return `${suffix ? lowText.slice(0, -suffix.length) : lowText}–${highText}`;
}

/** Tooltip line for one point: "Value: 71.3 °C (anomaly, expected 44–56 °C)". */
export function describePoint(point, unit) {
  let value = `Value: ${formatValue(point.y, unit)}`;
  if (point.min !== undefined) value += ` (min ${formatValue(point.min, unit)}, max ${formatValue(point.max, unit)})`;
  if (point.anomaly && point.low !== undefined) return `${value} (anomaly, expected ${formatBand(point.low, point.high, unit)})`;
  if (point.anomaly) return `${value} (anomaly)`;
  if (point.low !== undefined) return `${value} (expected ${formatBand(point.low, point.high, unit)})`;
  return value;
}
