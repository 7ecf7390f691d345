// A host's page: every series it sends, charted by source (layout.js), live over a moving window
// or read from history for a range, with pause/resume, zoom and pan, and a shared crosshair.
// Alert episodes of a series are shaded on its charts (from the alert history, and up to now
// while one fires).

import { alertHistory, getPoints, listSeries } from "../api.js";
import { TimeChart } from "../charts.js";
import { clockBadge, updateClockBadge } from "../clock.js";
import { updateVersionBadge, versionBadge } from "../version.js";
import { h, setText } from "../dom.js";
import { formatAgo, formatLabels } from "../format.js";
import { showError } from "../notice.js";
import { originOf } from "../perf.js";
import { rangeFromParams } from "../ranges.js";
import { markDirty, track, untrack } from "../render.js";
import { SeriesBuffer } from "../store.js";
import { colorFor } from "../theme.js";
import { loadLevels } from "../thresholds.js";
import { rangeToolbar } from "./toolbar.js";
import { planCharts } from "./layout.js";

const CONCURRENT_REQUESTS = 6;

/** Run `fn` over `items` with at most `limit` in flight. */
async function pool(items, limit, fn) {
  const queue = [...items];
  const workers = Array.from({ length: Math.min(limit, queue.length) }, async () => {
    while (queue.length) await fn(queue.shift());
  });
  await Promise.all(workers);
}

// Transitions read for the host's spans; older episodes are not shaded.
const SPAN_HISTORY = 1000;

