// One host on the overview: state, last seen, labels, a live CPU chart, memory and disk meters
// coloured by the hub's threshold rules, network throughput with a sparkline, recent anomalies,
// and the host's firing alerts.

import { TimeChart } from "../charts.js";
import { clockBadge, updateClockBadge } from "../clock.js";
import { updateVersionBadge, versionBadge } from "../version.js";
import { h, hostHref, setText } from "../dom.js";
import { formatAgo, formatLabels, formatValue } from "../format.js";
import { markDirty, track, untrack, isVisible } from "../render.js";
import { drawSparkline } from "../sparkline.js";
import { SeriesBuffer } from "../store.js";
import { colorFor, colors } from "../theme.js";
import { level, levelsOfHost, thresholdsFor } from "../thresholds.js";

export const CPU = "cpu.percent";
export const WINDOW_MS = 5 * 60_000;
const NET_HISTORY = 60;

function meter(title) {
  const fill = h("span", { class: "meter-fill" });
  const value = h("span", { class: "meter-value" }, "–");
  const el = h("div", { class: "meter", dataset: { level: "ok" } },
    h("span", { class: "meter-title" }, title), h("span", { class: "meter-bar" }, fill), value);
  return { el, fill, value };
}

export class HostCard {
  constructor(host, hosts, alerts) {
    this.host = host;
    this.hosts = hosts;
    this.alerts = alerts;
    this.alertsShown = "";
    this.buffer = null;
    this.cpuNow = null;
    this.mem = null;
    this.disks = new Map(); // mount -> {value: percent, labels}
    this.rx = new Map(); // iface -> B/s
    this.tx = new Map();
    this.netHistory = [];
    this.anomalies = new Set(); // "seriesId:ts" in the last hour
    this.anomalyTimes = [];

    this.stateEl = h("span", { class: "state" });
    this.seenEl = h("span", { class: "seen" });
    this.clockEl = clockBadge();
    this.versionEl = versionBadge();
    this.labelsEl = h("div", { class: "labels" });
    this.alertsEl = h("ul", { class: "card-alerts", hidden: true });
    this.anomalyEl = h("a", { class: "anomaly-count", href: hostHref(host.name, { range: "1h" }), hidden: true });
    const chartBox = h("div", { class: "chart-box mini", dataset: { host: host.name, metric: CPU } });
    this.cpuMeter = meter("CPU");
    this.memMeter = meter("Mem");
    this.diskMeter = meter("Disk");
    this.netValue = h("span", { class: "meter-value net-value" }, "–");
    this.netCanvas = h("canvas", { class: "sparkline", "aria-hidden": "true" });
    this.el = h("article", { class: "host-card", dataset: { host: host.name } },
      h("header", {}, h("a", { class: "host-name", href: hostHref(host.name) }, host.name),
        this.stateEl, this.clockEl, this.versionEl, this.anomalyEl, this.seenEl),
      this.labelsEl,
      this.alertsEl,
      chartBox,
      h("div", { class: "meters" }, this.cpuMeter.el, this.memMeter.el, this.diskMeter.el,
        h("div", { class: "meter net" }, h("span", { class: "meter-title" }, "Net"), this.netCanvas, this.netValue)));
    this.chart = new TimeChart(chartBox, {
      key: `overview:${host.name}:${CPU}`,
      units: ["%"],
      mini: true,
      fill: true,
      thresholds: thresholdsFor(this.cpuTotal),
      windowMs: WINDOW_MS,
    });
    track(this.chart);
    if (!this.chart.options.thresholds) {
      // A host that joined after the page read the levels: read its own, then draw them.
      levelsOfHost(host.name).then(() => {
        this.chart.setThresholds(thresholdsFor(this.cpuTotal));
        markDirty(this.chart);
      });
    }
  }

  get cpuTotal() {
    return { host: this.host.name, metric: CPU, labels: { cpu: "total" } };
  }

  attachCpu(series) {
    if (this.buffer && this.buffer.info.id === series.id) return this.buffer;
    this.buffer = new SeriesBuffer(series);
    this.chart.setSeries([{ buffer: this.buffer, label: "CPU", unit: "%", color: colorFor(this.host.name) }]);
    markDirty(this.chart);
    return this.buffer;
  }

  /** Take one streamed series of this host; returns how many CPU points went to the chart. */
  take(series, origin = 0) {
    const points = series.points;
    const last = points[points.length - 1];
    let n = 0;
    const labels = series.labels || {};
    switch (series.metric) {
      case CPU:
        if (labels.cpu !== undefined && labels.cpu !== "total") break;
        n = this.attachCpu(series).add(points);
        this.buffer.trim(Date.now() - WINDOW_MS - 10_000);
        this.cpuNow = last[1];
        this.chart.noteLive(n, origin || last[0]);
        markDirty(this.chart);
        break;
      case "mem.percent":
        this.mem = last[1];
        break;
      case "disk.percent":
        this.disks.set(labels.mount ?? JSON.stringify(labels), { value: last[1], labels });
        break;
      case "net.rx_bytes_per_s":
        this.rx.set(labels.iface ?? "", last[1]);
        break;
      case "net.tx_bytes_per_s":
        this.tx.set(labels.iface ?? "", last[1]);
        break;
      default:
        break;
    }
    for (const p of points) if (p.length > 5 && p[5]) this.noteAnomaly(series.id, p[0]);
    return n;
  }

