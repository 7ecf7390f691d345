// The version badge: a host whose agent is older than the hub, with the one command that upgrades
// it (GET /install/version gives the hub's version and that command; GET /api/v1/hosts each
// host's agent_version, from its last batch).

import { h, setText } from "./dom.js";

/** Release numbers of "1.2.3" (a suffix such as "rc1" or "+local" is ignored); null if none. */
function release(version) {
  const match = /^(\d+(?:\.\d+)*)/.exec(String(version || ""));
  return match ? match[1].split(".").map(Number) : null;
}

/** True when `agent` is an older release than `hub`; false when either is not a version. */
export function olderThan(agent, hub) {
  const a = release(agent);
  const b = release(hub);
  if (!a || !b) return false;
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] || 0;
    const y = b[i] || 0;
    if (x !== y) return x < y;
  }
  return false;
}

/** The hub's {version, upgrade} (null if this hub does not say: an older hub). */
export async function loadHubVersion() {
  try {
    const response = await fetch("/install/version", { headers: { Accept: "application/json" } });
    return response.ok ? await response.json() : null;
  } catch {
    return null;
  }
}

/** The badge's text and title for `host`, or null when its agent is not older than the hub. */
export function versionWarning(host, hub) {
  if (!hub || !olderThan(host.agentVersion, hub.version)) return null;
  return {
    text: `agent ${host.agentVersion}`,
    title: `This host's agent is ${host.agentVersion}, older than the hub's ${hub.version}; it keeps ` +
      `working (same protocol version), but to upgrade it run on the host: ${hub.upgrade}`,
    command: hub.upgrade,
  };
}

export function versionBadge() {
  return h("span", { class: "version-badge", role: "status", hidden: true });
}

/** Show, update or hide `badge` for `host`; `hosts` is the HostDirectory (it holds hubVersion). */
export function updateVersionBadge(badge, host, hosts) {
  const warning = versionWarning(host, hosts.hubVersion);
  if (badge.hidden !== !warning) badge.hidden = !warning;
  if (!warning) return;
  setText(badge, warning.text);
  if (badge.title !== warning.title) badge.title = warning.title;
  if (badge.dataset.command !== warning.command) badge.dataset.command = warning.command;
}
