// A shared crosshair: hovering one chart draws the same moment on every chart of its group.
// Other charts are redrawn with draw() (no update) once per animation frame.

const groups = new Map();
let pending = null;

function members(group) {
  if (!groups.has(group)) groups.set(group, new Set());
  return groups.get(group);
}

function setMoment(group, ts, source) {
  for (const chart of members(group)) chart.$crosshair = ts;
  if (pending) return;
  pending = requestAnimationFrame(() => {
    pending = null;
    for (const chart of members(group)) {
      if (chart !== source && chart.canvas && chart.canvas.isConnected) chart.draw();
    }
  });
}

export const crosshairPlugin = {
  id: "crosshair",
  defaults: { group: null, color: "rgba(128,128,128,0.6)" },

  afterInit(chart, _args, options) {
    if (options.group) members(options.group).add(chart);
  },

  afterDestroy(chart) {
    for (const set of groups.values()) set.delete(chart);
  },

  afterEvent(chart, args, options) {
    if (!options.group) return;
    const event = args.event;
    if (event.type === "mouseout") {
      setMoment(options.group, null, chart);
      args.changed = true;
    } else if (event.type === "mousemove" && args.inChartArea) {
      setMoment(options.group, chart.scales.x.getValueForPixel(event.x), chart);
      args.changed = true;
    }
  },

  afterDatasetsDraw(chart, _args, options) {
    const ts = chart.$crosshair;
    if (ts === null || ts === undefined) return;
    const x = chart.scales.x.getPixelForValue(ts);
    const area = chart.chartArea;
    if (x < area.left || x > area.right) return;
    const ctx = chart.ctx;
    ctx.save();
    ctx.strokeStyle = options.color;
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(x, area.top);
    ctx.lineTo(x, area.bottom);
    ctx.stroke();
    ctx.restore();
  },
};