  noteAnomaly(seriesId, ts) {
    const key = `${seriesId}:${ts}`;
    if (this.anomalies.has(key)) return;
    this.anomalies.add(key);
    this.anomalyTimes.push([ts, key]);
  }

  get net() {
    if (!this.rx.size && !this.tx.size) return null;
    let sum = 0;
    for (const v of this.rx.values()) sum += v;
    for (const v of this.tx.values()) sum += v;
    return sum;
  }

  get disk() {
    return this.disks.size ? Math.max(...[...this.disks.values()].map((d) => d.value)) : null;
  }

  /** Values the overview sorts by. */
  sortValue(key, now) {
    switch (key) {
      case "name": return this.host.name;
      case "state": return ["offline", "stale", "online"].indexOf(this.hosts.state(this.host, now));
      case "cpu": return this.cpuNow ?? -1;
      case "mem": return this.mem ?? -1;
      case "disk": return this.disk ?? -1;
      case "net": return this.net ?? -1;
      case "anomalies": return this.anomalies.size;
      default: return 0;
    }
  }

  matches(filter) {
    if (!filter) return true;
    const text = `${this.host.name} ${formatLabels(this.host.labels)}`.toLowerCase();
    return filter.toLowerCase().split(/\s+/).every((word) => text.includes(word));
  }

  /** The meter's level: the worst of its series', each against its own levels (the hub's). */
  levelOf(metric, readings) {
    const order = ["ok", "warning", "critical"];
    let worst = "ok";
    for (const { value, labels } of readings) {
      const lvl = level(value, thresholdsFor({ host: this.host.name, metric, labels }));
      if (order.indexOf(lvl) > order.indexOf(worst)) worst = lvl;
    }
    return worst;
  }

  setMeter(m, value, lvl) {
    if (m.el.dataset.level !== lvl) m.el.dataset.level = lvl;
    const width = `${value === null ? 0 : Math.round(Math.max(0, Math.min(100, value)))}%`;
    if (m.fill.style.width !== width) m.fill.style.width = width;
    setText(m.value, value === null ? "–" : formatValue(value, "%"));
  }

  /** Once a second: state, last seen, meters, the network sparkline. */
  refresh(now) {
    const state = this.hosts.state(this.host, now);
    if (this.el.dataset.state !== state) this.el.dataset.state = state;
    setText(this.stateEl, state);
    setText(this.seenEl, formatAgo(this.host.lastSeen, now));
    updateClockBadge(this.clockEl, this.host, this.hosts, now);
    updateVersionBadge(this.versionEl, this.host, this.hosts);
    setText(this.labelsEl, formatLabels(this.host.labels));
    while (this.anomalyTimes.length && this.anomalyTimes[0][0] < now - 3_600_000) {
      this.anomalies.delete(this.anomalyTimes.shift()[1]);
    }
    if (this.anomalyEl.hidden !== (this.anomalies.size === 0)) this.anomalyEl.hidden = this.anomalies.size === 0;
    if (this.el.dataset.anomalies !== String(this.anomalies.size)) this.el.dataset.anomalies = String(this.anomalies.size);
    setText(this.anomalyEl, `${this.anomalies.size} anomal${this.anomalies.size === 1 ? "y" : "ies"}`);
    this.setMeter(this.cpuMeter, this.cpuNow, this.levelOf(CPU, [{ value: this.cpuNow, labels: { cpu: "total" } }]));
    this.setMeter(this.memMeter, this.mem, this.levelOf("mem.percent", [{ value: this.mem, labels: {} }]));
    this.setMeter(this.diskMeter, this.disk, this.levelOf("disk.percent", this.disks.values()));
    this.refreshAlerts();
    const net = this.net;
    setText(this.netValue, net === null ? "–" : formatValue(net, "B/s"));
    if (net !== null) {
      this.netHistory.push(net);
      if (this.netHistory.length > NET_HISTORY) this.netHistory.shift();
    }
    if (isVisible(this.chart)) drawSparkline(this.netCanvas, this.netHistory, colors().text);
    // Keep idle charts scrolling so a silent host visibly flatlines.
    if (this.chart.renders && now - this.chart.lastRender > 1000) markDirty(this.chart);
  }

  /** The host's firing alerts, critical first, each linking to its chart. */
  refreshAlerts() {
    const firing = this.alerts ? this.alerts.firingOn(this.host.name) : [];
    firing.sort((a, b) => Number(a.severity !== "critical") - Number(b.severity !== "critical"));
    const shown = JSON.stringify(firing.map((a) => [a.rule, a.metric, a.labels, a.severity, a.value]));
    if (shown === this.alertsShown) return;
    this.alertsShown = shown;
    this.alertsEl.hidden = firing.length === 0;
    this.el.dataset.alerts = String(firing.length);
    this.alertsEl.replaceChildren(...firing.map((a) => h("li", { dataset: { rule: a.rule, severity: a.severity } },
      h("span", { class: "severity", dataset: { severity: a.severity } }, a.severity), " ",
      h("a", { href: hostHref(this.host.name, a.kind === "host_down" ? {} : { metric: a.metric }) },
        a.kind === "host_down" ? a.rule : `${a.rule} · ${a.metric} ${formatLabels(a.labels)}`.trim()),
      typeof a.value === "number" ? ` ${formatValue(a.value, "")}` : "")));
  }

  destroy() {
    untrack(this.chart);
    this.chart.destroy();
    this.el.remove();
  }
}
