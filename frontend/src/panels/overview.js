// Overview: every host as a card (state, last seen, live CPU chart, meters, anomalies),
// sortable and filterable by name and label; `/` focuses the filter.

import { getPoints, hubHas, listAnomalies, listSeries } from "../api.js";
import { h, setText } from "../dom.js";
import { showError } from "../notice.js";
import { originOf } from "../perf.js";
import { markDirty } from "../render.js";
import { CPU, HostCard, WINDOW_MS } from "./hostcard.js";

const METRICS = [CPU, "mem.percent", "disk.percent", "net.rx_bytes_per_s", "net.tx_bytes_per_s"];
const SORTS = [
  ["name", "Name"], ["state", "State"], ["cpu", "CPU"], ["mem", "Memory"],
  ["disk", "Disk"], ["net", "Network"], ["anomalies", "Anomalies"],
];
const RESORT_MS = 5000;

function isTotalCpu(series) {
  if (series.metric !== CPU) return false;
  const cpu = series.labels ? series.labels.cpu : undefined;
  return cpu === undefined || cpu === "total";
}

export function mountOverview(view, { live, hosts, alerts, params }) {
  const cards = new Map();
  let sortKey = SORTS.some(([k]) => k === params.sort) ? params.sort : "name";
  let descending = params.dir === "desc";
  let filter = params.q || "";
  let lastSort = 0;

  const search = h("input", {
    type: "search", class: "filter", placeholder: "Filter by name or label  ( / )",
    "aria-label": "Filter hosts", value: filter,
  });
  const sortSelect = h("select", { "aria-label": "Sort by" },
    SORTS.map(([k, label]) => h("option", { value: k, selected: k === sortKey }, label)));
  const dirButton = h("button", { type: "button", class: "sort-dir", title: "Sort direction" });
  const summary = h("span", { class: "summary" });
  const grid = h("section", { class: "host-grid", "aria-label": "Hosts" });
  const empty = h("p", { class: "empty" }, "Waiting for hosts… start an agent pointed at this hub.");
  view.append(
    h("div", { class: "overview-head" }, h("h1", { class: "page-title" }, "Hosts"), summary),
    h("div", { class: "toolbar" }, search, sortSelect, dirButton),
    empty, grid,
  );

  function saveUrl() {
    const p = {};
    if (sortKey !== "name") p.sort = sortKey;
    if (descending) p.dir = "desc";
    if (filter) p.q = filter;
    history.replaceState(null, "", `#/${new URLSearchParams(p).toString() ? `?${new URLSearchParams(p)}` : ""}`);
  }

  function card(name) {
    let c = cards.get(name);
    if (!c) {
      c = new HostCard(hosts.upsert(name), hosts, alerts);
      cards.set(name, c);
      grid.append(c.el);
      empty.hidden = true;
      c.refresh(Date.now());
      lastSort = 0;
    }
    return c;
  }

  function arrange(now = Date.now()) {
    const list = [...cards.values()];
    list.sort((a, b) => {
      const va = a.sortValue(sortKey, now);
      const vb = b.sortValue(sortKey, now);
      const order = typeof va === "string" ? va.localeCompare(vb, undefined, { numeric: true }) : va - vb;
      return (descending ? -order : order) || a.host.name.localeCompare(b.host.name);
    });
    let shown = 0;
    list.forEach((c, i) => {
      // Unchanged values are not written: each write would restyle the grid once a second.
      if (c.el.style.order !== String(i)) c.el.style.order = String(i);
      const hide = !c.matches(filter);
      if (c.el.hidden !== hide) c.el.hidden = hide;
      if (!c.el.hidden) shown += 1;
    });
    grid.dataset.shown = String(shown);
    lastSort = now;
  }

  function tick() {
    const now = Date.now();
    const counts = { online: 0, stale: 0, offline: 0 };
    for (const c of cards.values()) {
      c.refresh(now);
      counts[hosts.state(c.host, now)] += 1;
    }
    setText(summary, `${cards.size} hosts · ${counts.online} online · ${counts.stale} stale · ${counts.offline} offline`);
    // Re-sort now and then, not every second: cards jumping under the pointer are hard to click.
    if (now - lastSort > (sortKey === "name" ? 0 : RESORT_MS) || lastSort === 0) arrange(now);
  }

  function onPoints(event) {
    const frame = event.detail;
    for (const series of frame.series || []) {
      if (!series.points || !series.points.length) continue;
      const name = series.host || frame.host;
      const c = card(name);
      c.take({ ...series, host: name }, originOf(frame, series));
      hosts.seen(name, series.points[series.points.length - 1][0]);
    }
  }

  function onAnomaly(event) {
    const a = event.detail;
    if (a.host) card(a.host).noteAnomaly(a.series_id ?? a.series?.id ?? a.metric, a.ts);
  }

  async function loadCpuHistory(c, from, to) {
    if (!c.buffer) return;
    c.buffer.add(await getPoints(c.buffer.info.id, { from, to, maxPoints: 600 }));
    markDirty(c.chart);
  }

  function onReconnected(event) {
    const { from, to } = event.detail;
    for (const c of cards.values()) loadCpuHistory(c, from - 2000, to).catch(showError);
  }

  function onHostsChanged() {
    for (const host of hosts.hosts.values()) card(host.name);
    tick();
  }

  function onKey(event) {
    if (event.key === "/" && document.activeElement !== search) {
      event.preventDefault();
      search.focus();
    }
  }

  search.addEventListener("input", () => {
    filter = search.value.trim();
    arrange();
    saveUrl();
  });
  sortSelect.addEventListener("change", () => {
    sortKey = sortSelect.value;
    descending = sortKey !== "name" && sortKey !== "state";
    dirButton.textContent = descending ? "↓" : "↑";
    arrange();
    saveUrl();
  });
  dirButton.textContent = descending ? "↓" : "↑";
  dirButton.addEventListener("click", () => {
    descending = !descending;
    dirButton.textContent = descending ? "↓" : "↑";
    arrange();
    saveUrl();
  });

  live.addEventListener("points", onPoints);
  live.addEventListener("anomaly", onAnomaly);
  live.addEventListener("reconnected", onReconnected);
  hosts.addEventListener("change", onHostsChanged);
  document.addEventListener("keydown", onKey);
  live.subscribe({ hosts: ["*"], metrics: METRICS });
  const ticker = setInterval(tick, 1000);

  (async () => {
    await hosts.refresh();
    const now = Date.now();
    const series = await listSeries({ metric: CPU });
    await Promise.all(series.filter(isTotalCpu).map((s) => {
      const c = card(s.host);
      c.attachCpu(s);
      return loadCpuHistory(c, now - WINDOW_MS, now);
    }));
    if (await hubHas("/api/v1/anomalies")) {
      for (const a of await listAnomalies({ from: now - 3_600_000, to: now })) {
        if (a.host) card(a.host).noteAnomaly(a.series_id ?? a.metric, a.ts);
      }
    }
    tick();
  })().catch(showError);

  return {
    title: "Hosts",
    destroy() {
      clearInterval(ticker);
      live.removeEventListener("points", onPoints);
      live.removeEventListener("anomaly", onAnomaly);
      live.removeEventListener("reconnected", onReconnected);
      hosts.removeEventListener("change", onHostsChanged);
      document.removeEventListener("keydown", onKey);
      for (const c of cards.values()) c.destroy();
      cards.clear();
    },
  };
}
