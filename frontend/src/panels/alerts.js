// Alerts: firing, pending, the silences in force and the history of transitions, filtered by host
// and severity (#/alerts?host=web1&severity=critical), live from the `alerts` frames. A firing
// alert can be acknowledged (its repeats stop) or silenced (its messages stop) from here.

import { alertHistory, createAck, createSilence, endAck, endSilence } from "../api.js";
import { alertKey } from "../alerts.js";
import { h, hostHref, setText } from "../dom.js";
import { formatAgo, formatLabels, formatValue } from "../format.js";
import { showError } from "../notice.js";

const HISTORY_ROWS = 200;
// Rows drawn per table: a fleet going down must not put thousands of rows in the page each frame.
const MAX_ROWS = 500;
const AROUND_MS = 15 * 60_000;
const SILENCE_FOR = [["1 hour", 3600], ["4 hours", 4 * 3600], ["1 day", 86_400], ["7 days", 7 * 86_400]];
const ACK_FOR = [["until resolved", 0], ["1 hour", 3600], ["4 hours", 4 * 3600], ["1 day", 86_400]];

/** A host name as a glob matching only itself (the silences' host is a glob). */
const literalGlob = (name) => name.replace(/[[*?]/g, "[$&]");

function seriesText(a) {
  const labels = formatLabels(a.labels);
  return a.kind === "host_down" ? "host" : `${a.metric}${labels ? ` ${labels}` : ""}`;
}

function chartLink(a, at) {
  if (a.kind === "host_down" || !at) return hostHref(a.host);
  return hostHref(a.host, { range: "custom", from: String(at - AROUND_MS), to: String(Math.min(Date.now(), at + AROUND_MS)), metric: a.metric });
}

function select(name, options, value, onchange) {
  return h("select", { name, onchange: (e) => onchange(e.target.value) },
    options.map(([label, v]) => h("option", { value: v, selected: v === value }, label)));
}

export function mountAlerts(view, { hosts, alerts, params, navigate }) {
  let filter = { host: params.host || "", severity: params.severity || "" };
  let history = [];
  let historyTimer = 0;
  let destroyed = false;
  let openForm = null; // {key, kind: "ack" | "silence"}

  const hostPick = h("span");
  const severityPick = select("severity", [["Any severity", ""], ["Warning", "warning"], ["Critical", "critical"]],
    filter.severity, (v) => navigate({ ...filter, severity: v }));
  const firingBody = h("tbody");
  const pendingBody = h("tbody");
  const historyBody = h("tbody");
  const silenceList = h("ul", { class: "silences" });
  const counts = { firing: h("span", { class: "count" }), pending: h("span", { class: "count" }) };
  const head = (...names) => h("thead", {}, h("tr", {}, names.map((n) => h("th", {}, n))));
  view.append(
    h("h1", { class: "page-title" }, "Alerts"),
    h("div", { class: "toolbar alert-filters" }, hostPick, severityPick),
    h("section", { class: "alert-section", dataset: { section: "firing" } }, h("h2", {}, "Firing ", counts.firing),
      h("table", { class: "alerts", dataset: { state: "firing" } },
        head("Severity", "Rule", "Host", "Series", "Value", "Since", "Status", ""), firingBody)),
    h("section", { class: "alert-section", dataset: { section: "pending" } }, h("h2", {}, "Pending ", counts.pending),
      h("table", { class: "alerts", dataset: { state: "pending" } },
        head("Severity", "Rule", "Host", "Series", "Value", "Holding since"), pendingBody)),
    h("section", { class: "alert-section", dataset: { section: "silences" } }, h("h2", {}, "Silences"), silenceList),
    h("section", { class: "alert-section", dataset: { section: "history" } }, h("h2", {}, "History"),
      h("table", { class: "alerts history" },
        head("When", "Rule", "Host", "Series", "Change", "Severity", "Value"), historyBody)));

  const wanted = (a) => (!filter.host || a.host === filter.host) && (!filter.severity || a.severity === filter.severity);

  function renderHostPick() {
    const names = new Set([...hosts.hosts.keys(), ...alerts.alerts.map((a) => a.host), ...history.map((t) => t.host)]);
    if (filter.host) names.add(filter.host);
    const options = [["Any host", ""], ...[...names].sort().map((n) => [n, n])];
    const key = options.map((o) => o[1]).join("\n");
    if (hostPick.dataset.options === key && hostPick.firstChild?.value === filter.host) return;
    hostPick.dataset.options = key;
    hostPick.replaceChildren(select("host", options, filter.host, (v) => navigate({ ...filter, host: v })));
  }

  function status(a) {
    const out = [];
    if (a.silenced_by) {
      const s = alerts.silences.find((x) => x.id === a.silenced_by);
      out.push(h("span", { class: "badge silenced", title: s?.comment || "" }, `silenced #${a.silenced_by}`));
    }
    if (a.acked_by) {
      const ack = alerts.acks.find((x) => x.id === a.acked_by);
      out.push(h("span", { class: "badge acked", title: ack?.comment || "" },
        `acknowledged${ack?.comment ? `: ${ack.comment}` : ""}`));
    }
    return out;
  }

  async function act(work) {
    try {
      await work();
      openForm = null;
      await alerts.refresh();
    } catch (error) {
      showError(error);
    }
  }

  function form(a, kind) {
    const comment = h("input", { type: "text", name: "comment", placeholder: "comment", maxlength: "1000" });
    const choices = kind === "ack" ? ACK_FOR : SILENCE_FOR;
    const duration = h("select", { name: "duration" }, choices.map(([label, s]) => h("option", { value: String(s) }, label)));
    const submit = (event) => {
      event.preventDefault();
      const seconds = Number(duration.value);
      act(() => (kind === "ack"
        ? createAck({ rule: a.rule, host: a.host, series_id: a.series_id ?? null, comment: comment.value,
          ...(seconds ? { duration_s: seconds } : {}) })
        : createSilence({ rule: a.rule, host: literalGlob(a.host), labels: a.labels || {},
          duration_s: seconds, comment: comment.value })));
    };
    return h("tr", { class: "alert-form", dataset: { form: kind, key: alertKey(a) } },
      h("td", { colspan: "8" }, h("form", { onsubmit: submit },
        kind === "ack" ? "Acknowledge " : "Silence ", h("b", {}, `${a.rule} on ${a.host}`), " ",
        comment, duration,
        h("button", { type: "submit" }, kind === "ack" ? "Acknowledge" : "Silence"),
        h("button", { type: "button", onclick: () => { openForm = null; render(); } }, "Cancel"))));
  }

  function alertRow(a, firing) {
    const key = alertKey(a);
    const toggle = (kind) => () => {
      openForm = openForm && openForm.key === key && openForm.kind === kind ? null : { key, kind };
      render();
    };
    const when = firing ? a.starts_at : a.since;
    const cells = [
      h("td", {}, h("span", { class: "severity", dataset: { severity: a.severity } }, a.severity)),
      h("td", {}, a.rule),
      h("td", {}, h("a", { href: hostHref(a.host) }, a.host)),
      h("td", {}, h("a", { href: chartLink(a, when) }, seriesText(a))),
      h("td", { class: "num" }, typeof a.value === "number" ? formatValue(a.value, "") : "–"),
      h("td", { title: when ? new Date(when).toLocaleString() : "" }, when ? formatAgo(when) : "–"),
    ];
    if (firing) {
      cells.push(h("td", { class: "status" }, status(a)));
      const buttons = [];
      if (a.acked_by) buttons.push(h("button", { type: "button", class: "unack", onclick: () => act(() => endAck(a.acked_by)) }, "Unacknowledge"));
      else buttons.push(h("button", { type: "button", class: "ack", onclick: toggle("ack") }, "Acknowledge"));
      if (!a.silenced_by) buttons.push(h("button", { type: "button", class: "silence", onclick: toggle("silence") }, "Silence"));
      cells.push(h("td", { class: "actions" }, buttons));
    }
    const row = h("tr", { dataset: { key, host: a.host, rule: a.rule, severity: a.severity, state: a.state } }, cells);
    const rows = [row];
    if (firing && openForm && openForm.key === key) rows.push(form(a, openForm.kind));
    return rows;
  }

  function historyRow(t) {
    return h("tr", { dataset: { host: t.host, rule: t.rule, state: t.state, severity: t.severity } },
      h("td", {}, new Date(t.at).toLocaleString()),
      h("td", {}, t.rule),
      h("td", {}, h("a", { href: hostHref(t.host) }, t.host)),
      h("td", {}, h("a", { href: chartLink(t, t.starts_at || t.at) }, seriesText(t))),
      h("td", {}, `${t.previous} → ${t.state}`),
      h("td", {}, h("span", { class: "severity", dataset: { severity: t.severity } }, t.severity)),
      h("td", { class: "num" }, typeof t.value === "number" ? formatValue(t.value, "") : "–"));
  }

  const empty = (cols, text) => h("tr", { class: "none" }, h("td", { colspan: String(cols) }, text));

  function render() {
    if (destroyed) return;
    renderHostPick();
    // An input being typed in survives a live update: leave the open form alone while focused.
    if (view.querySelector(".alert-form input:focus, .alert-form select:focus")) return;
    const shown = alerts.alerts.filter(wanted);
    const firing = shown.filter((a) => a.state === "firing");
    const pending = shown.filter((a) => a.state === "pending");
    setText(counts.firing, `(${firing.length})`);
    setText(counts.pending, `(${pending.length})`);
    const more = (list, cols) => (list.length > MAX_ROWS
      ? [empty(cols, `${list.length - MAX_ROWS} more: filter by host or severity to see them.`)] : []);
    firingBody.replaceChildren(...(firing.length
      ? [...firing.slice(0, MAX_ROWS).flatMap((a) => alertRow(a, true)), ...more(firing, 8)]
      : [empty(8, alerts.loaded ? "Nothing is firing." : "Loading…")]));
    pendingBody.replaceChildren(...(pending.length
      ? [...pending.slice(0, MAX_ROWS).flatMap((a) => alertRow(a, false)), ...more(pending, 6)]
      : [empty(6, "Nothing pending.")]));
    silenceList.replaceChildren(...(alerts.silences.length ? alerts.silences.map((s) => h("li", { dataset: { silence: String(s.id) } },
      `#${s.id} `, [s.rule && `rule ${s.rule}`, s.host && `host ${s.host}`, Object.keys(s.labels).length ? formatLabels(s.labels) : ""]
        .filter(Boolean).join(", "), ` until ${new Date(s.ends_at).toLocaleString()}`, s.comment ? ` — ${s.comment}` : "", " ",
      h("button", { type: "button", onclick: () => act(() => endSilence(s.id)) }, "End"))) : [h("li", { class: "none" }, "No silence in force.")]));
    const past = history.filter(wanted).slice(0, HISTORY_ROWS);
    historyBody.replaceChildren(...(past.length ? past.map(historyRow) : [empty(7, "No transitions yet.")]));
  }

  async function loadHistory() {
    const found = await alertHistory({ host: filter.host || undefined, limit: HISTORY_ROWS });
    if (destroyed) return;
    history = found;
    render();
  }

  function onTransitions(event) {
    // Shown at once, newest first; the stored history replaces them a moment later.
    history = [...[...event.detail].reverse(), ...history].slice(0, HISTORY_ROWS * 2);
    render();
    clearTimeout(historyTimer);
    historyTimer = setTimeout(() => loadHistory().catch(showError), 800);
  }

  alerts.addEventListener("change", render);
  alerts.addEventListener("transitions", onTransitions);
  hosts.addEventListener("change", render);
  const ticker = setInterval(render, 10_000); // the "since" column's ages
  render();
  alerts.refresh();
  loadHistory().catch(showError);

  return {
    title: "Alerts",
    update(next) {
      filter = { host: next.host || "", severity: next.severity || "" };
      severityPick.value = filter.severity;
      render();
      loadHistory().catch(showError);
      return true;
    },
    destroy() {
      destroyed = true;
      clearInterval(ticker);
      clearTimeout(historyTimer);
      alerts.removeEventListener("change", render);
      alerts.removeEventListener("transitions", onTransitions);
      hosts.removeEventListener("change", render);
    },
  };
}
