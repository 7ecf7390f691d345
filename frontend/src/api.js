// The hub's read API (docs/protocol.md "Read API"). Paths are relative so the page works
// wherever the hub mounts it; timestamps are epoch ms.

const BASE = "api/v1/";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function getJSON(path, params = {}, { signal } = {}) {
  const url = new URL(BASE + path, document.baseURI);
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, value);
  }
  return answer(await fetch(url, { signal, headers: { Accept: "application/json" } }));
}

/** POST a JSON body, or DELETE (body null). Same-origin fetch sends the Origin header the hub's
 * cross-site check wants, and the viewer cookie. */
async function sendJSON(method, path, body = null) {
  const init = { method, headers: { Accept: "application/json" } };
  if (body !== null) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  return answer(await fetch(new URL(BASE + path, document.baseURI), init));
}

async function answer(response) {
  if (!response.ok) {
    let code = "http_error";
    let message = `${response.status} ${response.statusText}`;
    try {
      const body = await response.json();
      code = body?.error?.code ?? code;
      message = body?.error?.message ?? message;
    } catch {
      // Not the JSON error shape (a proxy's HTML page, say): keep the status line.
    }
    throw new ApiError(response.status, code, message);
  }
  return response.json();
}

/** Every host the hub knows: {hosts: [{name, labels, agent_version, first_seen, last_seen, online,
 * clock_offset_s, clock_checked_at}], clockWarnS, onlineS, staleS} (the hub's threshold for clock
 * warnings and its online/stale windows, in seconds). */
export async function getHosts(options) {
  const body = await getJSON("hosts", {}, options);
  const hosts = Array.isArray(body) ? body : body.hosts ?? [];
  return {
    hosts, clockWarnS: body.clock_warn_s,
    onlineS: body.online_window_s, staleS: body.stale_window_s,
  };
}

/** Series matching host/metric (both optional): [{id, host, metric, labels, unit}]. */
export async function listSeries({ host, metric } = {}, options) {
  const body = await getJSON("series", { host, metric }, options);
  return Array.isArray(body) ? body : body.series ?? [];
}

/** Points of one series in [from, to], at most maxPoints: [[ts, value, ...extras], ...]. */
export async function getPoints(id, { from, to, maxPoints } = {}, options) {
  const body = await getJSON(
    `series/${encodeURIComponent(id)}/points`,
    { from, to, max_points: maxPoints },
    options,
  );
  return Array.isArray(body) ? body : body.points ?? [];
}

/** Anomalies in [from, to], optionally for one host. */
export async function listAnomalies({ host, from, to } = {}, options) {
  const body = await getJSON("anomalies", { host, from, to }, options);
  return Array.isArray(body) ? body : body.anomalies ?? [];
}

let openapi = null;

/** Whether the hub documents `path` (e.g. "/api/v1/anomalies") in /openapi.json; asked once. */
export async function hubHas(path) {
  if (!openapi) {
    openapi = fetch(new URL("openapi.json", document.baseURI))
      .then((r) => (r.ok ? r.json() : { paths: {} }))
      .catch(() => ({ paths: {} }));
  }
  const spec = await openapi;
  return Boolean(spec.paths && spec.paths[path]);
}

/** Each series' warning/critical levels, as the hub matches its rules, optionally for one host
 * or metric: [{series_id, host, metric, labels, rule, warning, critical}]; a series no threshold
 * rule selects is left out. */
export async function listLevels({ host, metric } = {}, options) {
  return (await getJSON("alerts/levels", { host, metric }, options)).levels ?? [];
}

/** Pending and firing alerts, firing first, with silenced_by and acked_by. */
export async function listAlerts(options) {
  return (await getJSON("alerts", {}, options)).alerts ?? [];
}

/** Alert transitions, newest first (host optional). */
export async function alertHistory({ host, limit } = {}, options) {
  return (await getJSON("alerts/history", { host, limit }, options)).history ?? [];
}

export async function listSilences(options) {
  return (await getJSON("alerts/silences", {}, options)).silences ?? [];
}

/** {rule, host, labels, duration_s, comment} → the silence. */
export function createSilence(silence) {
  return sendJSON("POST", "alerts/silences", silence);
}

export function endSilence(id) {
  return sendJSON("DELETE", `alerts/silences/${encodeURIComponent(id)}`);
}

export async function listAcks(options) {
  return (await getJSON("alerts/acks", {}, options)).acks ?? [];
}

/** {rule, host, series_id, comment, duration_s?} → the ack. */
export function createAck(ack) {
  return sendJSON("POST", "alerts/acks", ack);
}

export function endAck(id) {
  return sendJSON("DELETE", `alerts/acks/${encodeURIComponent(id)}`);
}
