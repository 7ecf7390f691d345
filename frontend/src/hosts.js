// What the page knows about each host: the hub's record plus when a live point last came in.

import { getHosts } from "./api.js";
import { toMs } from "./format.js";
import { loadHubVersion } from "./version.js";

export class HostDirectory extends EventTarget {
  constructor() {
    super();
    this.hosts = new Map();
    this.clockWarnS = 30; // the hub's clock_warn_s (its default until the host list says)
    // The hub's online_window_s and stale_window_s, in ms, from the host list: the hub decides
    // what online means, the page does not keep a copy of the rule. null until the list loads.
    this.onlineMs = null;
    this.staleMs = null;
    this.hubVersion = null; // {version, upgrade} of the hub (version.js), once loaded
  }

  /** Load (or reload) the host list from the hub; fires "change". */
  async refresh() {
    const { hosts: list, clockWarnS, onlineS, staleS } = await getHosts();
    if (!this.hubVersion) this.hubVersion = await loadHubVersion();
    if (typeof clockWarnS === "number") this.clockWarnS = clockWarnS;
    if (typeof onlineS === "number" && typeof staleS === "number") {
      this.onlineMs = onlineS * 1000;
      this.staleMs = staleS * 1000;
    }
    for (const record of list) this.upsert(record.name, record);
    this.dispatchEvent(new Event("change"));
    return this.hosts;
  }

  upsert(name, record = {}) {
    let host = this.hosts.get(name);
    const isNew = !host;
    if (!host) {
      host = {
        name, labels: {}, agentVersion: "", lastSeen: 0, hubOnline: false, liveSeen: false,
        clockOffsetS: null, clockCheckedAt: 0,
      };
      this.hosts.set(name, host);
    }
    if (record.labels) host.labels = record.labels;
    if (record.agent_version) host.agentVersion = record.agent_version;
    if (record.last_seen !== undefined) host.lastSeen = Math.max(host.lastSeen, toMs(record.last_seen));
    if (record.online !== undefined) host.hubOnline = Boolean(record.online);
    if (record.clock_offset_s !== undefined) host.clockOffsetS = record.clock_offset_s;
    if (record.clock_checked_at !== undefined) host.clockCheckedAt = toMs(record.clock_checked_at);
    if (isNew) this.dispatchEvent(new CustomEvent("added", { detail: host }));
    return host;
  }

  /** A live point for `name` arrived with timestamp `ts`. */
  seen(name, ts) {
    const host = this.upsert(name);
    host.liveSeen = true;
    host.lastSeen = Math.max(host.lastSeen, ts || Date.now());
    return host;
  }

  state(host, now = Date.now()) {
    // Before the host list loads, a host is known only by a live point it just sent.
    if (this.onlineMs === null) return host.liveSeen ? "online" : "offline";
    const age = now - host.lastSeen;
    if (age <= this.onlineMs || (host.hubOnline && !host.liveSeen && age <= this.staleMs)) {
      return "online";
    }
    if (age <= this.staleMs) return "stale";
    return "offline";
  }

  downCount(now = Date.now()) {
    let n = 0;
    for (const host of this.hosts.values()) if (this.state(host, now) === "offline") n += 1;
    return n;
  }
}
