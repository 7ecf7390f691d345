// Byte axes (B, B/s) tick at powers of two of their unit: 0, 32, 64, 96 GiB rather than Chart.js'
// decimal steps, which in binary units read 18.6, 37.3, 55.9 GiB.

/** An afterBuildTicks callback for a linear scale: replace its ticks and widen it to them. */
export function byteTicks(scale) {
  const { min, max } = scale;
  if (!(max > min)) return;
  const intervals = Math.max(1, (scale.options.ticks.maxTicksLimit ?? 6) - 1);
  const raw = (max - min) / intervals;
  // The unit the step is counted in (B, KiB, MiB, …), then the next power of two in it.
  let unit = 1024 ** Math.max(0, Math.floor(Math.log2(raw) / 10));
  let inUnit = 2 ** Math.ceil(Math.log2(raw / unit));
  if (inUnit >= 1024) {
    unit *= 1024;
    inUnit = 1;
  }
  const step = inUnit * unit;
  const low = Math.floor(min / step) * step;
  const high = Math.ceil(max / step) * step;
  const ticks = [];
  for (let i = 0; low + i * step <= high + step / 2; i += 1) ticks.push({ value: low + i * step });
  scale.ticks = ticks;
  scale.min = low;
  scale.max = high;
}
