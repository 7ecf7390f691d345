// Warning/critical levels of each series come from the hub (GET /api/v1/alerts/levels): it
// matches its own rules (the first threshold rule that selects a series, in the hub's order, by
// metric and host globs or "~regex", labels and host labels) and answers the levels per series,
// so the lines on a chart are the levels the hub alerts on and the browser matches nothing
// itself. Change a level with a [[alerts.rules]] entry in the hub's config, which replaces the
// built-in rule of that name.

import { listLevels } from "./api.js";

const byId = new Map(); // series id -> entry of GET /api/v1/alerts/levels
const byName = new Map(); // host, metric and labels -> the same entry

function nameOf(host, metric, labels) {
  const sorted = Object.keys(labels || {}).sort().map((k) => [k, labels[k]]);
  return JSON.stringify([host ?? "", metric, sorted]);
}

/** Take levels the hub answered; with `scope` ({host} or {metric}) the cached entries of that
 * host or metric are replaced, so a series that lost its levels loses its lines too. */
export function setLevels(list, scope = {}) {
  const inScope = (e) => (scope.host === undefined || e.host === scope.host)
    && (scope.metric === undefined || e.metric === scope.metric);
  for (const [name, e] of byName) {
    if (inScope(e)) {
      byName.delete(name);
      byId.delete(e.series_id);
    }
  }
  for (const e of list || []) {
    byId.set(e.series_id, e);
    byName.set(nameOf(e.host, e.metric, e.labels), e);
  }
}

/** Read the levels from the hub (all series, or one host's or metric's); on an error (an older
 * hub without the route) the charts draw no lines rather than wrong ones. */
export async function loadLevels(scope = {}) {
  try {
    setLevels(await listLevels(scope), scope);
  } catch (error) {
    console.warn("HostPulse: no alert levels, so no threshold lines:", error.message);
  }
}

let wanted = new Set(); // hosts asked for by levelsOfHost, read together a moment later
let reading = null;
const askedHosts = new Set();

/** Make sure a host's levels are read (a host card of a host that joined after the page
 * loaded): once per host per page; hosts asked for in the same moment are read together, as one
 * request for every series once there are more than a few. Resolves when they are read. */
export function levelsOfHost(host) {
  if (askedHosts.has(host)) return reading ?? Promise.resolve();
  askedHosts.add(host);
  wanted.add(host);
  reading ??= new Promise((resolve) => setTimeout(resolve, 200)).then(async () => {
    const hosts = [...wanted];
    wanted = new Set();
    reading = null;
    if (hosts.length > 3) await loadLevels();
    else await Promise.all(hosts.map((host) => loadLevels({ host })));
  });
  return reading;
}

/** {warning, critical} (each only when the rule has it) of a series {id} or {host, metric,
 * labels}, or null when no threshold rule of the hub selects it. */
export function thresholdsFor(series) {
  const e = byId.get(series.id) ?? byName.get(nameOf(series.host, series.metric, series.labels));
  if (!e) return null;
  const out = {};
  if (typeof e.warning === "number") out.warning = e.warning;
  if (typeof e.critical === "number") out.critical = e.critical;
  return out;
}

/** "ok" | "warning" | "critical" for a value against thresholds. */
export function level(value, thresholds) {
  if (!thresholds || value === null || value === undefined) return "ok";
  if (thresholds.critical !== undefined && value >= thresholds.critical) return "critical";
  if (thresholds.warning !== undefined && value >= thresholds.warning) return "warning";
  return "ok";
}
