// The range bar of the host and compare pages: presets, a custom from/to, and pause/resume.

import { h } from "../dom.js";
import { RANGES, fromLocalInput, toLocalInput } from "../ranges.js";

export function rangeToolbar({ range, paused, onRange, onCustom, onPause }) {
  const buttons = RANGES.map((r) =>
    h("button", { type: "button", dataset: { range: r.id }, onclick: () => onRange(r.id) }, r.label),
  );
  const from = h("input", { type: "datetime-local", "aria-label": "From", name: "from" });
  const to = h("input", { type: "datetime-local", "aria-label": "To", name: "to" });
  const form = h("form", { class: "custom-range", onsubmit: (event) => {
    event.preventDefault();
    const a = fromLocalInput(from.value);
    const b = fromLocalInput(to.value);
    if (a !== null && b !== null && b > a) onCustom(a, b);
  } }, from, to, h("button", { type: "submit" }, "Apply"));
  const pause = h("button", { type: "button", class: "pause", title: "Pause or resume live updates (space)", onclick: onPause });
  const el = h("div", { class: "toolbar", role: "toolbar" }, h("div", { class: "ranges" }, buttons), form, pause);

  function setRange(next) {
    for (const b of buttons) b.setAttribute("aria-pressed", String(b.dataset.range === next.id));
    from.value = toLocalInput(next.from);
    to.value = toLocalInput(next.to);
  }

  function setPaused(on) {
    pause.textContent = on ? "Resume" : "Pause";
    pause.setAttribute("aria-pressed", String(on));
    el.dataset.paused = String(on);
  }

  setRange(range);
  setPaused(paused);
  return { el, setRange, setPaused };
}
