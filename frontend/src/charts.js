// Chart factory: registers only the Chart.js parts the dashboard uses, and wraps a line chart
// on a time axis that the caller feeds from SeriesBuffers and redraws through render.js.

import {
  Chart,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  TimeScale,
  Tooltip,
} from "chart.js";
import "chartjs-adapter-date-fns";
import annotationPlugin from "chartjs-plugin-annotation";
import zoomPlugin from "chartjs-plugin-zoom";
import { bandScalePlugin } from "./bandscale.js";
import { byteTicks } from "./byteticks.js";
import { describePoint, formatTick } from "./format.js";
import { crosshairPlugin } from "./crosshair.js";
import { recordDraw } from "./perf.js";
import { colors, onThemeChange } from "./theme.js";

Chart.register(
  LineController, LineElement, PointElement, LinearScale, TimeScale,
  Filler, Tooltip, Legend, bandScalePlugin, annotationPlugin, zoomPlugin, crosshairPlugin,
);

/** Every TimeChart on the page by key; window.hostpulse.charts is this map (the test hook). */
export const registry = new Map();

function withAlpha(hex, alpha) {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

function thresholdAnnotations(thresholds, c) {
  if (!thresholds) return {};
  const line = (value, color, name) => ({
    type: "line",
    yMin: value,
    yMax: value,
    yScaleID: "y0",
    borderColor: color,
    borderWidth: 1,
    borderDash: [6, 4],
    label: { display: false, content: `${name} ${value}` },
  });
  const out = {};
  if (thresholds.warning !== undefined) out.warning = line(thresholds.warning, c.warning, "warning");
  if (thresholds.critical !== undefined) out.critical = line(thresholds.critical, c.critical, "critical");
  return out;
}

/** Alert spans ({from, to: null while firing, severity}) as shaded boxes the chart's full height. */
function spanAnnotations(spans, c, now) {
  const out = {};
  spans.forEach((span, i) => {
    out[`alert${i}`] = {
      type: "box", xScaleID: "x", yScaleID: "y0", xMin: span.from, xMax: span.to ?? now,
      backgroundColor: withAlpha(span.severity === "critical" ? c.critical : c.warning, 0.14),
      borderWidth: 0, drawTime: "beforeDatasetsDraw",
    };
  });
  return out;
}

export class TimeChart {
  /**
   * options: {key, units: [unit, ...] (one y axis each), mini, thresholds: {warning, critical},
   * fill, windowMs, legend, crosshairGroup, onUserZoom (zoom/pan started), onWindow(min, max)
   * (zoom/pan done)}
   */
  constructor(container, options) {
    this.options = options;
    this.key = options.key;
    this.units = options.units && options.units.length ? options.units : [""];
    this.container = container;
    this.container.classList.add("chart-box");
    this.canvas = document.createElement("canvas");
    this.container.append(this.canvas);
    this.entries = [];
    this.live = true;
    this.windowMs = options.windowMs ?? 5 * 60_000;
    this.min = Date.now() - this.windowMs;
    this.max = Date.now();
    this.pointsReceived = 0;
    this.renders = 0;
    this.structure = "";
    this.spans = [];
    this.chart = new Chart(this.canvas, this.config());
    this.untheme = onThemeChange(() => this.applyTheme());
    if (this.key) registry.set(this.key, this);
  }

  config() {
    const c = colors();
    const mini = Boolean(this.options.mini);
    const scales = {
      x: {
        type: "time",
        min: this.min,
        max: this.max,
        // sampleSize: measure a few tick labels, not all, when fitting them (measureText is the
        // dearest part of a redraw); a bounded tick count keeps that work fixed.
        ticks: { maxRotation: 0, autoSkipPadding: 24, color: c.text, display: !mini, maxTicksLimit: 10, sampleSize: 4 },
        grid: { color: c.grid, display: !mini },
        border: { display: !mini },
        time: { tooltipFormat: "yyyy-MM-dd HH:mm:ss", displayFormats: { second: "HH:mm:ss", minute: "HH:mm", hour: "HH:mm" } },
      },
    };
    this.units.forEach((unit, i) => {
      scales[`y${i}`] = {
        type: "linear",
        position: i % 2 === 0 ? "left" : "right",
        // Percentages get a fixed 0–100 axis: no rescaling work per frame, and thresholds stay put.
        min: unit === "%" ? 0 : undefined,
        max: unit === "%" ? 100 : undefined,
        beginAtZero: unit === "B" || unit === "B/s",
        afterBuildTicks: unit === "B" || unit === "B/s" ? byteTicks : undefined,
        ticks: {
          color: c.text,
          // Every label measured (there are at most six): with a sample, a wider label left out of
          // it ("100%" beside "80%") was clipped at the chart's edge.
          maxTicksLimit: mini ? 3 : 6,
          callback: (value) => formatTick(value, unit),
          display: !mini || i === 0,
        },
        title: { display: !mini && this.units.length > 1, text: unit, color: c.text },
        grid: { color: c.grid, drawOnChartArea: i === 0 },
        border: { display: false },
      };
    });
    return {
      type: "line",
      data: { datasets: [] },
      options: {
        parsing: false,
        normalized: true,
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        spanGaps: false,
        interaction: { mode: "nearest", axis: "x", intersect: false },
        elements: { line: { borderWidth: mini ? 1.25 : 1.5, tension: 0 }, point: { hitRadius: 4 } },
        scales,
        plugins: {
          legend: {
            display: !mini && this.options.legend !== false,
            labels: { color: c.text, boxWidth: 12, filter: (item, data) => !data.datasets[item.datasetIndex].band },
          },
          tooltip: {
            filter: (item) => !item.dataset.band,
            callbacks: {
              label: (item) => {
                const text = describePoint(item.raw, item.dataset.unit);
                return this.entries.length > 1 ? `${item.dataset.label} · ${text}` : text;
              },
            },
          },
          annotation: { annotations: this.annotations(c) },
          zoom: this.options.onUserZoom ? this.zoomOptions() : { zoom: {}, pan: {} },
          crosshair: { group: this.options.crosshairGroup ?? null },
        },
      },
    };
  }

  zoomOptions() {
    const onUser = () => {
      this.options.onUserZoom(this);
      return true;
    };
    // Keep our window in step with the plugin's at every step: a redraw between the zoom and
    // its (debounced) completion would otherwise put the old window back.
    const onStep = ({ chart }) => {
      this.live = false;
      this.setWindow(chart.scales.x.min, chart.scales.x.max);
    };
    const onDone = ({ chart }) => {
      onStep({ chart });
      if (this.options.onWindow) this.options.onWindow(this.min, this.max);
    };
    return {
      zoom: {
        wheel: { enabled: true, modifierKey: "ctrl" },
        pinch: { enabled: true },
        drag: { enabled: true, modifierKey: "shift" },
        mode: "x",
        onZoomStart: onUser,
        onZoom: onStep,
        onZoomComplete: onDone,
      },
      pan: { enabled: true, mode: "x", onPanStart: onUser, onPan: onStep, onPanComplete: onDone },
    };
  }

  annotations(c = colors()) {
    return { ...spanAnnotations(this.spans, c, Date.now()), ...thresholdAnnotations(this.options.thresholds, c) };
  }

  /** Draw these warning/critical lines ({warning, critical}, or null for none) from the next render. */
  setThresholds(thresholds) {
    if (JSON.stringify(thresholds) === JSON.stringify(this.options.thresholds ?? null)) return;
    this.options.thresholds = thresholds;
    this.chart.options.plugins.annotation.annotations = this.annotations();
  }

  /** Shade alert spans [{from, to (null: still firing), severity}]; drawn at the next render. */
  setSpans(spans) {
    if (JSON.stringify(spans) === JSON.stringify(this.spans)) return;
    this.spans = spans;
    this.chart.options.plugins.annotation.annotations = this.annotations();
  }

  /** entries: [{buffer, label, color, unit}]; a unit picks its y axis. */
  setSeries(entries) {
    this.entries = entries;
    this.structure = "";
  }

  buildDatasets() {
    const c = colors();
    const datasets = [];
    for (const entry of this.entries) {
      const axis = `y${Math.max(0, this.units.indexOf(entry.unit))}`;
      const color = entry.color;
      const buffer = entry.buffer;
      const main = {
        label: entry.label,
        unit: entry.unit,
        data: buffer.withGaps("data"),
        yAxisID: axis,
        borderColor: color,
        backgroundColor: withAlpha(color, 0.15),
        fill: this.options.fill ? "origin" : false,
        pointRadius: 0,
        pointHoverRadius: 3,
        pointBackgroundColor: color,
        pointBorderColor: color,
        buffer,
      };
      if (buffer.anomalies > 0) {
        // Anomalies: red and larger. Scriptable options are resolved per point on every
        // update, so only series that have an anomaly in view pay for them.
        Object.assign(main, {
          pointRadius: (ctx) => (ctx.raw && ctx.raw.anomaly ? 4 : 0),
          pointHoverRadius: (ctx) => (ctx.raw && ctx.raw.anomaly ? 6 : 3),
          pointBackgroundColor: (ctx) => (ctx.raw && ctx.raw.anomaly ? c.anomaly : color),
          pointBorderColor: (ctx) => (ctx.raw && ctx.raw.anomaly ? c.anomaly : color),
        });
      }
      datasets.push(main);
      if (buffer.hasEnvelope) {
        // History buckets carry min and max: shade between them so a zoomed-out spike still shows.
        datasets.push({ label: `${entry.label} max`, band: "max", data: buffer.withGaps("max"), yAxisID: axis,
          borderWidth: 0, pointRadius: 0, pointHitRadius: 0, backgroundColor: withAlpha(color, 0.12), fill: "+1", buffer });
        datasets.push({ label: `${entry.label} min`, band: "min", data: buffer.withGaps("min"), yAxisID: axis,
          borderWidth: 0, pointRadius: 0, pointHitRadius: 0, fill: false, buffer });
      }
      if (buffer.hasBand) {
        // The expected band: "high" fills down to the "low" dataset right after it.
        datasets.push({ label: `${entry.label} expected`, band: "high", data: buffer.withGaps("high"), yAxisID: axis,
          borderWidth: 0, pointRadius: 0, pointHitRadius: 0, backgroundColor: c.band, fill: "+1", buffer });
        datasets.push({ label: `${entry.label} expected low`, band: "low", data: buffer.withGaps("low"), yAxisID: axis,
          borderWidth: 0, pointRadius: 0, pointHitRadius: 0, fill: false, buffer });
      }
    }
    this.chart.data.datasets = datasets;
    this.chart.options.plugins.legend.display = !this.options.mini && this.options.legend !== false && this.entries.length > 1;
  }

  /** Count points that arrived live (the test hook reads it); `newestTs` feeds perf.js. */
  noteLive(n, newestTs = 0) {
    this.pointsReceived += n;
    if (newestTs && !this.undrawnSince) {
      this.undrawnSince = newestTs;
      this.queuedAt = Date.now();
    }
  }

  setWindow(min, max) {
    this.min = min;
    this.max = max;
  }

  /** Redraw now: move the x window when live, point the datasets at the current buffers. */
  render() {
    const structure = this.entries
      .map((e) => `${e.buffer.info.id}:${e.buffer.hasBand}:${e.buffer.hasEnvelope}:${e.buffer.anomalies > 0}`)
      .join(",");
    if (structure !== this.structure) {
      this.buildDatasets();
      this.structure = structure;
    }
    if (this.live) {
      this.max = Date.now();
      this.min = this.max - this.windowMs;
    }
    // A span still firing reaches "now", which moves with every redraw.
    if (this.spans.some((span) => span.to === null)) this.chart.options.plugins.annotation.annotations = this.annotations();
    const x = this.chart.options.scales.x;
    x.min = this.min;
    x.max = this.max;
    for (const dataset of this.chart.data.datasets) {
      const buffer = dataset.buffer;
      dataset.data = buffer.withGaps(dataset.band ?? "data");
    }
    this.chart.update("none");
    recordDraw(this.undrawnSince, this.queuedAt);
    this.undrawnSince = 0;
    this.renders += 1;
    this.lastRender = Date.now();
    this.container.dataset.pointsReceived = String(this.pointsReceived);
  }

  applyTheme() {
    const c = colors();
    const o = this.chart.options;
    for (const scale of Object.values(o.scales)) {
      scale.ticks.color = c.text;
      scale.grid.color = c.grid;
      if (scale.title) scale.title.color = c.text;
    }
    o.plugins.legend.labels.color = c.text;
    o.plugins.annotation.annotations = this.annotations(c);
    this.structure = "";
    this.render();
  }

  resetZoom() {
    if (this.options.onUserZoom) this.chart.resetZoom("none");
  }

  destroy() {
    this.untheme();
    if (this.key && registry.get(this.key) === this) registry.delete(this.key);
    this.chart.destroy();
    this.canvas.remove();
  }
}
