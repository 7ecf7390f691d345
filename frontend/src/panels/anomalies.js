// Anomalies: the hub's list for a range, newest first, each linking to its chart at that moment.

import { hubHas, listAnomalies } from "../api.js";
import { h, hostHref } from "../dom.js";
import { formatBand, formatLabels, formatValue, toMs } from "../format.js";
import { showError } from "../notice.js";
import { RANGES } from "../ranges.js";

const AROUND_MS = 15 * 60_000;
const MAX_ROWS = 500;

function row(a) {
  const ts = toMs(a.ts);
  const unit = a.unit || "";
  const band = typeof a.low === "number" && typeof a.high === "number"
    ? formatBand(a.low, a.high, unit) : "–";
  const link = hostHref(a.host, {
    range: "custom", from: String(ts - AROUND_MS), to: String(ts + AROUND_MS), metric: a.metric,
  });
  return h("tr", { dataset: { host: a.host, metric: a.metric } },
    h("td", {}, h("a", { href: link }, new Date(ts).toLocaleString())),
    h("td", {}, h("a", { href: hostHref(a.host) }, a.host)),
    h("td", {}, a.metric, h("small", {}, ` ${formatLabels(a.labels)}`)),
    h("td", { class: "num anomaly" }, formatValue(a.value, unit)),
    h("td", { class: "num" }, band),
    h("td", { class: "num" }, typeof a.score === "number" ? a.score.toFixed(2) : "–"));
}

export function mountAnomalies(view, { live, params, navigate }) {
  const rangeId = RANGES.some((r) => r.id === params.range) ? params.range : "24h";
  const range = RANGES.find((r) => r.id === rangeId);
  const body = h("tbody");
  const note = h("p", { class: "empty" }, "Loading…");
  const picks = RANGES.filter((r) => r.ms >= 3_600_000).map((r) => h("button", {
    type: "button", "aria-pressed": String(r.id === rangeId), onclick: () => navigate({ range: r.id }),
  }, r.label));
  view.append(h("h1", { class: "page-title" }, "Anomalies"),
    h("div", { class: "toolbar" }, h("div", { class: "ranges" }, picks)), note,
    h("table", { class: "anomalies" }, h("thead", {}, h("tr", {},
      ...["When", "Host", "Series", "Value", "Expected", "Score"].map((t) => h("th", {}, t)))), body));

  function onAnomaly(event) {
    body.prepend(row(event.detail));
    note.hidden = true;
    while (body.children.length > MAX_ROWS) body.lastChild.remove();
  }

  (async () => {
    if (!(await hubHas("/api/v1/anomalies"))) {
      note.textContent = "This hub does not report anomalies.";
      return;
    }
    const now = Date.now();
    const list = await listAnomalies({ from: now - range.ms, to: now });
    list.sort((a, b) => toMs(b.ts) - toMs(a.ts));
    body.replaceChildren(...list.slice(0, MAX_ROWS).map(row));
    note.hidden = list.length > 0;
    note.textContent = "No anomalies in this range.";
    live.addEventListener("anomaly", onAnomaly);
  })().catch(showError);

  live.subscribe({ hosts: ["*"], metrics: ["__none__"] });
  return {
    title: "Anomalies",
    destroy() {
      live.removeEventListener("anomaly", onAnomaly);
    },
  };
}
