// Y axes follow the data, not the expected band. The detector models bursty rates (net.*,
// *_per_s) on a log scale, so for a series that jumps between 0 and 1 MB/s its band, mapped back,
// can reach 1e18 B/s: scaled to include it, the axis reads "PiB/s" and the data is a flat line
// at zero. The band still fills whatever part of it is in view (the filler clips to the chart
// area) and the tooltip still tells its full range.
//
// Registered before chartjs-plugin-annotation, whose afterDataLimits then widens the axis to the
// threshold lines as before.

const BAND = new Set(["high", "low"]);

export const bandScalePlugin = {
  id: "hostpulseBandScale",
  afterDataLimits(chart, { scale }) {
    if (scale.axis !== "y") return;
    const { minDefined, maxDefined } = scale.getUserBounds();
    if (minDefined && maxDefined) return;
    let hasBand = false;
    let min = Infinity;
    let max = -Infinity;
    for (const meta of scale.getMatchingVisibleMetas()) {
      if (BAND.has(meta.controller.getDataset().band)) {
        hasBand = true;
        continue;
      }
      // The controller's own limits: parsed values within the x window, as Chart.js computes them.
      const limits = meta.controller.getMinMax(scale, false);
      min = Math.min(min, limits.min);
      max = Math.max(max, limits.max);
    }
    if (!hasBand || !Number.isFinite(min) || !Number.isFinite(max)) return;
    if (!minDefined) scale.min = min;
    if (!maxDefined) scale.max = max;
    scale.handleTickRangeOptions(); // beginAtZero and a flat line's padding, as before
  },
};
