// Compare: one metric (and label set) across chosen hosts, overlaid on one chart.
// URL: #/compare?metric=cpu.percent&labels=cpu%3Dtotal&hosts=a,b&range=1h

import { getPoints, listSeries } from "../api.js";
import { TimeChart } from "../charts.js";
import { h } from "../dom.js";
import { formatLabels } from "../format.js";
import { showError } from "../notice.js";
import { originOf } from "../perf.js";
import { rangeFromParams, rangeToParams } from "../ranges.js";
import { markDirty, track, untrack } from "../render.js";
import { SeriesBuffer } from "../store.js";
import { colorFor } from "../theme.js";
import { loadLevels, thresholdsFor } from "../thresholds.js";
import { rangeToolbar } from "./toolbar.js";

const MAX_HOSTS = 12;

export function mountCompare(view, { live, params, navigate }) {
  let range = rangeFromParams(params);
  let paused = !range.live;
  let pausedAt = Date.now();
  let all = [];
  let chart = null;
  const buffers = new Map(); // series id -> buffer
  let destroyed = false;

  const metricSelect = h("select", { "aria-label": "Metric" });
  const labelSelect = h("select", { "aria-label": "Labels" });
  const hostBox = h("fieldset", { class: "host-picks" }, h("legend", {}, "Hosts"));
  const toolbar = rangeToolbar({
    range, paused,
    onRange: (id) => go({ range: id }),
    onCustom: (from, to) => go({ range: "custom", from: String(from), to: String(to) }),
    onPause: () => (paused ? resume() : pause()),
  });
  const box = h("div", { class: "chart-box tall" });
  const note = h("p", { class: "empty" }, "Loading series…");
  view.append(h("h1", { class: "page-title" }, "Compare"),
    h("div", { class: "toolbar" }, metricSelect, labelSelect), hostBox, toolbar.el, note,
    h("article", { class: "chart-card" }, box));

  function current() {
    return {
      metric: params.metric || "cpu.percent",
      labels: params.labels ?? null,
      hosts: params.hosts ? params.hosts.split(",").filter(Boolean) : null,
    };
  }

  /** Navigate with the current choice plus `change`; the router calls update() in place. */
  function go(change) {
    const c = current();
    const next = { metric: c.metric, ...(c.labels !== null ? { labels: c.labels } : {}),
      ...(c.hosts ? { hosts: c.hosts.join(",") } : {}), ...rangeToParams(range), ...change };
    if (change.range && change.range !== "custom") { delete next.from; delete next.to; }
    navigate(next);
  }

  function fillControls() {
    const c = current();
    const metrics = [...new Set(all.map((s) => s.metric))].sort();
    metricSelect.replaceChildren(...metrics.map((m) => h("option", { value: m, selected: m === c.metric }, m)));
    const ofMetric = all.filter((s) => s.metric === c.metric);
    const labelSets = [...new Set(ofMetric.map((s) => formatLabels(s.labels)))].sort();
    const chosenLabels = c.labels ?? (labelSets.find((l) => l.includes("total")) ?? labelSets[0] ?? "");
    labelSelect.replaceChildren(...labelSets.map((l) => h("option", { value: l, selected: l === chosenLabels }, l || "(no labels)")));
    labelSelect.hidden = labelSets.length <= 1;
    const candidates = ofMetric.filter((s) => formatLabels(s.labels) === chosenLabels);
    const hostNames = [...new Set(candidates.map((s) => s.host))].sort();
    const chosen = c.hosts ?? hostNames.slice(0, MAX_HOSTS);
    hostBox.replaceChildren(h("legend", {}, "Hosts"), ...hostNames.map((name) => h("label", {},
      h("input", { type: "checkbox", value: name, checked: chosen.includes(name) }), name)));
    return candidates.filter((s) => chosen.includes(s.host)).slice(0, MAX_HOSTS);
  }

  async function build() {
    // The metric's levels read again first: a series new since the page loaded gets its lines.
    await loadLevels({ metric: current().metric });
    if (destroyed) return;
    const picked = fillControls();
    if (chart) { untrack(chart); chart.destroy(); chart = null; }
    buffers.clear();
    note.hidden = picked.length > 0;
    note.textContent = "No host sends this metric yet.";
    if (!picked.length) return;
    const unit = picked[0].unit || "";
    const metric = picked[0].metric;
    // The hub's levels, when every compared series has the same ones (a rule may pick hosts).
    const levels = new Set(picked.map((s) => JSON.stringify(thresholdsFor(s))));
    const thresholds = levels.size === 1 ? JSON.parse([...levels][0]) : null;
    chart = new TimeChart(box, { key: `compare:${metric}`, units: [unit], thresholds, windowMs: range.ms,
      onUserZoom: () => { if (!paused) pause(); }, onWindow: (min, max) => { chart.setWindow(min, max); markDirty(chart); } });
    chart.live = range.live && !paused;
    chart.setWindow(range.from, range.to);
    chart.setSeries(picked.map((s) => {
      const buffer = new SeriesBuffer(s);
      buffers.set(s.id, buffer);
      return { buffer, label: s.host, unit, color: colorFor(s.host) };
    }));
    track(chart);
    markDirty(chart);
    live.subscribe({ hosts: picked.map((s) => s.host), metrics: [metric] });
    await load(range.from, range.to);
  }

  async function load(from, to) {
    await Promise.all([...buffers.values()].map(async (b) => {
      b.add(await getPoints(b.info.id, { from, to, maxPoints: 800 }));
    }));
    if (chart && !destroyed) markDirty(chart);
  }

  function onPoints(event) {
    if (!chart || !chart.live) return;
    for (const s of event.detail.series || []) {
      const b = buffers.get(s.id);
      if (!b || !s.points || !s.points.length) continue;
      chart.noteLive(b.add(s.points), originOf(event.detail, s));
      b.trim(Date.now() - range.ms - 10_000);
      markDirty(chart);
    }
  }

  function pause() {
    paused = true;
    pausedAt = Date.now();
    if (chart) { chart.live = false; markDirty(chart); }
    toolbar.setPaused(true);
  }

  function resume() {
    if (!range.live) { go({ range: "5m" }); return; }
    paused = false;
    toolbar.setPaused(false);
    if (chart) { chart.resetZoom(); chart.live = true; markDirty(chart); }
    load(pausedAt - 2000, Date.now()).catch(showError);
  }

  function onReconnected(event) {
    if (chart && chart.live) load(event.detail.from - 2000, event.detail.to).catch(showError);
  }

  metricSelect.addEventListener("change", () => navigate({ metric: metricSelect.value, ...rangeToParams(range) }));
  labelSelect.addEventListener("change", () => go({ labels: labelSelect.value, hosts: "" }));
  hostBox.addEventListener("change", () => {
    const hosts = [...hostBox.querySelectorAll("input:checked")].map((i) => i.value);
    go({ hosts: hosts.join(",") || "-" });
  });
  live.addEventListener("points", onPoints);
  live.addEventListener("reconnected", onReconnected);

  listSeries().then((list) => { all = list; return build(); }).catch(showError);

  return {
    title: "Compare",
    update(next) {
      params = next;
      range = rangeFromParams(next);
      paused = !range.live;
      toolbar.setRange(range);
      toolbar.setPaused(paused);
      build().catch(showError);
      return true;
    },
    destroy() {
      destroyed = true;
      live.removeEventListener("points", onPoints);
      live.removeEventListener("reconnected", onReconnected);
      if (chart) { untrack(chart); chart.destroy(); }
    },
  };
}
