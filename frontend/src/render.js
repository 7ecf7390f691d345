// The redraw scheduler: data marks a chart dirty, and once per animation frame the dirty charts
// that are on screen redraw, within a time budget so a burst is spread over a few frames.
// Charts off screen stay stale until the IntersectionObserver sees them again; a hidden tab
// gets no animation frames at all, so it does no drawing.

const FRAME_BUDGET_MS = 10;
const dirty = new Set();
const visible = new WeakSet();
const byElement = new WeakMap();
let scheduled = 0;

const observer = new IntersectionObserver(
  (records) => {
    for (const record of records) {
      const chart = byElement.get(record.target);
      if (!chart) continue;
      if (record.isIntersecting) {
        visible.add(chart);
        if (chart.stale) markDirty(chart);
      } else {
        visible.delete(chart);
      }
    }
  },
  { rootMargin: "100px" },
);

/** Start tracking a TimeChart's visibility; call untrack() before destroying it. */
export function track(chart) {
  byElement.set(chart.container, chart);
  observer.observe(chart.container);
}

export function untrack(chart) {
  observer.unobserve(chart.container);
  dirty.delete(chart);
  visible.delete(chart);
}

export function isVisible(chart) {
  return visible.has(chart);
}

/** Ask for a redraw at the next frame (or when the chart scrolls into view). */
export function markDirty(chart) {
  chart.stale = true;
  dirty.add(chart);
  if (!scheduled) scheduled = requestAnimationFrame(frame);
}

function frame() {
  scheduled = 0;
  const start = performance.now();
  for (const chart of dirty) {
    if (!visible.has(chart)) {
      dirty.delete(chart); // still stale: redrawn when it becomes visible
      continue;
    }
    chart.render();
    chart.stale = false;
    dirty.delete(chart);
    if (performance.now() - start > FRAME_BUDGET_MS) break;
  }
  if (dirty.size && !scheduled) scheduled = requestAnimationFrame(frame);
}