export function mountHost(view, { live, hosts, alerts, params, navigate }) {
  const name = params.match[0];
  const host = hosts.upsert(name);
  let range = rangeFromParams(params);
  let paused = !range.live;
  let pausedAt = Date.now();
  let focusMetric = params.metric || null;
  const buffers = new Map(); // series id -> SeriesBuffer
  const chartsOf = new Map(); // series id -> [TimeChart]
  const charts = [];
  const chartById = new Map();
  let replanTimer = 0;
  let historyTimer = 0;
  let destroyed = false;
  let resolvedSpans = []; // [{seriesId, from, to, severity}] of episodes over

  const state = h("span", { class: "state" });
  const seen = h("span", { class: "seen" });
  const clock = clockBadge();
  const version = versionBadge();
  const labels = h("div", { class: "labels" }, formatLabels(host.labels));
  const toolbar = rangeToolbar({
    range,
    paused,
    onRange: (id) => navigate({ range: id }),
    onCustom: (from, to) => navigate({ range: "custom", from: String(from), to: String(to) }),
    onPause: () => (paused ? resume() : pause()),
  });
  const sections = h("div", { class: "groups" });
  const empty = h("p", { class: "empty" }, "Loading series…");
  const header = h("div", { class: "host-head", dataset: { host: name } },
    h("h1", { class: "page-title" }, name), state, clock, version, seen);
  view.append(header, labels, toolbar.el, empty, sections);

  function isLive() {
    return range.live && !paused;
  }

  function refreshHead() {
    const now = Date.now();
    const s = hosts.state(host, now);
    header.dataset.state = s;
    setText(state, s);
    setText(seen, `last seen ${formatAgo(host.lastSeen, now)}`);
    updateClockBadge(clock, host, hosts, now);
    updateVersionBadge(version, host, hosts);
    setText(labels, formatLabels(host.labels));
  }

  function entriesFor(spec, chart) {
    return spec.entries.map((e, i) => {
      let buffer = buffers.get(e.series.id);
      if (!buffer) {
        buffer = new SeriesBuffer(e.series);
        buffers.set(e.series.id, buffer);
      }
      if (!chartsOf.has(e.series.id)) chartsOf.set(e.series.id, []);
      if (!chartsOf.get(e.series.id).includes(chart)) chartsOf.get(e.series.id).push(chart);
      const color = spec.entries.length === 1 ? colorFor(e.series.metric) : colorFor("", i);
      return { buffer, label: e.label, unit: e.series.unit || "", color };
    });
  }

  function buildCharts(seriesList) {
    const known = new Set(buffers.keys());
    const plan = planCharts(seriesList);
    for (const group of plan) {
      let section = sections.querySelector(`section[data-group="${CSS.escape(group.id)}"]`);
      if (!section) {
        section = h("section", { class: "group", dataset: { group: group.id } },
          h("h2", {}, group.title), h("div", { class: "chart-grid" }));
        sections.append(section);
      }
      const grid = section.querySelector(".chart-grid");
      for (const spec of group.charts) {
        if (spec.entries.every((e) => known.has(e.series.id))) continue;
        const existing = chartById.get(spec.id);
        if (existing) {
          // A new label set of a charted metric (a disk mounted, an interface up) joins its chart.
          existing.setSeries(entriesFor(spec, existing));
          existing.seriesIds = spec.entries.map((e) => e.series.id);
          markDirty(existing);
          continue;
        }
        const box = h("div", { class: "chart-box", dataset: { chart: spec.id, metrics: spec.metrics.join(" ") } });
        const card = h("article", { class: "chart-card", dataset: { chart: spec.id } },
          h("h3", {}, spec.title, spec.hidden ? h("small", {}, ` (+${spec.hidden} more series)`) : null),
          box);
        grid.append(card);
        const chart = new TimeChart(box, {
          key: `host:${name}:${spec.id}`,
          units: spec.units,
          thresholds: spec.thresholds,
          fill: spec.fill,
          windowMs: range.ms,
          crosshairGroup: "host",
          onUserZoom: () => { if (!paused) pause(); },
          onWindow: (min, max) => zoomTo(min, max),
        });
        chart.live = isLive();
        chart.setWindow(range.from, range.to);
        chart.setSeries(entriesFor(spec, chart));
        chartById.set(spec.id, chart);
        chart.seriesIds = spec.entries.map((e) => e.series.id);
        track(chart);
        charts.push(chart);
        markDirty(chart);
      }
    }
    empty.hidden = charts.length > 0;
    if (!charts.length) setText(empty, "This host has sent no series yet.");
    drawSpans();
    if (focusMetric) {
      const box = sections.querySelector(`.chart-box[data-metrics~="${CSS.escape(focusMetric)}"]`);
      if (box) {
        box.closest(".chart-card").classList.add("focus");
        box.scrollIntoView({ block: "center" });
        focusMetric = null;
      }
    }
  }

  async function loadHistory(from, to, { replace = false, ids = null } = {}) {
    const wanted = ids ?? [...buffers.keys()];
    const maxPoints = Math.min(2000, Math.max(200, Math.round(((to - from) / range.ms) * 800)));
    await pool(wanted, CONCURRENT_REQUESTS, async (id) => {
      const points = await getPoints(id, { from, to, maxPoints });
      if (destroyed) return;
      const buffer = buffers.get(id);
      if (replace) buffer.clear();
      buffer.add(points);
      for (const chart of chartsOf.get(id) ?? []) markDirty(chart);
    });
  }

  async function loadSeries() {
    // The host's levels read again with its series: a series new since the page loaded gets its lines.
    const [seriesList] = await Promise.all([listSeries({ host: name }), loadLevels({ host: name })]);
    if (destroyed) return;
    const before = new Set(buffers.keys());
    buildCharts(seriesList);
    const added = [...buffers.keys()].filter((id) => !before.has(id));
    const now = Date.now();
    await loadHistory(range.live ? now - range.ms : range.from, range.live ? now : range.to, { ids: added });
  }

  function drawSpans() {
    const firing = alerts.firingOn(name).filter((a) => a.series_id !== null && a.starts_at)
      .map((a) => ({ seriesId: a.series_id, from: a.starts_at, to: null, severity: a.severity }));
    const all = [...resolvedSpans, ...firing];
    for (const chart of charts) {
      const ids = new Set(chart.seriesIds);
      chart.setSpans(all.filter((s) => ids.has(s.seriesId)).map(({ from, to, severity }) => ({ from, to, severity })));
      markDirty(chart);
    }
  }

  function spansOf(transitions) {
    return transitions.filter((t) => t.host === name && t.state === "resolved" && t.series_id !== null && t.starts_at)
      .map((t) => ({ seriesId: t.series_id, from: t.starts_at, to: t.ends_at ?? t.at, severity: t.severity }));
  }

  async function loadSpans() {
    const found = spansOf(await alertHistory({ host: name, limit: SPAN_HISTORY }));
    if (destroyed) return;
    resolvedSpans = found;
    drawSpans();
  }

  function onTransitions(event) {
    const over = spansOf(event.detail);
    if (over.length) resolvedSpans = [...resolvedSpans, ...over];
    drawSpans();
  }

  function scheduleReplan() {
    if (replanTimer) return;
    replanTimer = setTimeout(() => {
      replanTimer = 0;
      loadSeries().catch(showError);
    }, 1000);
  }

  function onPoints(event) {
    const frame = event.detail;
    if (frame.host !== name) return;
    let newest = 0;
    for (const series of frame.series || []) {
      const points = series.points || [];
      if (points.length) newest = Math.max(newest, points[points.length - 1][0]);
      const buffer = buffers.get(series.id);
      if (!buffer) {
        scheduleReplan();
        continue;
      }
      // Paused: points are not drawn; resume() reads what was missed from history instead.
      if (!isLive()) continue;
      const n = buffer.add(points);
      buffer.trim(Date.now() - range.ms - 10_000);
      for (const chart of chartsOf.get(series.id) ?? []) {
        chart.noteLive(n, originOf(frame, series));
        markDirty(chart);
      }
    }
    if (newest) hosts.seen(name, newest);
  }

  function onReconnected(event) {
    if (!isLive()) return;
    const { from, to } = event.detail;
    loadHistory(from - 2000, to).catch(showError);
  }

  function setChartsLive(on) {
    for (const chart of charts) {
      chart.live = on;
      markDirty(chart);
    }
  }

  function pause() {
    paused = true;
    pausedAt = Date.now();
    for (const chart of charts) chart.setWindow(chart.min, chart.max);
    setChartsLive(false);
    toolbar.setPaused(true);
  }

  function resume() {
    if (!range.live) {
      navigate({}); // a custom range resumes as the default live range
      return;
    }
    paused = false;
    for (const chart of charts) {
      chart.resetZoom();
      chart.windowMs = range.ms;
    }
    setChartsLive(true);
    toolbar.setPaused(false);
    loadHistory(pausedAt - 2000, Date.now()).catch(showError);
  }

  function zoomTo(min, max) {
    for (const chart of charts) {
      chart.setWindow(min, max);
      markDirty(chart);
    }
    // Zoomed in past the loaded resolution, or panned past the data: read that window again.
    clearTimeout(historyTimer);
    historyTimer = setTimeout(() => loadHistory(min, max).catch(showError), 300);
  }

  function applyRange(next) {
    range = next;
    paused = !range.live;
    pausedAt = Date.now();
    toolbar.setRange(range);
    toolbar.setPaused(paused);
    for (const chart of charts) {
      chart.resetZoom();
      chart.windowMs = range.ms;
      chart.setWindow(range.from, range.to);
      chart.live = isLive();
      markDirty(chart);
    }
    loadHistory(range.from, range.to, { replace: true }).catch(showError);
  }

  function onKey(event) {
    if (event.key !== " " || event.target.closest("input, textarea, select, button")) return;
    event.preventDefault();
    if (paused) resume();
    else pause();
  }

  live.addEventListener("points", onPoints);
  live.addEventListener("reconnected", onReconnected);
  alerts.addEventListener("change", drawSpans);
  alerts.addEventListener("transitions", onTransitions);
  document.addEventListener("keydown", onKey);
  live.subscribe({ hosts: [name], metrics: ["*"] });
  refreshHead();
  const ticker = setInterval(refreshHead, 1000);
  hosts.refresh().then(refreshHead).catch(showError);
  loadSeries().catch(showError);
  loadSpans().catch(showError);

  return {
    title: name,
    update(nextParams) {
      if (nextParams.match[0] !== name) return false;
      if (nextParams.metric) focusMetric = nextParams.metric;
      applyRange(rangeFromParams(nextParams));
      return true;
    },
    destroy() {
      destroyed = true;
      clearInterval(ticker);
      clearTimeout(replanTimer);
      clearTimeout(historyTimer);
      live.removeEventListener("points", onPoints);
      live.removeEventListener("reconnected", onReconnected);
      alerts.removeEventListener("change", drawSpans);
      alerts.removeEventListener("transitions", onTransitions);
      document.removeEventListener("keydown", onKey);
      for (const chart of charts) {
        untrack(chart);
        chart.destroy();
      }
    },
  };
}
