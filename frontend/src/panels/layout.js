// Which charts a host page shows: series grouped by source (the metric's first dotted part),
// then per group one chart per metric with several label sets, one chart per unit for the
// single series ones, and one multi-axis chart for sensors. Unknown prefixes get the same
// treatment, so a custom plugin's series are charted without any configuration.

import { formatLabels } from "../format.js";
import { thresholdsFor } from "../thresholds.js";

export const GROUPS = [
  { id: "cpu", title: "CPU", prefixes: ["cpu"] },
  { id: "memory", title: "Memory", prefixes: ["mem", "swap"] },
  { id: "disk", title: "Disk", prefixes: ["disk", "diskio"] },
  { id: "network", title: "Network", prefixes: ["net"] },
  { id: "load", title: "Load", prefixes: ["load"] },
  { id: "sensors", title: "Sensors", prefixes: ["sensor", "sensors", "hw", "env"], multiAxis: true },
];

const MAX_DATASETS = 12;
const MAX_AXES = 4;

export function groupOf(metric) {
  const prefix = metric.split(".")[0];
  return GROUPS.find((g) => g.prefixes.includes(prefix)) ?? { id: prefix, title: prefix, prefixes: [prefix] };
}

function byLabels(a, b) {
  // "total" first (cpu=total before cpu=0), then natural order of the label text.
  const ta = Object.values(a.labels || {}).includes("total") ? 0 : 1;
  const tb = Object.values(b.labels || {}).includes("total") ? 0 : 1;
  if (ta !== tb) return ta - tb;
  return formatLabels(a.labels).localeCompare(formatLabels(b.labels), undefined, { numeric: true });
}

// Label keys that name a thing on their own; when one differs between series it is the legend.
const PRIMARY_KEYS = ["cpu", "mount", "iface", "device", "disk", "sensor", "room", "queue", "name"];

/** Legend text for series of one chart: only the labels that tell them apart. */
export function distinctLabels(seriesList) {
  const keys = new Set(seriesList.flatMap((s) => Object.keys(s.labels || {})));
  const differing = [...keys].filter((k) => new Set(seriesList.map((s) => (s.labels || {})[k])).size > 1);
  const primary = PRIMARY_KEYS.find((k) => differing.includes(k));
  return (s) => {
    const labels = s.labels || {};
    if (primary) return String(labels[primary] ?? "");
    if (differing.length) return differing.map((k) => `${k}=${labels[k] ?? ""}`).join(", ");
    return formatLabels(labels) || s.metric;
  };
}

function chartFor(id, title, series, labelOf) {
  const units = [...new Set(series.map((s) => s.unit || ""))].slice(0, MAX_AXES);
  const kept = series.filter((s) => units.includes(s.unit || "")).sort(byLabels);
  const metrics = [...new Set(kept.map((s) => s.metric))];
  // Thresholds (the hub's levels of each series) apply when every series on the chart that has some has the
  // same ones: mem.percent's lines on the chart it shares with swap.percent, which has none.
  const levels = units.length === 1
    ? kept.map((s) => thresholdsFor(s)).filter(Boolean).map((t) => JSON.stringify(t)) : [];
  const thresholds = levels.length && new Set(levels).size === 1 ? JSON.parse(levels[0]) : null;
  return {
    id,
    title,
    units,
    metrics,
    thresholds,
    fill: Boolean(thresholds) && kept.length === 1,
    entries: kept.slice(0, MAX_DATASETS).map((s) => ({ series: s, label: labelOf(s) })),
    hidden: Math.max(0, kept.length - MAX_DATASETS),
  };
}

/** Plan a host page from its series list: [{id, title, charts: [{id, title, units, entries}]}],
 * with each chart's threshold lines from the levels the hub answered (thresholds.js). */
export function planCharts(seriesList) {
  const groups = new Map();
  for (const s of seriesList) {
    const g = groupOf(s.metric);
    if (!groups.has(g.id)) groups.set(g.id, { ...g, series: [] });
    groups.get(g.id).series.push(s);
  }
  const order = (id) => {
    const i = GROUPS.findIndex((g) => g.id === id);
    return i === -1 ? GROUPS.length : i;
  };
  const planned = [...groups.values()].sort((a, b) => order(a.id) - order(b.id) || a.id.localeCompare(b.id));

  return planned.map((group) => {
    const charts = [];
    if (group.multiAxis) {
      const label = (s) => [s.metric, formatLabels(s.labels)].filter(Boolean).join(" ");
      charts.push(chartFor(`${group.id}/all`, group.title, group.series, label));
      return { id: group.id, title: group.title, charts };
    }
    const byMetric = new Map();
    for (const s of group.series) {
      if (!byMetric.has(s.metric)) byMetric.set(s.metric, []);
      byMetric.get(s.metric).push(s);
    }
    // Metrics with one unlabelled series and the same unit share a chart (mem.used, mem.available).
    const loose = new Map();
    for (const [metric, list] of [...byMetric.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      if (list.length === 1 && Object.keys(list[0].labels || {}).length === 0) {
        const unit = list[0].unit || "";
        if (!loose.has(unit)) loose.set(unit, []);
        loose.get(unit).push(list[0]);
      } else {
        charts.push(chartFor(metric, metric, list, distinctLabels(list)));
      }
    }
    for (const [unit, list] of loose) {
      if (list.length === 1) charts.push(chartFor(list[0].metric, list[0].metric, list, (s) => s.metric));
      else charts.push(chartFor(`${group.id}/${unit || "count"}`, `${group.title}${unit ? ` (${unit})` : ""}`, list, (s) => s.metric));
    }
    // Charts with thresholds (usage) first: they are what people look at.
    charts.sort((a, b) => Number(Boolean(b.thresholds)) - Number(Boolean(a.thresholds)));
    return { id: group.id, title: group.title, charts };
  });
}
