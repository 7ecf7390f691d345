// Entry point: one live connection and one host directory for the page, and a hash router
// that mounts one panel at a time (#/, #/host/NAME?range=1h, #/compare, #/anomalies, #/alerts),
// once the hub's levels of the series (the charts' threshold lines) are read.

import "./style.css";
import { addHostButton } from "./addhost.js";
import { AlertBook } from "./alerts.js";
import { registry } from "./charts.js";
import { HostDirectory } from "./hosts.js";
import { LiveConnection } from "./live.js";
import { perf } from "./perf.js";
import { mountAlerts } from "./panels/alerts.js";
import { mountAnomalies } from "./panels/anomalies.js";
import { mountCompare } from "./panels/compare.js";
import { mountHost } from "./panels/host.js";
import { mountOverview } from "./panels/overview.js";
import { loadLevels } from "./thresholds.js";

const live = new LiveConnection();
const hosts = new HostDirectory();
const alerts = new AlertBook(live);
const view = document.getElementById("view");
const conn = document.getElementById("conn");
// "Add host" sits in the top bar, left of the connection state (addhost.js).
conn.before(addHostButton());

// The test and benchmark hook: charts by key, the live connection, the host directory.
window.hostpulse = { charts: registry, live, hosts, perf, alerts };

const ROUTES = [
  { pattern: /^\/?$/, name: "overview", mount: (params) => mountOverview(view, { live, hosts, alerts, params, navigate }) },
  { pattern: /^\/host\/([^/]+)$/, name: "host", mount: (params) => mountHost(view, { live, hosts, alerts, params, navigate }) },
  { pattern: /^\/compare$/, name: "compare", mount: (params) => mountCompare(view, { live, params, navigate }) },
  { pattern: /^\/anomalies$/, name: "anomalies", mount: (params) => mountAnomalies(view, { live, params, navigate }) },
  { pattern: /^\/alerts$/, name: "alerts", mount: (params) => mountAlerts(view, { live, hosts, alerts, params, navigate }) },
];

export function parseHash(hash = location.hash) {
  const raw = hash.replace(/^#/, "") || "/";
  const [path, query = ""] = raw.split("?");
  return { path, params: Object.fromEntries(new URLSearchParams(query)) };
}

let current = null;
let currentPath = null;

/** Change the current page's URL parameters (same path); the page updates in place. */
export function navigate(params) {
  const query = new URLSearchParams(params).toString();
  location.hash = `#${currentPath ?? "/"}${query ? `?${query}` : ""}`;
}

function route() {
  const { path, params } = parseHash();
  if (current && current.update && path === currentPath) {
    const r = ROUTES.find((x) => path.match(x.pattern));
    const m = r && path.match(r.pattern);
    if (m && current.update({ ...params, match: m.slice(1).map(decodeURIComponent) })) return;
  }
  currentPath = path;
  if (current) current.destroy();
  view.replaceChildren();
  let matched = null;
  for (const r of ROUTES) {
    const m = path.match(r.pattern);
    if (m) {
      matched = r;
      current = r.mount({ ...params, match: m.slice(1).map(decodeURIComponent) });
      break;
    }
  }
  if (!matched) {
    current = null;
    const p = document.createElement("p");
    p.className = "empty";
    p.textContent = "No such page.";
    view.append(p);
  }
  for (const a of document.querySelectorAll(".nav a")) {
    a.classList.toggle("active", matched !== null && a.dataset.route === matched.name);
  }
  updateTitle();
}

const alertCount = document.getElementById("alert-count");

function updateTitle() {
  const down = hosts.downCount();
  const firing = alerts.firing().length;
  const base = current && current.title ? `${current.title} · HostPulse` : "HostPulse";
  const title = `${firing ? `(${firing}) ` : ""}${down ? `(${down} down) ` : ""}${base}`;
  if (document.title !== title) document.title = title;
  if (alertCount.textContent !== String(firing)) alertCount.textContent = String(firing);
  if (alertCount.hidden !== (firing === 0)) alertCount.hidden = firing === 0;
  const critical = alerts.firing().some((a) => a.severity === "critical");
  alertCount.dataset.severity = critical ? "critical" : "warning";
}

live.addEventListener("state", (event) => {
  const { state } = event.detail;
  conn.dataset.state = state;
  conn.textContent = state === "open" ? "live" : state === "connecting" ? "connecting…" : "offline";
});

window.addEventListener("hashchange", route);
alerts.addEventListener("change", updateTitle);
setInterval(updateTitle, 1000);
// The hub's view of every host (last seen, online) for the title's count of hosts down, on
// pages that do not stream every host.
const refreshHosts = () => hosts.refresh().catch((error) => console.warn("HostPulse:", error.message));
refreshHosts();
setInterval(refreshHosts, 30_000);
alerts.refresh();
live.start();
loadLevels().finally(route);
