// Overview: one card per host with its state, last seen, labels and a live CPU chart.

import { getPoints, listSeries } from "../api.js";
import { TimeChart } from "../charts.js";
import { h, hostHref, setText } from "../dom.js";
import { formatAgo, formatLabels } from "../format.js";
import { markDirty, track, untrack } from "../render.js";
import { showError } from "../notice.js";
import { colorFor } from "../theme.js";
import { SeriesBuffer } from "../store.js";

const WINDOW_MS = 5 * 60_000;
const CPU = "cpu.percent";

/** The total-CPU series: labels {cpu: "total"}, or no cpu label at all. */
function isTotalCpu(series) {
  if (series.metric !== CPU) return false;
  const cpu = series.labels ? series.labels.cpu : undefined;
  return cpu === undefined || cpu === "total";
}

export function mountOverview(view, { live, hosts }) {
  const cards = new Map();
  const grid = h("section", { class: "host-grid", "aria-label": "Hosts" });
  const empty = h("p", { class: "empty" }, "Waiting for hosts… start an agent pointed at this hub.");
  view.append(h("h1", { class: "page-title" }, "Hosts"), empty, grid);

  function card(name) {
    let c = cards.get(name);
    if (c) return c;
    const host = hosts.upsert(name);
    const state = h("span", { class: "state" });
    const seen = h("span", { class: "seen" });
    const labels = h("div", { class: "labels" });
    const chartBox = h("div", { class: "chart-box mini", dataset: { host: name, metric: CPU } });
    const el = h(
      "article",
      { class: "host-card", dataset: { host: name } },
      h("header", {}, h("a", { class: "host-name", href: hostHref(name) }, name), state, seen),
      labels,
      h("div", { class: "chart-title" }, "CPU"),
      chartBox,
    );
    grid.append(el);
    empty.hidden = true;
    const chart = new TimeChart(chartBox, {
      key: `overview:${name}:${CPU}`,
      units: ["%"],
      mini: true,
      fill: true,
      thresholds: { warning: 80, critical: 90 },
      windowMs: WINDOW_MS,
    });
    track(chart);
    c = { host, el, state, seen, labels, chart, buffer: null };
    cards.set(name, c);
    updateCard(c);
    return c;
  }

  function attach(c, series) {
    if (c.buffer && c.buffer.info.id === series.id) return c.buffer;
    c.buffer = new SeriesBuffer(series);
    c.chart.setSeries([{ buffer: c.buffer, label: "CPU", unit: "%", color: colorFor(c.host.name) }]);
    markDirty(c.chart);
    return c.buffer;
  }

  async function loadHistory(c, from, to) {
    const points = await getPoints(c.buffer.info.id, { from, to, maxPoints: 600 });
    c.buffer.add(points);
    markDirty(c.chart);
  }

  function updateCard(c, now = Date.now()) {
    const state = hosts.state(c.host, now);
    c.el.dataset.state = state;
    setText(c.state, state);
    setText(c.seen, formatAgo(c.host.lastSeen, now));
    setText(c.labels, formatLabels(c.host.labels));
  }

  function onPoints(event) {
    const frame = event.detail;
    for (const series of frame.series || []) {
      if (!isTotalCpu(series) || !series.points || !series.points.length) continue;
      const name = series.host || frame.host;
      const c = card(name);
      const buffer = attach(c, { ...series, host: name });
      const n = buffer.add(series.points);
      buffer.trim(Date.now() - WINDOW_MS - 10_000);
      hosts.seen(name, series.points[series.points.length - 1][0]);
      updateCard(c);
      c.chart.noteLive(n);
      markDirty(c.chart);
    }
  }

  function onReconnected(event) {
    const { from, to } = event.detail;
    for (const c of cards.values()) if (c.buffer) loadHistory(c, from - 2000, to).catch(showError);
  }

  function onHostsChanged() {
    for (const host of hosts.hosts.values()) card(host.name);
    tick();
  }

  function tick() {
    const now = Date.now();
    for (const c of cards.values()) {
      updateCard(c, now);
      // Keep idle charts scrolling so a silent host visibly flatlines.
      if (c.chart.renders && now - c.chart.lastRender > 1000) markDirty(c.chart);
    }
  }

  live.addEventListener("points", onPoints);
  live.addEventListener("reconnected", onReconnected);
  hosts.addEventListener("change", onHostsChanged);
  live.subscribe({ hosts: ["*"], metrics: [CPU] });
  const ticker = setInterval(tick, 1000);

  (async () => {
    await hosts.refresh();
    const series = await listSeries({ metric: CPU });
    const now = Date.now();
    await Promise.all(
      series.filter(isTotalCpu).map((s) => {
        const c = card(s.host);
        attach(c, s);
        return loadHistory(c, now - WINDOW_MS, now);
      }),
    );
  })().catch(showError);

  return {
    destroy() {
      clearInterval(ticker);
      live.removeEventListener("points", onPoints);
      live.removeEventListener("reconnected", onReconnected);
      hosts.removeEventListener("change", onHostsChanged);
      for (const c of cards.values()) {
        untrack(c.chart);
        c.chart.destroy();
      }
      cards.clear();
    },
  };
}
