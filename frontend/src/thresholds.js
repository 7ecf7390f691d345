// Warning/critical levels come from the hub's alert rules (GET /api/v1/alerts/rules), so the
// lines on a chart are the levels the hub alerts on: one source of truth. There is no browser
// override any more (the localStorage one drew lines the hub did not alert on); change a level
// with a [[alerts.rules]] entry in the hub's config, which replaces the built-in rule of that name.
//
// A series takes the levels of the first threshold rule that selects it, in the hub's order,
// matched as the hub matches (hostpulse.hub.alerts.config.Rule.selects): metric and host globs
// (or "~regex"), exact labels, exact host labels.

import { listRules } from "./api.js";

let rules = [];

/** fnmatch's glob, or the hub's "~regex" form, as an anchored RegExp. */
export function patternRegExp(pattern) {
  if (pattern.startsWith("~")) {
    try {
      return new RegExp(`^(?:${pattern.slice(1)})$`);
    } catch {
      return /$^/; // a Python-only regex feature: match nothing rather than everything
    }
  }
  let out = "";
  for (let i = 0; i < pattern.length; i += 1) {
    const c = pattern[i];
    if (c === "*") out += ".*";
    else if (c === "?") out += ".";
    else if (c === "[") {
      const end = pattern.indexOf("]", i + 2);
      if (end === -1) out += "\\[";
      else {
        let set = pattern.slice(i + 1, end).replace(/\\/g, "\\\\");
        if (set.startsWith("!")) set = `^${set.slice(1)}`;
        out += `[${set}]`;
        i = end;
      }
    } else out += c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  }
  return new RegExp(`^${out}$`, "s");
}

function compile(rule) {
  return { ...rule, metricRe: patternRegExp(rule.metric || "*"), hostRe: patternRegExp(rule.host || "*") };
}

/** Take the hub's rules (the `rules` list of GET /api/v1/alerts/rules). */
export function setRules(list) {
  rules = (list || [])
    .filter((r) => r.kind === "threshold" && (typeof r.warning === "number" || typeof r.critical === "number"))
    .map(compile);
}

/** Read the rules from the hub once; with none (an older hub, an error) charts draw no lines. */
export async function loadRules() {
  try {
    setRules(await listRules());
  } catch (error) {
    console.warn("HostPulse: no alert rules, so no threshold lines:", error.message);
    setRules([]);
  }
}

const has = (want, got) => Object.entries(want || {}).every(([k, v]) => (got || {})[k] === v);

/** The first threshold rule selecting the series {host, metric, labels}; `hostLabels` are the
 * host's labels when known. */
export function ruleFor(series, hostLabels = {}) {
  return rules.find((r) => r.metricRe.test(series.metric) && r.hostRe.test(series.host ?? "")
    && has(r.labels, series.labels) && has(r.host_labels, hostLabels)) ?? null;
}

/** {warning, critical} (each only when the rule has it) for a series, or null. */
export function thresholdsFor(series, hostLabels) {
  const rule = ruleFor(series, hostLabels);
  if (!rule) return null;
  const out = {};
  if (typeof rule.warning === "number") out.warning = rule.warning;
  if (typeof rule.critical === "number") out.critical = rule.critical;
  return out;
}

/** "ok" | "warning" | "critical" for a value against thresholds. */
export function level(value, thresholds) {
  if (!thresholds || value === null || value === undefined) return "ok";
  if (thresholds.critical !== undefined && value >= thresholds.critical) return "critical";
  if (thresholds.warning !== undefined && value >= thresholds.warning) return "warning";
  return "ok";
}
