// Colours come from CSS custom properties (style.css switches them with prefers-color-scheme),
// so the canvas follows the OS theme like the rest of the page.

const listeners = new Set();
const query = window.matchMedia("(prefers-color-scheme: dark)");

export const PALETTE = [
  "#3b82f6", "#10b981", "#f59e0b", "#8b5cf6", "#ec4899",
  "#06b6d4", "#84cc16", "#f97316", "#6366f1", "#14b8a6",
];

function read(name, fallback) {
  const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return value || fallback;
}

/** The current theme's colours for canvas drawing. */
export function colors() {
  return {
    text: read("--muted", "#666"),
    grid: read("--grid", "rgba(128,128,128,0.15)"),
    warning: read("--warning", "#f59e0b"),
    critical: read("--critical", "#ef4444"),
    anomaly: read("--anomaly", "#ef4444"),
    band: read("--band", "rgba(59,130,246,0.15)"),
    ok: read("--ok", "#10b981"),
  };
}

export function isDark() {
  return query.matches;
}

/** Call `fn` whenever the OS theme flips; returns an unsubscribe function. */
export function onThemeChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

query.addEventListener("change", () => {
  for (const fn of listeners) fn();
});

/** Pick a stable colour for a string (a host or a label set) so it keeps its colour across views. */
export function colorFor(key, index = null) {
  if (index !== null) return PALETTE[index % PALETTE.length];
  let h = 0;
  for (let i = 0; i < key.length; i += 1) h = (h * 31 + key.charCodeAt(i)) | 0;
  return PALETTE[Math.abs(h) % PALETTE.length];
}
