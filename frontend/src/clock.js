// The clock warning: a badge on a host whose agent clock is further from the hub's than the
// hub's clock_warn_s (GET /api/v1/hosts gives both, measured from each request's Date header).

import { h, setText } from "./dom.js";
import { formatAgo } from "./format.js";

// The largest unit the offset reaches once rounded: 3599.6 s is "1 h", not "60 min".
const UNITS = [[86400, "d"], [3600, "h"], [60, "min"], [1, "s"]];

function amount(seconds) {
  const s = Math.abs(seconds);
  for (const [size, unit] of UNITS) {
    const v = Number((s / size).toFixed(s / size < 10 ? 1 : 0));
    if (v >= 1 || size === 1) return `${size === 1 ? Math.round(s) : v} ${unit}`;
  }
  return "";
}

/** "clock 1 h ahead" / "clock 5 min behind" for an offset in seconds (agent minus hub). */
export function clockText(offsetS) {
  return `clock ${amount(offsetS)} ${offsetS > 0 ? "ahead" : "behind"}`;
}

/** The badge's text and title for `host`, or null when its clock is within `warnS` (or unknown). */
export function clockWarning(host, warnS, now = Date.now()) {
  const offset = host.clockOffsetS;
  if (offset === null || offset === undefined || !(Math.abs(offset) > warnS)) return null;
  const side = offset > 0 ? "ahead of" : "behind";
  const effect = offset > 0
    ? "Its samples are stamped in the future: the hub refuses those too far ahead."
    : "Its samples are stored in the past, so its charts lag behind.";
  return {
    text: clockText(offset),
    title: `The agent's clock is ${Math.abs(offset)} s ${side} the hub's (measured ${formatAgo(host.clockCheckedAt, now)} ` +
      `from the Date header of its requests; warning above ${warnS} s). ${effect} Fix the host's time sync (NTP).`,
  };
}

export function clockBadge() {
  return h("span", { class: "clock-badge", role: "status", hidden: true });
}

/** Show, update or hide `badge` for `host`; `hosts` is the HostDirectory (it holds the threshold). */
export function updateClockBadge(badge, host, hosts, now = Date.now()) {
  const warning = clockWarning(host, hosts.clockWarnS, now);
  if (badge.hidden !== !warning) badge.hidden = !warning;
  if (!warning) return;
  setText(badge, warning.text);
  if (badge.title !== warning.title) badge.title = warning.title;
}
